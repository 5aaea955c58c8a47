"""ZooKeeper backend on a real ZooKeeper: layout, compare-and-set, all-or-nothing batches (also chunked
ones), foreign-change watch, server restart and session expiry during writes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from kafka_mesos.state import ANY, BrokerWrite, ConflictError, StoreCorrupt, StoreUnavailable
from kafka_mesos.state import zkstore as zkstore_module
from kafka_mesos.state.zkstore import ZkStore
from tests.support.ports import wait_until_async
from tests.support.zookeeper import ZkChroot, ZooKeeperServer, expire_session, kazoo_client

pytestmark = pytest.mark.integration


def record(broker_id: int, **extra: object) -> dict[str, object]:
    return {"id": broker_id, **extra}


@pytest.fixture
async def store(zk_chroot: ZkChroot) -> AsyncIterator[ZkStore]:
    store = ZkStore(zk_chroot.connect_string, "/kafka-mesos")
    await store.open()
    yield store
    await store.close()


@pytest.fixture
def small_transactions(monkeypatch: pytest.MonkeyPatch) -> None:
    """Force the chunked batch path with a handful of brokers."""
    monkeypatch.setattr(zkstore_module, "MAX_TX_BYTES", 600)


class Crash(Exception):
    pass


async def test_layout_one_znode_per_broker(store: ZkStore, zk_chroot: ZkChroot) -> None:
    await store.put_brokers([BrokerWrite(i, record(i), None) for i in (0, 1, 2)])
    await store.set_framework_id("fw-1")
    with kazoo_client(zk_chroot.connect_string) as client:
        assert sorted(client.get_children("/kafka-mesos/brokers"), key=int) == ["0", "1", "2"]
        assert json.loads(client.get("/kafka-mesos/brokers/1")[0]) == {"id": 1}
        assert client.get("/kafka-mesos/framework-id")[0] == b"fw-1"
        assert client.get("/kafka-mesos/schema")[0] == b"1"


async def test_versions_and_compare_and_set(store: ZkStore) -> None:
    assert await store.put_brokers([BrokerWrite(1, record(1), None), BrokerWrite(2, record(2), None)]) == {
        1: 0,
        2: 0,
    }
    assert await store.put_brokers([BrokerWrite(1, record(1, x=1), 0), BrokerWrite(2, None, 0)]) == {
        1: 1,
        2: None,
    }
    with pytest.raises(ConflictError, match="broker 1: expected version 0, found version 1") as info:
        await store.put_brokers([BrokerWrite(3, record(3), None), BrokerWrite(1, record(1, x=2), 0)])
    assert info.value.ids == (1,)
    with pytest.raises(ConflictError, match="broker 1: expected no record, found version 1"):
        await store.put_brokers([BrokerWrite(1, record(1), None)])
    snapshot = await store.load()
    assert {i: (v.data, v.version) for i, v in snapshot.brokers.items()} == {1: ({"id": 1, "x": 1}, 1)}
    assert await store.put_brokers([BrokerWrite(1, None, ANY), BrokerWrite(7, None, ANY)]) == {
        1: None,
        7: None,
    }
    assert await store.put_brokers([BrokerWrite(7, record(7), ANY)]) == {7: 0}


async def test_two_schedulers_cannot_silently_overwrite_each_other(
    store: ZkStore, zk_chroot: ZkChroot
) -> None:
    other = ZkStore(zk_chroot.connect_string, "/kafka-mesos")
    await other.open()
    try:
        await store.put_brokers([BrokerWrite(5, record(5, owner="a"), None)])
        seen_by_other = (await other.load()).brokers[5].version
        await store.put_brokers([BrokerWrite(5, record(5, owner="a2"), 0)])
        with pytest.raises(ConflictError):
            await other.put_brokers([BrokerWrite(5, record(5, owner="b"), seen_by_other)])
        assert (await store.load()).brokers[5].data == {"id": 5, "owner": "a2"}
    finally:
        await other.close()


async def test_foreign_changes_are_noticed_own_ones_are_not(store: ZkStore, zk_chroot: ZkChroot) -> None:
    noticed: list[str] = []
    store.set_foreign_change_listener(lambda: noticed.append("changed"))
    await store.put_brokers([BrokerWrite(1, record(1), None)])
    other = ZkStore(zk_chroot.connect_string, "/kafka-mesos")
    await other.open()
    try:
        await other.put_brokers([BrokerWrite(2, record(2), None)])
        await wait_until_async(lambda: noticed, message="foreign write noticed")
        # a write of our own afterwards is not reported (the watch has seen it once this test ends)
        count = len(noticed)
        await store.put_brokers([BrokerWrite(3, record(3), None)])
        await other.put_brokers([BrokerWrite(4, record(4), None)])
        await wait_until_async(lambda: len(noticed) > count)
        assert len(noticed) == count + 1
    finally:
        await other.close()


async def test_batch_of_10000_brokers_is_chunked_and_complete(store: ZkStore) -> None:
    big = [BrokerWrite(i, record(i, pad="x" * 600), None) for i in range(10_000)]
    versions = await store.put_brokers(big)
    assert set(versions.values()) == {0}
    snapshot = await store.load()
    assert len(snapshot.brokers) == 10_000
    assert snapshot.brokers[9_999].data["pad"] == "x" * 600


@pytest.mark.usefixtures("small_transactions")
async def test_chunked_batch_bound_to_conflict_is_refused_before_writing(store: ZkStore) -> None:
    await store.put_brokers([BrokerWrite(i, record(i), None) for i in (3, 40)])
    before = await store.load()
    writes = [BrokerWrite(i, record(i, new=True), ANY) for i in range(3)]
    writes += [BrokerWrite(i, record(i, new=True), None) for i in range(4, 40)]
    writes += [BrokerWrite(40, record(40, new=True), None)]  # exists already
    with pytest.raises(ConflictError, match="broker 40: expected no record, found version 0"):
        await store.put_brokers(writes)
    assert await store.load() == before  # versions included: nothing was written


@pytest.mark.usefixtures("small_transactions")
async def test_a_racing_writer_makes_a_late_chunk_fail_and_the_batch_is_rolled_back(
    store: ZkStore, zk_chroot: ZkChroot, monkeypatch: pytest.MonkeyPatch
) -> None:
    await store.put_brokers([BrokerWrite(i, record(i), None) for i in range(3)])
    before = await store.load()
    real_commit_all = store._commit_all

    async def someone_creates_broker_39_first(*args: Any) -> Any:
        with kazoo_client(zk_chroot.connect_string) as client:
            client.create("/kafka-mesos/brokers/39", b'{"id": 39}')
        return await real_commit_all(*args)

    monkeypatch.setattr(store, "_commit_all", someone_creates_broker_39_first)
    writes = [BrokerWrite(i, record(i, new=True), 0) for i in range(3)]
    writes += [BrokerWrite(i, record(i, new=True), None) for i in range(3, 40)]
    with pytest.raises(ConflictError, match="broker 39: expected no record, found version 0"):
        await store.put_brokers(writes)
    after = await store.load()
    # every chunk that went through was undone: the data is as before (plus the racer's broker 39);
    # the versions of the undone records moved on
    assert {i: v.data for i, v in after.brokers.items()} == {
        **{i: v.data for i, v in before.brokers.items()},
        39: {"id": 39},
    }
    assert all(after.brokers[i].version > before.brokers[i].version for i in range(3))


@pytest.mark.usefixtures("small_transactions")
async def test_readers_never_see_part_of_a_chunked_batch(store: ZkStore, zk_chroot: ZkChroot) -> None:
    reader = ZkStore(zk_chroot.connect_string, "/kafka-mesos")
    await reader.open()
    sizes: set[int] = set()
    done = asyncio.Event()

    async def read_loop() -> None:
        while not done.is_set():
            sizes.add(len((await reader.load()).brokers))
            await asyncio.sleep(0)

    task = asyncio.create_task(read_loop())
    try:
        for round_ in range(3):
            base = round_ * 50
            await store.put_brokers(
                [BrokerWrite(i, record(i, pad="y" * 100), None) for i in range(base, base + 50)]
            )
    finally:
        done.set()
        await task
        await reader.close()
    assert sizes <= {0, 50, 100, 150}
    assert len((await store.load()).brokers) == 150


@pytest.mark.usefixtures("small_transactions")
async def test_a_batch_abandoned_by_a_dead_scheduler_is_rolled_back(
    zk_server: ZooKeeperServer, zk_chroot: ZkChroot, monkeypatch: pytest.MonkeyPatch
) -> None:
    crashing = ZkStore(zk_chroot.connect_string, "/kafka-mesos")
    await crashing.open()
    await crashing.put_brokers([BrokerWrite(1, record(1, old=True), None)])

    async def crash_before_closing(*args: object, **kwargs: object) -> None:
        raise Crash("scheduler died")  # every chunk is written, the batch is still open

    monkeypatch.setattr(crashing, "_close_batch", crash_before_closing)
    with pytest.raises(Crash):
        await crashing.put_brokers(
            [BrokerWrite(1, record(1, old=False), 0)]
            + [BrokerWrite(i, record(i), None) for i in range(2, 30)]
        )
    survivor = ZkStore(zk_chroot.connect_string, "/kafka-mesos")
    await survivor.open()
    try:
        # the crashed scheduler's session is still alive: readers wait rather than see half a batch
        survivor.op_timeout = 0.5
        with pytest.raises(StoreUnavailable, match=r"batch write .* in progress"):
            await survivor.load()
        survivor.op_timeout = 15.0
        await crashing.close()  # its session ends, the owner node goes
        snapshot = await survivor.load()
        assert {i: v.data for i, v in snapshot.brokers.items()} == {1: {"id": 1, "old": True}}
        await survivor.put_brokers([BrokerWrite(2, record(2), None)])  # usable again
    finally:
        await survivor.close()
        await crashing.close()


async def test_newer_layout_is_refused(zk_chroot: ZkChroot) -> None:
    with kazoo_client(zk_chroot.connect_string) as client:
        client.create("/kafka-mesos/schema", b"2", makepath=True)
    store = ZkStore(zk_chroot.connect_string, "/kafka-mesos")
    with pytest.raises(StoreCorrupt, match="layout schema 2; this program reads up to 1"):
        await store.open()


async def test_unreachable_zookeeper_is_store_unavailable(zk_server_fresh: ZooKeeperServer) -> None:
    store = ZkStore(zk_server_fresh.connect_string, "/km", session_timeout=4.0, op_timeout=1.0)
    await store.open()
    try:
        await store.put_brokers([BrokerWrite(1, record(1), None)])
        await asyncio.to_thread(zk_server_fresh.stop)
        await wait_until_async(lambda: not store.bridge.connected)
        assert await store.healthy() is False
        with pytest.raises(StoreUnavailable, match="unreachable for 1s"):
            await store.put_brokers([BrokerWrite(2, record(2), None)])
        with pytest.raises(StoreUnavailable):
            await store.load()
        await asyncio.to_thread(zk_server_fresh.start)
        await wait_until_async(store.healthy, timeout=30)
        store.op_timeout = 15.0
        assert set((await store.load()).brokers) == {1}
    finally:
        await store.close()


async def test_nobody_listening_on_open(zk_server_fresh: ZooKeeperServer) -> None:
    address = zk_server_fresh.connect_string
    await asyncio.to_thread(zk_server_fresh.stop)
    store = ZkStore(address, "/km", op_timeout=1.0)
    with pytest.raises(StoreUnavailable, match=r"no ZooKeeper server of 127\.0\.0\.1:.* answered"):
        await store.open()


async def _write_through_trouble(store: ZkStore, trouble: asyncio.Task[None]) -> tuple[set[int], set[int]]:
    """Create brokers one by one until the trouble is over and 20 more were written. Returns the ids
    acknowledged and the ids whose outcome the store could not tell."""
    acknowledged: set[int] = set()
    unknown: set[int] = set()
    after_trouble = 0
    broker_id = 0
    while after_trouble < 20:
        broker_id += 1
        try:
            await store.put_brokers([BrokerWrite(broker_id, record(broker_id), None)])
            acknowledged.add(broker_id)
        except StoreUnavailable as e:
            if e.outcome_unknown:
                unknown.add(broker_id)
        if trouble.done():
            after_trouble += 1
    await trouble
    return acknowledged, unknown


async def test_server_restart_during_writes_loses_no_acknowledged_write(
    zk_server_fresh: ZooKeeperServer,
) -> None:
    store = ZkStore(zk_server_fresh.connect_string, "/km", session_timeout=20.0, op_timeout=30.0)
    await store.open()
    try:
        await store.put_brokers([BrokerWrite(0, record(0), None)])
        restart = asyncio.create_task(asyncio.to_thread(zk_server_fresh.restart))
        acknowledged, unknown = await _write_through_trouble(store, restart)
        stored = set((await store.load()).brokers) - {0}
        assert acknowledged <= stored, "an acknowledged write is missing"
        assert stored <= acknowledged | unknown, "a write reported as failed was applied"
        assert len(acknowledged) >= 20
    finally:
        await store.close()


async def test_session_expiry_during_writes(zk_server: ZooKeeperServer, zk_chroot: ZkChroot) -> None:
    store = ZkStore(zk_chroot.connect_string, "/km", session_timeout=4.0, op_timeout=30.0)
    await store.open()
    try:
        await store.put_brokers([BrokerWrite(0, record(0), None)])
        lost_before = store.bridge.sessions_lost
        expiry = asyncio.create_task(asyncio.to_thread(expire_session, store.bridge.client, zk_server))
        acknowledged, unknown = await _write_through_trouble(store, expiry)
        assert store.bridge.sessions_lost == lost_before + 1
        stored = set((await store.load()).brokers) - {0}
        assert acknowledged <= stored
        assert stored <= acknowledged | unknown
        assert await store.healthy()
    finally:
        await store.close()


@pytest.mark.usefixtures("small_transactions")
async def test_session_expiry_before_a_chunked_batch_is_closed_changes_nothing(
    zk_server: ZooKeeperServer, zk_chroot: ZkChroot, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ZkStore(zk_chroot.connect_string, "/km", session_timeout=4.0)
    await store.open()
    real_close = store._close_batch
    expired: list[bool] = []

    async def expire_then_close(*args: Any) -> None:
        if not expired:  # every chunk is written, the batch is still open
            await asyncio.to_thread(expire_session, store.bridge.client, zk_server)
            expired.append(True)
        await real_close(*args)

    monkeypatch.setattr(store, "_close_batch", expire_then_close)
    try:
        with pytest.raises(StoreUnavailable, match="before a batch write was closed; nothing was changed"):
            await store.put_brokers([BrokerWrite(i, record(i), None) for i in range(40)])
        assert (await store.load()).brokers == {}
        await store.put_brokers([BrokerWrite(i, record(i), None) for i in range(40)])
        assert len((await store.load()).brokers) == 40
    finally:
        await store.close()


async def _batch_through_trouble(
    store: ZkStore, trouble: Callable[[], None], monkeypatch: pytest.MonkeyPatch
) -> int:
    """Write a chunked batch of 40 brokers while `trouble` runs (in a thread) as its chunks are in flight;
    returns how many brokers are stored afterwards, checking that a failure said nothing was changed."""
    real_commit_all = store._commit_all

    async def commit_all_in_trouble(*args: Any) -> Any:
        running = asyncio.create_task(asyncio.to_thread(trouble))
        try:
            return await real_commit_all(*args)
        finally:
            await running

    monkeypatch.setattr(store, "_commit_all", commit_all_in_trouble)
    try:
        await store.put_brokers([BrokerWrite(i, record(i, pad="z" * 50), None) for i in range(40)])
    except StoreUnavailable as e:
        assert not e.outcome_unknown
        assert "nothing" in str(e)
    monkeypatch.undo()
    return len((await store.load()).brokers)


@pytest.mark.usefixtures("small_transactions")
async def test_server_restart_while_a_chunked_batch_is_in_flight_is_all_or_nothing(
    zk_server_fresh: ZooKeeperServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ZkStore(zk_server_fresh.connect_string, "/km", session_timeout=20.0, op_timeout=30.0)
    await store.open()
    try:
        assert await _batch_through_trouble(store, zk_server_fresh.restart, monkeypatch) in (0, 40)
    finally:
        await store.close()


@pytest.mark.usefixtures("small_transactions")
async def test_session_expiry_while_a_chunked_batch_is_in_flight_is_all_or_nothing(
    zk_server: ZooKeeperServer, zk_chroot: ZkChroot, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ZkStore(zk_chroot.connect_string, "/km", session_timeout=4.0, op_timeout=30.0)
    await store.open()
    try:
        stored = await _batch_through_trouble(
            store, lambda: expire_session(store.bridge.client, zk_server), monkeypatch
        )
        assert stored in (0, 40)
    finally:
        await store.close()
