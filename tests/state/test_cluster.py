"""ClusterState: write-through, all-or-nothing, serialised mutations, change notification, foreign changes."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path

import pytest

from kafka_mesos.core.errors import ValidationError
from kafka_mesos.core.model import Broker
from kafka_mesos.state import (
    BrokerWrite,
    Changes,
    ClusterState,
    ConflictError,
    FileStore,
    StoreUnavailable,
)
from kafka_mesos.state.store import NewVersions
from kafka_mesos.state.zkstore import ZkStore
from tests.support.ports import wait_until_async
from tests.support.zookeeper import ZkChroot


def heap_below_mem(brokers: Mapping[int, Broker]) -> None:
    for broker in brokers.values():
        if broker.heap >= broker.mem:
            raise ValidationError(
                "heap", f"broker {broker.id}: heap {broker.heap} must be below mem {broker.mem}"
            )


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[ClusterState]:
    state = await ClusterState.open(FileStore(tmp_path / "state.json"), heap_below_mem)
    yield state
    await state.close()


async def reopened(tmp_path: Path) -> dict[int, Broker]:
    state = await ClusterState.open(FileStore(tmp_path / "state.json"))
    try:
        return dict(state.snapshot())
    finally:
        await state.close()


async def test_changes_are_written_through_and_survive_a_restart(
    cluster: ClusterState, tmp_path: Path
) -> None:
    await cluster.add([Broker(id=i, cpus=0.5) for i in range(3)])
    await cluster.update([dataclasses.replace(cluster.snapshot()[1], heap=128, mem=256)])
    removed = await cluster.remove([2])
    await cluster.set_framework_id("fw-9")
    assert [b.id for b in removed] == [2]
    assert cluster.version(1) == 1 and cluster.version(0) == 0 and cluster.version(2) is None
    await cluster.close()
    assert await reopened(tmp_path) == {
        0: Broker(id=0, cpus=0.5),
        1: Broker(id=1, cpus=0.5, heap=128, mem=256),
    }
    state = await ClusterState.open(FileStore(tmp_path / "state.json"))
    assert state.framework_id == "fw-9"
    await state.close()


async def test_rejected_changes_change_nothing(cluster: ClusterState, tmp_path: Path) -> None:
    await cluster.add([Broker(id=1), Broker(id=2)])
    generation = cluster.generation
    before = dict(cluster.snapshot())
    with pytest.raises(ValidationError, match=r"broker\(s\) 2 already exist"):
        await cluster.add([Broker(id=3), Broker(id=2)])
    with pytest.raises(ValidationError, match=r"broker\(s\) 4 already exist"):
        await cluster.add([Broker(id=4), Broker(id=4)])
    with pytest.raises(ValidationError, match=r"broker\(s\) 7,8 not found"):
        await cluster.remove([1, 7, 8])
    with pytest.raises(ValidationError, match="heap 4096 must be below mem 2048") as info:
        await cluster.mutate([1, 2], lambda b: dataclasses.replace(b, heap=4096) if b.id == 2 else b)
    assert info.value.field == "heap"

    def explode(current: Mapping[int, Broker]) -> Changes:
        raise RuntimeError("decision failed")

    with pytest.raises(RuntimeError):
        await cluster.transact(explode)
    assert dict(cluster.snapshot()) == before
    assert cluster.generation == generation
    assert await reopened_while_open(cluster) == before


async def reopened_while_open(cluster: ClusterState) -> dict[int, Broker]:
    snapshot = await cluster.store.load()
    return {i: Broker.from_dict(v.data) for i, v in snapshot.brokers.items()}


async def test_a_failed_store_write_changes_nothing_in_memory(
    cluster: ClusterState, monkeypatch: pytest.MonkeyPatch
) -> None:
    await cluster.add([Broker(id=1)])

    async def unavailable(writes: Sequence[BrokerWrite]) -> NewVersions:
        raise StoreUnavailable("disk on fire; nothing was changed")

    monkeypatch.setattr(cluster.store, "put_brokers", unavailable)
    with pytest.raises(StoreUnavailable):
        await cluster.mutate([1], lambda b: dataclasses.replace(b, active=True))
    assert cluster.snapshot()[1].active is False
    monkeypatch.undo()
    await cluster.mutate([1], lambda b: dataclasses.replace(b, active=True))  # the lock was released
    assert cluster.snapshot()[1].active is True


async def test_mutate_gets_copies_and_skips_missing(cluster: ClusterState) -> None:
    await cluster.add([Broker(id=1, options={"a": "1"})])
    old_view = cluster.snapshot()
    old_broker = old_view[1]

    def change(broker: Broker) -> Broker:
        broker.options["b"] = "2"  # in place, on the copy
        return broker

    result = await cluster.mutate([1, 99], change)
    assert list(result) == [1]
    assert old_broker.options == {"a": "1"}
    assert cluster.snapshot()[1].options == {"a": "1", "b": "2"}
    assert await cluster.mutate([1], lambda b: b) == {}  # no-op: nothing written
    assert cluster.version(1) == 1


async def test_wait_changed_and_listeners(cluster: ClusterState) -> None:
    seen: list[Changes] = []
    remove_listener = cluster.add_listener(seen.append)
    waiter = asyncio.create_task(cluster.wait_changed(30))
    await asyncio.sleep(0)  # let the waiter start waiting
    await cluster.add([Broker(id=5)])
    assert await waiter is True
    assert [set(changes) for changes in seen] == [{5}]
    remove_listener()
    await cluster.remove([5])
    assert len(seen) == 1
    assert await cluster.wait_changed(0.01) is False


async def test_50_concurrent_writers_to_different_brokers_all_persist(
    cluster: ClusterState, tmp_path: Path
) -> None:
    await cluster.add([Broker(id=i) for i in range(50)])
    await asyncio.gather(
        *(cluster.mutate([i], lambda b, i=i: dataclasses.replace(b, cpus=1 + i / 100)) for i in range(50))
    )
    await cluster.close()
    stored = await reopened(tmp_path)
    assert {i: b.cpus for i, b in stored.items()} == {i: 1 + i / 100 for i in range(50)}


async def test_concurrent_writes_to_one_broker_lose_no_update(cluster: ClusterState, tmp_path: Path) -> None:
    await cluster.add([Broker(id=1, mem=2048)])

    async def increment() -> None:
        await asyncio.sleep(0)
        await cluster.mutate([1], lambda b: dataclasses.replace(b, mem=b.mem + 1))

    await asyncio.gather(*(increment() for _ in range(50)))
    assert cluster.snapshot()[1].mem == 2098
    await cluster.close()
    assert (await reopened(tmp_path))[1].mem == 2098


async def test_a_cancelled_caller_does_not_tear_memory_from_the_store(
    cluster: ClusterState, monkeypatch: pytest.MonkeyPatch
) -> None:
    await cluster.add([Broker(id=1)])
    gate = asyncio.Event()
    entered = asyncio.Event()
    real_put = cluster.store.put_brokers

    async def slow_put(writes: Sequence[BrokerWrite]) -> NewVersions:
        entered.set()
        await gate.wait()
        return await real_put(writes)

    monkeypatch.setattr(cluster.store, "put_brokers", slow_put)
    caller = asyncio.create_task(cluster.mutate([1], lambda b: dataclasses.replace(b, cpus=3.0)))
    await entered.wait()
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    second = asyncio.create_task(cluster.mutate([1], lambda b: dataclasses.replace(b, mem=b.mem + 1)))
    gate.set()
    await second
    assert (cluster.snapshot()[1].cpus, cluster.snapshot()[1].mem) == (3.0, 2049)
    assert await reopened_while_open(cluster) == dict(cluster.snapshot())


@pytest.mark.integration
async def test_zookeeper_foreign_changes_are_loaded_and_stale_writes_refused(zk_chroot: ZkChroot) -> None:
    first = await ClusterState.open(ZkStore(zk_chroot.connect_string, "/km"))
    second = await ClusterState.open(ZkStore(zk_chroot.connect_string, "/km"))
    try:
        await first.add([Broker(id=1), Broker(id=2)])
        await wait_until_async(lambda: set(second.snapshot()) == {1, 2}, message="second sees the add")

        # second does not hear of first's next change in time: its write is refused, not applied
        second.store.set_foreign_change_listener(None)
        await first.mutate([1], lambda b: dataclasses.replace(b, cpus=2.0))
        with pytest.raises(ConflictError, match="broker 1: expected version 0, found version 1"):
            await second.mutate([1], lambda b: dataclasses.replace(b, heap=512))
        # the conflict made it reload: the retry is based on first's change
        await wait_until_async(lambda: second.snapshot()[1].cpus == 2.0, message="second catches up")
        await second.mutate([1], lambda b: dataclasses.replace(b, heap=512))
        await wait_until_async(lambda: first.snapshot()[1].heap == 512, message="first sees it")
        assert first.snapshot()[1].cpus == 2.0
    finally:
        await first.close()
        await second.close()
