"""Errors of the state layer. Messages are complete sentences an operator can act on."""

from __future__ import annotations


class StoreError(Exception):
    """Base class of everything the state layer raises on purpose."""


class ConflictError(StoreError):
    """A versioned write found a different version than expected (someone else changed the record).

    Nothing of the write was applied. `ids` names the brokers whose versions did not match (may be
    empty when the store cannot tell which one it was).
    """

    def __init__(self, message: str, ids: tuple[int, ...] = ()) -> None:
        super().__init__(message)
        self.ids = ids


class StoreUnavailable(StoreError):
    """The backend cannot be reached or written (ZooKeeper down, session lost, disk full, ...).

    For a write: either nothing was applied, or (`outcome_unknown`) the backend went away while the
    write was in flight and it is not known whether it was applied; reload before trying again.
    """

    def __init__(self, message: str, outcome_unknown: bool = False) -> None:
        super().__init__(message)
        self.outcome_unknown = outcome_unknown


class StoreCorrupt(StoreError):
    """The stored data cannot be read back (not ours, edited by hand, or written by a newer version)."""


class StorageConfigError(StoreError, ValueError):
    """A bad `--storage` or `--zk` value; `field` is the option name."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
