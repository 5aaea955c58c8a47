"""Builds the stand-in Kafka distribution (``tests/standin_kafka``) as a real-looking ``kafka_*.tgz``.

The archive has Kafka's layout: ``kafka_2.13-<version>/{bin,config,libs,logs}``. Its start script runs
``bin/standin_broker.py`` with the Python interpreter given here (baked in at build time; it must be able to
import kazoo, so by default the interpreter running the tests).
"""

from __future__ import annotations

import io
import sys
import tarfile
from pathlib import Path

STANDIN_SOURCE = Path(__file__).resolve().parent.parent / "standin_kafka"
SCALA_VERSION = "2.13"


def standin_top_dir(version: str = "3.7.0") -> str:
    return f"kafka_{SCALA_VERSION}-{version}"


def build_standin_dist(dest_dir: Path, version: str = "3.7.0", python: str | None = None) -> Path:
    """Write ``dest_dir/kafka_2.13-<version>.tgz`` and return its path."""
    top = standin_top_dir(version)
    dest_dir.mkdir(parents=True, exist_ok=True)
    archive_path = dest_dir / f"{top}.tgz"
    interpreter = python or sys.executable

    def add_bytes(archive: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
        info = tarfile.TarInfo(f"{top}/{name}")
        info.size = len(data)
        info.mode = mode
        archive.addfile(info, io.BytesIO(data))

    def add_dir(archive: tarfile.TarFile, name: str) -> None:
        info = tarfile.TarInfo(f"{top}/{name}".rstrip("/"))
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
        archive.addfile(info)

    with tarfile.open(archive_path, "w:gz") as archive:
        for directory in ("", "bin", "config", "libs", "logs"):
            add_dir(archive, directory)
        start = (STANDIN_SOURCE / "bin" / "kafka-server-start.sh").read_text()
        start = start.replace("@PYTHON@", interpreter)
        add_bytes(archive, "bin/kafka-server-start.sh", start.encode(), 0o755)
        broker = (STANDIN_SOURCE / "bin" / "standin_broker.py").read_bytes()
        add_bytes(archive, "bin/standin_broker.py", broker)
        for name in ("server.properties", "log4j.properties"):
            add_bytes(archive, f"config/{name}", (STANDIN_SOURCE / "config" / name).read_bytes())
        add_bytes(archive, f"libs/kafka_{SCALA_VERSION}-{version}.jar", b"")
    return archive_path
