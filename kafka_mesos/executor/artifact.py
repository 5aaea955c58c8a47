"""Build the executor as a self-contained zipapp for agents that have only a stock Python 3.

Bundled: the executor package, the parts of ``kafka_mesos`` it imports (the kafka launch/config code, the
executor session, the HTTP client, codec, RecordIO, the generated ``executor_pb2`` and a slim ``mesos_pb2``,
see :mod:`kafka_mesos.executor.slim_proto`) and protobuf's pure-Python package (``google/protobuf``
without compiled extensions). The zipapp's ``__main__`` selects
protobuf's pure-Python implementation before anything imports protobuf. Package ``__init__`` modules of
``kafka_mesos`` and ``kafka_mesos.mesos`` are replaced by empty ones so the zipapp never pulls in the
scheduler side (aiohttp). Modules are stored with unchecked-hash ``.pyc`` files next to the sources so a
matching interpreter skips compiling; another Python version falls back to the sources.
"""

from __future__ import annotations

import importlib.util
import io
import marshal
import struct
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

from kafka_mesos.executor.slim_proto import slim_mesos_module

ZIPAPP_NAME = "kafka-mesos-executor.pyz"
PACKAGE_ROOT = Path(__file__).resolve().parent.parent  # .../kafka_mesos

MAIN = """\
import os
import sys

os.environ["PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION"] = "python"
if sys.version_info < (3, 11):
    sys.exit("kafka-mesos-executor needs Python 3.11 or newer, not " + sys.version.split()[0])
# The executor speaks plain HTTP to its agent and plain TCP to ZooKeeper: keep asyncio from loading
# ssl (and OpenSSL) at every executor start.
sys.modules.setdefault("ssl", None)

from kafka_mesos.executor.main import main

sys.exit(main())
"""

# (source directory or file relative to kafka_mesos/, recursive?)
OWN_MODULES = (
    "executor",
    "kafka",
    "mesos/pb/__init__.py",
    "mesos/pb/executor_pb2.py",
    "mesos/executor_session.py",
    "mesos/stdhttp.py",
    "mesos/codec.py",
    "mesos/recordio.py",
)
SLIM_MESOS_PB2 = "kafka_mesos/mesos/pb/mesos_pb2.py"
EMPTY_PACKAGES = ("kafka_mesos/__init__.py", "kafka_mesos/mesos/__init__.py", "google/__init__.py")
PROTOBUF_EXCLUDED_DIRS = frozenset({"testdata", "pyext", "__pycache__", "compiler", "util"})


def _python_files(directory: Path, excluded: frozenset[str] = frozenset({"__pycache__"})) -> Iterator[Path]:
    for path in sorted(directory.rglob("*.py")):
        if not excluded.intersection(path.relative_to(directory).parts[:-1]):
            yield path


def _own_files() -> Iterator[tuple[Path, str]]:
    for entry in OWN_MODULES:
        source = PACKAGE_ROOT / entry
        if source.is_dir():
            for path in _python_files(source):
                yield path, f"kafka_mesos/{path.relative_to(PACKAGE_ROOT).as_posix()}"
        else:
            yield source, f"kafka_mesos/{entry}"


def _protobuf_files() -> Iterator[tuple[Path, str]]:
    spec = importlib.util.find_spec("google.protobuf")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("protobuf is not installed: cannot bundle it into the executor")
    root = Path(next(iter(spec.submodule_search_locations)))
    for path in _python_files(root, PROTOBUF_EXCLUDED_DIRS):
        yield path, f"google/protobuf/{path.relative_to(root).as_posix()}"


def _cached_code(source: Path, source_bytes: bytes) -> bytes | None:
    """The marshalled code of an up-to-date ``__pycache__`` entry of this interpreter, if there is one."""
    try:
        cached = Path(importlib.util.cache_from_source(str(source))).read_bytes()
    except (OSError, NotImplementedError, ValueError):
        return None
    if len(cached) < 16 or cached[:4] != importlib.util.MAGIC_NUMBER:
        return None
    flags, mtime, size = struct.unpack("<III", cached[4:16])
    stat = source.stat()
    if flags != 0 or mtime != (int(stat.st_mtime) & 0xFFFFFFFF) or size != (len(source_bytes) & 0xFFFFFFFF):
        return None
    return cached[16:]


def _compiled(source: Path, name: str) -> bytes | None:
    """An unchecked hash-based ``.pyc`` (PEP 552) for ``source``: valid without comparing timestamps."""
    source_bytes = source.read_bytes()
    code = _cached_code(source, source_bytes)
    if code is None:
        try:
            code = marshal.dumps(compile(source_bytes, name, "exec", dont_inherit=True))
        except (SyntaxError, ValueError):
            return None
    flags = 0b01  # hash-based, not checked against the source
    header = importlib.util.MAGIC_NUMBER + struct.pack("<I", flags) + importlib.util.source_hash(source_bytes)
    return header + code


def build_executor_zipapp(dest: Path) -> Path:
    """Write the zipapp (``dest`` itself if it ends in ``.pyz``, else ``dest/kafka-mesos-executor.pyz``)."""
    target = dest if dest.suffix == ".pyz" else dest / ZIPAPP_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("__main__.py", MAIN)
        for name in EMPTY_PACKAGES:
            archive.writestr(name, "")
        with tempfile.TemporaryDirectory() as scratch:
            slim = Path(scratch) / "mesos_pb2.py"
            slim.write_text(slim_mesos_module("kafka_mesos.mesos.pb.mesos_pb2"), encoding="utf-8")
            for source, name in [*_own_files(), *_protobuf_files(), (slim, SLIM_MESOS_PB2)]:
                archive.write(source, name)
                compiled = _compiled(source, name)
                if compiled is not None:
                    archive.writestr(name[: -len(".py")] + ".pyc", compiled)
    data = b"#!/usr/bin/env python3\n" + buffer.getvalue()
    temporary = target.with_name(target.name + ".tmp")
    temporary.write_bytes(data)
    temporary.chmod(0o755)
    temporary.replace(target)
    return target


if __name__ == "__main__":
    print(build_executor_zipapp(Path(sys.argv[1] if len(sys.argv) > 1 else ".")))
