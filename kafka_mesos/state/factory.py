"""`open_store`: from the `--storage` and `--zk` option values to a Store (not yet opened)."""

from __future__ import annotations

from kafka_mesos.state.errors import StorageConfigError
from kafka_mesos.state.filestore import FileStore
from kafka_mesos.state.store import Store
from kafka_mesos.state.zkpaths import check_znode_path, parse_zk_connect

STORAGE_FORMS = "file:PATH (e.g. file:kafka-mesos.json) or zk:/PATH (e.g. zk:/kafka-mesos, with --zk)"


def open_store(
    storage: str, zk: str | None = None, *, op_timeout: float = 15.0, session_timeout: float = 10.0
) -> Store:
    """`file:kafka-mesos.json` → FileStore; `zk:/kafka-mesos` with `zk="host:port[,host:port][/chroot]"` →
    ZkStore. Raises StorageConfigError naming the option (`storage` or `zk`). Call `await store.open()`."""
    kind, colon, where = storage.strip().partition(":")
    if not colon or kind not in ("file", "zk"):
        raise StorageConfigError("storage", f"invalid --storage {storage!r}: expected {STORAGE_FORMS}")
    if not where:
        raise StorageConfigError("storage", f"invalid --storage {storage!r}: the path is missing")
    if kind == "file":
        if where.endswith("/"):
            raise StorageConfigError("storage", f"invalid --storage {storage!r}: {where!r} is a directory")
        return FileStore(where)
    check_znode_path("storage", where)
    if not zk:
        raise StorageConfigError("zk", f"--storage {storage} needs --zk host:port[,host:port][/chroot]")
    parse_zk_connect(zk)
    from kafka_mesos.state.zkstore import ZkStore  # kazoo only when ZooKeeper is used

    return ZkStore(zk, where, session_timeout=session_timeout, op_timeout=op_timeout)
