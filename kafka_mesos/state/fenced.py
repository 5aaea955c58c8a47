"""`FencedStore`: a store that refuses writes unless this process may write (it leads).

With leader election every scheduler opens the same ZooKeeper store, but only the leader writes. The
fence is checked synchronously at each write, so a leader whose ZooKeeper connection is SUSPENDED stops
writing at that very moment. A write already in flight when leadership ends is still stopped by the
store's own version conditions if the next leader changed the same records.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from kafka_mesos.state.errors import StoreUnavailable
from kafka_mesos.state.store import BrokerWrite, ForeignChangeListener, NewVersions, Snapshot, Store


class NotLeader(StoreUnavailable):
    """A write was refused because this scheduler is not (or no longer) the leader."""


class FencedStore(Store):
    def __init__(self, inner: Store, may_write: Callable[[], bool]) -> None:
        self.inner = inner
        self.may_write = may_write
        self.description = inner.description
        self.refused = 0
        """Writes refused so far (tests and /health look at it)."""
        self._writing = 0
        if hasattr(inner, "write_guard"):  # the ZooKeeper store: its retries are fenced too
            inner.write_guard = self._guard

    def _guard(self) -> None:
        # Only our own writes: the repairs a reader makes (rolling back a dead writer's batch) stay allowed.
        if self._writing:
            self._check("sending a transaction")

    def _check(self, what: str) -> None:
        if not self.may_write():
            self.refused += 1
            raise NotLeader(f"not the leader: {what} refused (a standby or a deposed leader never writes)")

    async def open(self) -> None:
        await self.inner.open()

    async def close(self) -> None:
        await self.inner.close()

    async def load(self) -> Snapshot:
        return await self.inner.load()

    async def put_brokers(self, writes: Sequence[BrokerWrite]) -> NewVersions:
        self._check(f"writing broker(s) {', '.join(str(w.id) for w in writes)}")
        self._writing += 1
        try:
            return await self.inner.put_brokers(writes)
        finally:
            self._writing -= 1

    async def set_framework_id(self, framework_id: str | None) -> None:
        self._check("setting the framework id")
        self._writing += 1
        try:
            await self.inner.set_framework_id(framework_id)
        finally:
            self._writing -= 1

    async def healthy(self) -> bool:
        return await self.inner.healthy()

    def set_foreign_change_listener(self, listener: ForeignChangeListener | None) -> None:
        self.inner.set_foreign_change_listener(listener)
