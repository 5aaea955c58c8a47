"""Fixtures shared by the wire tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture
def zk_admin(zk_chroot: Any) -> Iterator[Any]:
    from kazoo.client import KazooClient

    client = KazooClient(hosts=zk_chroot.connect_string, timeout=10.0)
    client.start(timeout=30.0)
    try:
        yield client
    finally:
        client.stop()
        client.close()
