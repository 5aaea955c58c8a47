"""The executor's own ZooKeeper reader against a real ZooKeeper."""

from __future__ import annotations

import asyncio

from kafka_mesos.executor.registration import RegistrationWatch
from kafka_mesos.executor.zkclient import ZkReader, parse_connect
from kafka_mesos.kafka.znodes import BrokerRegistration
from tests.support.ports import free_port
from tests.support.zookeeper import ZkChroot, kazoo_client


def test_parse_connect() -> None:
    assert parse_connect("a:1,b:2/x/y/") == ([("a", 1), ("b", 2)], "/x/y")
    assert parse_connect("a") == ([("a", 2181)], "")


async def test_exists_get_data_and_watch(zk_chroot: ZkChroot) -> None:
    reader = ZkReader(zk_chroot.connect_string)
    await reader.connect()
    try:
        assert await reader.exists("/brokers/ids/1", watch=True) is None
        with kazoo_client(zk_chroot.connect_string) as zk:
            await asyncio.to_thread(zk.create, "/brokers/ids/1", b"hello", makepath=True, ephemeral=True)
            async with asyncio.timeout(20):
                await reader.changed.wait()  # the watch fired
            found = await reader.get_data("/brokers/ids/1")
            assert found is not None
            data, stat = found
            assert data == b"hello" and stat.ephemeral_owner != 0
            assert stat.czxid == (await asyncio.to_thread(zk.exists, "/brokers/ids/1")).czxid
    finally:
        await reader.close()


async def test_registration_watch_ignores_a_registration_from_before_the_spawn(zk_chroot: ZkChroot) -> None:
    old = BrokerRegistration(host="old", port=1, timestamp_ms=1)
    new = BrokerRegistration(host="new", port=2, timestamp_ms=2)
    with kazoo_client(zk_chroot.connect_string) as zk:
        await asyncio.to_thread(zk.create, "/brokers/ids/5", old.to_json(), makepath=True)
        watch = RegistrationWatch(zk_chroot.connect_string, 5)
        try:
            await watch.prepare()
            waiting = asyncio.create_task(watch.wait())
            done, _ = await asyncio.wait({waiting}, timeout=1.5)  # bounded look: the old node must not count
            assert not done
            await asyncio.to_thread(zk.delete, "/brokers/ids/5")
            await asyncio.to_thread(zk.create, "/brokers/ids/5", new.to_json())
            async with asyncio.timeout(20):
                registration = await waiting
            assert registration.endpoint() == "new:2"
        finally:
            await watch.close()


async def test_without_zookeeper_before_the_spawn_the_registration_timestamp_decides() -> None:
    watch = RegistrationWatch(f"127.0.0.1:{free_port()}", 9)  # nothing listens there
    await watch.prepare(within=5)
    await watch.close()
    assert not watch.prepared
    fresh = BrokerRegistration(host="h", port=1, timestamp_ms=watch.spawn_ms + 5)
    stale = BrokerRegistration(host="h", port=1, timestamp_ms=watch.spawn_ms - 60_000)
    assert watch._counts(czxid=1, registration=fresh)
    assert not watch._counts(czxid=1, registration=stale)
