"""The `Store` interface every backend implements, and the values it trades in.

A store keeps JSON-able broker records keyed by broker id, each with a version that grows by one on
every write (a new record starts at version 0), plus the framework id. Writes come in batches that are
applied all or nothing, each record with a version condition (compare-and-set), so two schedulers
sharing a store cannot silently overwrite each other.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

SCHEMA_VERSION: Final = 1
"""Layout version of what the stores write (not the broker record's own `schema`)."""

JsonDict = dict[str, Any]


class AnyVersion(enum.Enum):
    """Marker type for `ANY`."""

    ANY = "any"


ANY: Final = AnyVersion.ANY
"""`BrokerWrite.expected_version` that accepts whatever is there (including nothing)."""

ExpectedVersion = int | None | AnyVersion
"""int: the record must be at exactly this version; None: the record must not exist; ANY: no condition."""


@dataclass(frozen=True)
class Versioned:
    data: JsonDict
    version: int


@dataclass(frozen=True)
class Snapshot:
    framework_id: str | None
    brokers: dict[int, Versioned] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION


@dataclass(frozen=True)
class BrokerWrite:
    """Set broker `id` to `data`, or delete it when `data` is None, if `expected_version` holds."""

    id: int
    data: JsonDict | None
    expected_version: ExpectedVersion = ANY

    def __post_init__(self) -> None:
        if self.id < 0:
            raise ValueError(f"broker id must be >= 0, not {self.id}")
        if self.data is None and self.expected_version is None:
            raise ValueError(f"broker {self.id}: deleting a record that must not exist makes no sense")


NewVersions = dict[int, int | None]
"""broker id → its version after a write (None: deleted)."""

ForeignChangeListener = Callable[[], None]
"""Called on the event loop when the store noticed a change that this store object did not make."""


def check_batch(writes: Sequence[BrokerWrite]) -> None:
    """Refuse a batch naming one broker twice (its outcome would depend on the order)."""
    seen: set[int] = set()
    for write in writes:
        if write.id in seen:
            raise ValueError(f"broker {write.id} appears twice in one batch")
        seen.add(write.id)


def version_matches(expected: ExpectedVersion, current: int | None) -> bool:
    if expected is ANY:
        return True
    return expected == current


def describe_expectation(expected: ExpectedVersion) -> str:
    if expected is ANY:
        return "any version"
    return "no record" if expected is None else f"version {expected}"


class Store(ABC):
    """Persistent broker records and framework id. Methods raise `StoreUnavailable` when the backend
    is down and `ConflictError` when a version condition fails; a failed write changes nothing."""

    description: str = "store"
    """Where it lives, e.g. `file:/var/lib/km/kafka-mesos.json` or `zk:127.0.0.1:2181/kafka-mesos`."""

    @abstractmethod
    async def open(self) -> None:
        """Connect / create the layout if missing. Raises StoreUnavailable, StoreCorrupt."""

    @abstractmethod
    async def close(self) -> None:
        """Release everything; idempotent."""

    @abstractmethod
    async def load(self) -> Snapshot:
        """A consistent snapshot of every record (never half of a batch)."""

    @abstractmethod
    async def put_brokers(self, writes: Sequence[BrokerWrite]) -> NewVersions:
        """Apply `writes` all or nothing; returns the new versions."""

    @abstractmethod
    async def set_framework_id(self, framework_id: str | None) -> None: ...

    @abstractmethod
    async def healthy(self) -> bool:
        """True when a write could succeed right now (connected, writable)."""

    def set_foreign_change_listener(self, listener: ForeignChangeListener | None) -> None:
        """Be told when someone else changed the store (only backends shared between processes do)."""
        del listener

    async def __aenter__(self) -> Store:
        await self.open()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()


def records_from(snapshot: Snapshot) -> Mapping[int, JsonDict]:
    return {broker_id: versioned.data for broker_id, versioned in snapshot.brokers.items()}
