"""The only code that persists: `Store` (file and ZooKeeper backends) and `ClusterState`.

kazoo is imported only by `zkstore` and `zkbridge` (and lazily, only when a ZooKeeper store is used).
"""

from __future__ import annotations

from kafka_mesos.state.cluster import Changes, ClusterState, Listener, Validator
from kafka_mesos.state.errors import (
    ConflictError,
    StorageConfigError,
    StoreCorrupt,
    StoreError,
    StoreUnavailable,
)
from kafka_mesos.state.factory import open_store
from kafka_mesos.state.filestore import FileStore
from kafka_mesos.state.store import ANY, BrokerWrite, Snapshot, Store, Versioned

__all__ = [
    "ANY",
    "BrokerWrite",
    "Changes",
    "ClusterState",
    "ConflictError",
    "FileStore",
    "Listener",
    "Snapshot",
    "StorageConfigError",
    "Store",
    "StoreCorrupt",
    "StoreError",
    "StoreUnavailable",
    "Validator",
    "Versioned",
    "open_store",
]
