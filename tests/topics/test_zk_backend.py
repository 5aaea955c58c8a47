"""ZkTopicBackend on a real ZooKeeper: what it writes, and reads on servers without multiRead (< 3.6)."""

from __future__ import annotations

from typing import Any

from kazoo.exceptions import UnimplementedError

from kafka_mesos.kafka.topics import ZkTopicBackend
from kafka_mesos.state.zkbridge import ZkBridge
from tests.conftest import ZkChroot  # type: ignore[attr-defined]
from tests.support.zookeeper import kazoo_client


class OldServerBridge(ZkBridge):
    """A ZooKeeper 3.5 answers multiRead (opcode 22) with UNIMPLEMENTED."""

    async def get_many(self, paths: list[str]) -> list[Any]:
        raise UnimplementedError()


async def test_reads_fall_back_to_single_reads_and_writes_are_kafkas(zk_chroot: ZkChroot) -> None:
    bridge = OldServerBridge(zk_chroot.server.connect_string)
    await bridge.start(30.0)
    try:
        backend = ZkTopicBackend(bridge, zk_chroot.path)
        await backend.create_topic("t1", {0: [1, 2], 1: [2, 1]}, {"retention.ms": "5"})
        await backend.start_reassignment({("t1", 0): [2, 1]})
        topics = await backend.read_topics(["t1", "missing"])
        assert list(topics) == ["t1"]
        assert topics["t1"].partitions == {0: [1, 2], 1: [2, 1]}
        assert topics["t1"].config == {"retention.ms": "5"}
        assert topics["t1"].under_replicated() == [0, 1]  # no controller: no partition state yet
        assert await backend.reassignment() == {("t1", 0): [2, 1]}
        assert await backend.live_brokers() == {}
        await backend.set_broker_config(1, {"leader.replication.throttled.rate": "1000"})
        assert await backend.broker_configs() == {1: {"leader.replication.throttled.rate": "1000"}}
    finally:
        await bridge.stop()
    with kazoo_client(zk_chroot.connect_string) as client:
        assert client.get("/brokers/topics/t1")[0] == b'{"version":1,"partitions":{"0":[1,2],"1":[2,1]}}'
        assert client.get("/admin/reassign_partitions")[0] == (
            b'{"version":1,"partitions":[{"topic":"t1","partition":0,"replicas":[2,1]}]}')
        assert client.get("/config/brokers/1")[0] == (
            b'{"version":1,"config":{"leader.replication.throttled.rate":"1000"}}')
        changes = sorted(client.get_children("/config/changes"))
        assert [client.get(f"/config/changes/{c}")[0] for c in changes] == [
            b'{"version":2,"entity_path":"brokers/1"}']
