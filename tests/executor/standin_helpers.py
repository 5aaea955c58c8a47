"""Helpers shared by the executor tests: an unpacked stand-in distribution and kazoo access."""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kazoo.client import KazooClient

from tests.support.standin import build_standin_dist


def unpack_standin(sandbox: Path, version: str = "3.7.0") -> Path:
    """Fetch-and-extract as Mesos does: the archive lands in the sandbox and is unpacked there."""
    archive = build_standin_dist(sandbox, version)
    with tarfile.open(archive) as tgz:
        tgz.extractall(sandbox, filter="tar")
    return sandbox / archive.name[: -len(".tgz")]


@contextmanager
def kazoo(connect: str) -> Iterator[KazooClient]:
    client = KazooClient(hosts=connect, timeout=10.0)
    client.start(timeout=30.0)
    try:
        yield client
    finally:
        client.stop()
        client.close()
