"""The fence on store writes: refused at the call, and inside the ZooKeeper store's own retries."""

from __future__ import annotations

import asyncio

import pytest

from kafka_mesos.state import BrokerWrite, FileStore
from kafka_mesos.state.fenced import FencedStore, NotLeader
from kafka_mesos.state.zkstore import ZkStore
from tests.support.ports import wait_until_async
from tests.support.zookeeper import ZooKeeperServer


async def test_refuses_writes_but_not_reads(tmp_path: object) -> None:
    allowed = [True]
    store = FencedStore(FileStore(f"{tmp_path}/state.json"), lambda: allowed[0])
    await store.open()
    try:
        await store.put_brokers([BrokerWrite(1, {"id": 1}, None)])
        allowed[0] = False
        with pytest.raises(NotLeader):
            await store.put_brokers([BrokerWrite(2, {"id": 2}, None)])
        with pytest.raises(NotLeader):
            await store.set_framework_id("f-1")
        snapshot = await store.load()
        assert sorted(snapshot.brokers) == [1] and snapshot.framework_id is None
        assert store.refused == 2
    finally:
        await store.close()


@pytest.mark.integration
async def test_a_write_waiting_for_zookeeper_is_not_sent_once_leadership_ended(
    zk_server_fresh: ZooKeeperServer,
) -> None:
    allowed = [True]
    store = FencedStore(ZkStore(zk_server_fresh.connect_string, "/km", op_timeout=60.0), lambda: allowed[0])
    await store.open()
    try:
        await asyncio.to_thread(zk_server_fresh.stop)
        write = asyncio.ensure_future(store.put_brokers([BrokerWrite(1, {"id": 1}, None)]))
        await wait_until_async(lambda: store._writing == 1, timeout=10, message="write under way")
        allowed[0] = False  # leadership ends while the write waits for ZooKeeper
        await asyncio.to_thread(zk_server_fresh.start)
        with pytest.raises(NotLeader):
            await write
        snapshot = await store.load()
        assert snapshot.brokers == {}, "nothing reached ZooKeeper"
    finally:
        await store.close()
