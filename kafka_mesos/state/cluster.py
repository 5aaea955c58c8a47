"""`ClusterState`: the in-memory view of every broker that the API and the scheduler share.

Mutations are serialised by one asyncio lock, validated, written through to the store as one
all-or-nothing batch with version conditions, and only then applied in memory: a rejected or failed
write changes nothing. Each applied change bumps `generation`, wakes `wait_changed()` and calls the
listeners. Changes made by someone else to a shared store (ZooKeeper) are picked up by `refresh()`,
which the store triggers through its foreign-change listener.

Brokers handed out (`snapshot()`, `get()`) are shared, not copies: treat them as read-only and change
them only through `transact`/`mutate`/`add`/`update`/`remove`, whose callbacks get copies.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from kafka_mesos.core.errors import ValidationError
from kafka_mesos.core.model import Broker
from kafka_mesos.state.errors import ConflictError, StoreCorrupt, StoreUnavailable
from kafka_mesos.state.store import BrokerWrite, Snapshot, Store, Versioned

log = logging.getLogger(__name__)

Changes = Mapping[int, Broker | None]
"""broker id → its new record, or None for a removed broker."""
Validator = Callable[[Mapping[int, Broker]], None]
"""Sees the complete proposed state; raises (e.g. ValidationError) to reject the change."""
Listener = Callable[[Changes], None]


def _broker_from(broker_id: int, record: Versioned) -> Broker:
    try:
        broker = Broker.from_dict(record.data)
    except (KeyError, TypeError, ValueError) as e:
        raise StoreCorrupt(f"stored broker {broker_id} cannot be read: {e}") from e
    if broker.id != broker_id:
        raise StoreCorrupt(f"stored broker {broker_id} says it is broker {broker.id}")
    return broker


class ClusterState:
    def __init__(self, store: Store, validator: Validator | None = None) -> None:
        self.store = store
        self._validator = validator
        self._brokers: dict[int, Broker] = {}
        self._versions: dict[int, int] = {}
        self._framework_id: str | None = None
        self._lock = asyncio.Lock()
        self._changed = asyncio.Event()
        self._listeners: list[Listener] = []
        self._generation = 0
        self._refresh_task: asyncio.Task[None] | None = None
        self._refresh_again = False
        self._closed = False

    @classmethod
    async def open(cls, store: Store, validator: Validator | None = None) -> ClusterState:
        """Open `store` (the ClusterState then owns it: `close()` closes it) and load everything."""
        await store.open()
        state = cls(store, validator)
        try:
            await state.load()
        except BaseException:
            await store.close()
            raise
        return state

    async def load(self) -> None:
        """Replace the in-memory view with the store's content and listen for foreign changes."""
        async with self._lock:
            self._replace_from(await self.store.load())
        self.store.set_foreign_change_listener(self._on_foreign_change)

    async def close(self) -> None:
        """Stop following the store, wait for a running refresh, close the store. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self.store.set_foreign_change_listener(None)
        task, self._refresh_task = self._refresh_task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        async with self._lock:  # a write in flight finishes first
            await self.store.close()

    # ------------------------------------------------------------------ reading

    def snapshot(self) -> Mapping[int, Broker]:
        """The current brokers by id; a stable read-only view (later changes replace, never mutate it)."""
        return MappingProxyType(self._brokers)

    def get(self, broker_id: int) -> Broker | None:
        return self._brokers.get(broker_id)

    def version(self, broker_id: int) -> int | None:
        return self._versions.get(broker_id)

    @property
    def framework_id(self) -> str | None:
        return self._framework_id

    @property
    def generation(self) -> int:
        """Grows by one with every applied change (ours or, after `refresh`, someone else's)."""
        return self._generation

    async def healthy(self) -> bool:
        try:
            return await self.store.healthy()
        except Exception:  # a health probe answers, it does not raise
            log.exception("store health check failed")
            return False

    # ------------------------------------------------------------------ change notification

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """`listener(changes)` runs after every applied change; returns a function that removes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    async def wait_changed(self, timeout: float) -> bool:  # noqa: ASYNC109 -- the API's protocol names it so
        """Wait for the next applied change; False when `timeout` seconds passed first."""
        event = self._changed
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def _notify(self, changes: Changes) -> None:
        self._generation += 1
        event, self._changed = self._changed, asyncio.Event()
        event.set()
        for listener in list(self._listeners):
            try:
                listener(changes)
            except Exception:
                log.exception("cluster state listener %r failed", listener)

    # ------------------------------------------------------------------ writing

    async def transact(self, decide: Callable[[Mapping[int, Broker]], Changes]) -> Changes:
        """Under the lock, `decide(current)` returns changes (id → new Broker, or None to remove); they are
        validated, persisted as one batch, then applied. Returns the effective changes (no-ops dropped).

        An exception from `decide`, the validator or the store leaves everything unchanged. Once the write
        has started it completes even if the caller is cancelled, and memory follows the store."""
        await self._lock.acquire()
        try:
            current = self._brokers
            changes = self._effective(current, decide(MappingProxyType(current)))
            if not changes:
                self._lock.release()
                return {}
            proposed = dict(current)
            for broker_id, broker in changes.items():
                if broker is None:
                    proposed.pop(broker_id, None)
                else:
                    proposed[broker_id] = broker
            if self._validator is not None:
                self._validator(MappingProxyType(proposed))
            writes = [
                BrokerWrite(
                    broker_id,
                    None if broker is None else broker.to_dict(),
                    expected_version=self._versions.get(broker_id),
                )
                for broker_id, broker in sorted(changes.items())
            ]
            write = asyncio.ensure_future(self._persist(writes, changes, proposed))
        except BaseException:
            self._lock.release()
            raise
        write.add_done_callback(lambda _: self._lock.release())
        return await asyncio.shield(write)

    @staticmethod
    def _effective(current: Mapping[int, Broker], changes: Changes) -> dict[int, Broker | None]:
        effective: dict[int, Broker | None] = {}
        for broker_id, broker in changes.items():
            if broker is None:
                if broker_id in current:
                    effective[broker_id] = None
            elif broker.id != broker_id:
                raise ValueError(f"change for broker {broker_id} carries broker {broker.id}")
            elif current.get(broker_id) != broker:
                effective[broker_id] = broker
        return effective

    async def _persist(
        self, writes: list[BrokerWrite], changes: dict[int, Broker | None], proposed: dict[int, Broker]
    ) -> Changes:
        try:
            new_versions = await self.store.put_brokers(writes)
        except ConflictError:
            self._on_foreign_change()  # our view is stale: reload it for the next attempt
            raise
        except StoreUnavailable as e:
            if e.outcome_unknown:
                self._on_foreign_change()
            raise
        versions = dict(self._versions)
        for broker_id, version in new_versions.items():
            if version is None:
                versions.pop(broker_id, None)
            else:
                versions[broker_id] = version
        self._brokers, self._versions = proposed, versions
        self._notify(changes)
        return changes

    async def mutate(self, ids: Sequence[int], change: Callable[[Broker], Broker]) -> Mapping[int, Broker]:
        """Apply `change` to a copy of each existing broker of `ids` (missing ones are skipped), persist
        the results in one write, return the changed brokers."""

        def decide(current: Mapping[int, Broker]) -> Changes:
            return {i: change(current[i].copy()) for i in dict.fromkeys(ids) if i in current}

        result = await self.transact(decide)
        return {i: b for i, b in result.items() if b is not None}

    async def add(self, brokers: Iterable[Broker]) -> list[Broker]:
        """Add new brokers all or nothing; an id that exists already (or twice) is a ValidationError."""
        new = list(brokers)

        def decide(current: Mapping[int, Broker]) -> Changes:
            counts = Counter(b.id for b in new)
            taken = sorted(i for i, n in counts.items() if n > 1 or i in current)
            if taken:
                raise ValidationError("broker", f"broker(s) {_ids(taken)} already exist")
            return {b.id: b for b in new}

        await self.transact(decide)
        return new

    async def update(self, brokers: Iterable[Broker]) -> list[Broker]:
        """Replace existing brokers all or nothing; an unknown id is a ValidationError."""
        replacements = list(brokers)

        def decide(current: Mapping[int, Broker]) -> Changes:
            _require_known(current, [b.id for b in replacements])
            return {b.id: b for b in replacements}

        await self.transact(decide)
        return replacements

    async def remove(self, ids: Iterable[int]) -> list[Broker]:
        """Remove brokers all or nothing; an unknown id is a ValidationError. Returns the removed ones."""
        wanted = list(dict.fromkeys(ids))
        removed: list[Broker] = []

        def decide(current: Mapping[int, Broker]) -> Changes:
            _require_known(current, wanted)
            removed[:] = [current[i] for i in wanted]
            return dict.fromkeys(wanted)

        await self.transact(decide)
        return removed

    async def set_framework_id(self, framework_id: str | None) -> None:
        async with self._lock:
            if framework_id == self._framework_id:
                return
            await self.store.set_framework_id(framework_id)
            self._framework_id = framework_id
            self._notify({})

    # ------------------------------------------------------------------ foreign changes

    def _on_foreign_change(self) -> None:
        """Called on the loop when the store saw someone else's write: reload (coalescing bursts)."""
        if self._closed:
            return
        if self._refresh_task is not None and not self._refresh_task.done():
            self._refresh_again = True
            return
        self._refresh_task = asyncio.get_running_loop().create_task(
            self._refresh_loop(), name="cluster-refresh"
        )

    async def _refresh_loop(self) -> None:
        while True:
            self._refresh_again = False
            try:
                await self.refresh()
            except (StoreUnavailable, StoreCorrupt) as e:
                log.warning("cannot reload cluster state after a foreign change: %s", e)
            if not self._refresh_again or self._closed:
                return

    async def refresh(self) -> Changes:
        """Reload from the store; apply and announce whatever differs from memory."""
        async with self._lock:
            return self._replace_from(await self.store.load())

    def _replace_from(self, snapshot: Snapshot) -> Changes:
        changes: dict[int, Broker | None] = {}
        brokers: dict[int, Broker] = {}
        for broker_id, record in snapshot.brokers.items():
            known = self._brokers.get(broker_id)
            if known is not None and self._versions.get(broker_id) == record.version:
                brokers[broker_id] = known
            else:
                brokers[broker_id] = changes[broker_id] = _broker_from(broker_id, record)
        for broker_id in self._brokers.keys() - brokers.keys():
            changes[broker_id] = None
        framework_changed = snapshot.framework_id != self._framework_id
        self._brokers = brokers
        self._versions = {broker_id: record.version for broker_id, record in snapshot.brokers.items()}
        self._framework_id = snapshot.framework_id
        if changes or framework_changed:
            self._notify(changes)
        return changes


def _ids(ids: Iterable[int]) -> str:
    return ",".join(str(i) for i in ids)


def _require_known(current: Mapping[int, Broker], ids: Iterable[Any]) -> None:
    unknown = [i for i in ids if i not in current]
    if unknown:
        raise ValidationError("broker", f"broker(s) {_ids(unknown)} not found")
