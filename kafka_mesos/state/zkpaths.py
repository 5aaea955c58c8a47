"""Parsing `--zk host:port[,host:port][/chroot]` and ZooKeeper paths (no kazoo needed)."""

from __future__ import annotations

import re

from kafka_mesos.state.errors import StorageConfigError

_HOST = re.compile(r"^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9._-]+):(\d{1,5})$")


def parse_zk_connect(zk: str) -> tuple[str, str]:
    """`host:port[,host:port][/chroot]` → (hosts, chroot or "")."""
    text = zk.strip()
    if text.startswith("zk://"):
        text = text[len("zk://") :]
    hosts, slash, chroot = text.partition("/")
    chroot = slash + chroot if slash else ""
    if not hosts:
        raise StorageConfigError("zk", f"invalid --zk {zk!r}: expected host:port[,host:port][/chroot]")
    for host in hosts.split(","):
        match = _HOST.match(host)
        if match is None or not 0 < int(match.group(2)) < 65536:
            raise StorageConfigError("zk", f"invalid --zk {zk!r}: {host!r} is not host:port")
    if chroot:
        check_znode_path("zk", chroot)
    return hosts, chroot.rstrip("/")


def check_znode_path(field: str, path: str) -> None:
    if not path.startswith("/"):
        raise StorageConfigError(field, f"ZooKeeper path {path!r} must start with '/'")
    parts = path.rstrip("/").split("/")[1:] if path != "/" else []
    for part in parts:
        if part in ("", ".", "..") or "\x00" in part:
            raise StorageConfigError(field, f"ZooKeeper path {path!r} has an invalid element {part!r}")
