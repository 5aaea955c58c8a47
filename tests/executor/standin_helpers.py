"""Helpers shared by the executor tests: an unpacked stand-in distribution."""

from __future__ import annotations

import tarfile
from pathlib import Path

from tests.support.standin import build_standin_dist


def unpack_standin(sandbox: Path, version: str = "3.7.0") -> Path:
    """Fetch-and-extract as Mesos does: the archive lands in the sandbox and is unpacked there."""
    archive = build_standin_dist(sandbox, version)
    with tarfile.open(archive) as tgz:
        tgz.extractall(sandbox, filter="tar")
    return sandbox / archive.name[: -len(".tgz")]
