"""Regenerate ``kafka_mesos/mesos/pb/*_pb2.py`` (and ``.pyi``) from our ``.proto`` files.

Usage: ``python -m kafka_mesos.mesos.proto.generate [OUTPUT_DIR]`` (needs grpcio-tools).

The ``.proto`` files keep Apache Mesos' file names (``mesos/v1/mesos.proto`` …) so the
descriptors registered in protobuf's pool carry the same names as Mesos' own. protoc
would emit them as ``mesos/v1/...`` modules importing each other as ``from mesos.v1
import mesos_pb2``; we flatten them into one package and rewrite those imports to
relative ones.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

PROTO_ROOT = Path(__file__).resolve().parent
DEFAULT_OUTPUT = PROTO_ROOT.parent / "pb"

# proto file (relative to PROTO_ROOT) -> flat module name
PROTO_FILES: dict[str, str] = {
    "mesos/v1/mesos.proto": "mesos_pb2",
    "mesos/v1/scheduler/scheduler.proto": "scheduler_pb2",
    "mesos/v1/executor/executor.proto": "executor_pb2",
}

_ABSOLUTE_IMPORT = re.compile(r"^from mesos\.v1(?:\.\w+)* import (\w+_pb2)", re.MULTILINE)


_BUILDER_MODULE = re.compile(r"'mesos\.v1(?:\.\w+)*\.(\w+_pb2)'")


def _flatten_imports(source: str) -> str:
    source = _ABSOLUTE_IMPORT.sub(r"from . import \1", source)
    return _BUILDER_MODULE.sub(r"'kafka_mesos.mesos.pb.\1'", source)


def generate(output_dir: Path = DEFAULT_OUTPUT) -> list[Path]:
    """Run protoc into ``output_dir``; returns the files written."""
    from grpc_tools import protoc  # type: ignore[import-untyped]  # build/test dependency only

    output_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        args = [
            "protoc",
            f"--proto_path={PROTO_ROOT}",
            f"--python_out={tmp}",
            f"--pyi_out={tmp}",
            *PROTO_FILES,
        ]
        if protoc.main(args) != 0:
            raise RuntimeError(f"protoc failed: {' '.join(args)}")
        for proto, module in PROTO_FILES.items():
            stem = Path(proto).with_suffix("")
            for suffix in (".py", ".pyi"):
                produced = Path(tmp) / f"{stem}_pb2{suffix}"
                target = output_dir / f"{module}{suffix}"
                target.write_text(_flatten_imports(produced.read_text()))
                written.append(target)
    init = output_dir / "__init__.py"
    if not init.exists():
        init.write_text('"""Generated protobuf modules of the Mesos v1 API (see ../proto/generate.py)."""\n')
    written.append(init)
    return written


def main(argv: list[str]) -> int:
    output = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUTPUT
    for path in generate(output):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
