"""Rolling restart on the real ClusterState with a scheduler double: batches, the ISR wait, where a stuck
restart stops, `update --restart`, and the reconciling count in `broker list`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from kafka_mesos.api.app import build_app
from kafka_mesos.api.rolling import RollingRestart, TopicReplicas
from kafka_mesos.core.model import Broker
from kafka_mesos.kafka.topics import PartitionState, Topic
from kafka_mesos.state import ClusterState
from tests.api.support import FollowingScheduler, observe, open_cluster, running_task


class LaggingReplicas:
    """Each broker is out of the ISR of partition t:0 for the first `lag` checks after a restart."""

    def __init__(self, lag: int) -> None:
        self.lag = lag
        self.checks: dict[int, int] = {}

    async def lagging_partitions(self, broker_id: int) -> list[str]:
        self.checks[broker_id] = self.checks.get(broker_id, 0) + 1
        return ["t:0"] if self.checks[broker_id] <= self.lag else []


class Recorder:
    """The fewest brokers with a running task at any moment, from every change of the cluster."""

    def __init__(self, cluster: ClusterState) -> None:
        self.cluster = cluster
        self.fewest_running = len(cluster.snapshot())
        self.order: list[int] = []
        self._remove = cluster.add_listener(self._changed)

    def _changed(self, changes: Mapping[int, Broker | None]) -> None:
        brokers = self.cluster.snapshot()
        running = sum(1 for b in brokers.values() if b.task is not None and b.task.running)
        self.fewest_running = min(self.fewest_running, running)
        for broker_id, broker in changes.items():
            if broker is not None and not broker.active and broker_id not in self.order:
                self.order.append(broker_id)

    def close(self) -> None:
        self._remove()


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[ClusterState]:
    state = await open_cluster(tmp_path / "kafka-mesos.json")
    await state.transact(lambda _: {i: Broker(id=i, active=True) for i in range(5)})
    await observe(state, {i: running_task(i) for i in range(5)})
    try:
        yield state
    finally:
        await state.close()


def describe(ids: Any) -> list[dict[str, Any]]:
    return [{"id": str(i)} for i in ids]


async def roll(cluster: ClusterState, control: FollowingScheduler, replicas: Any = None, *, batch: int = 1,
               wait_s: float = 30.0, wait_replication: bool = True) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + wait_s
    rolling = RollingRestart(cluster, control, replicas, poll_interval=0.01)
    try:
        return await rolling.run(list(range(5)), batch=batch, deadline=deadline,
                                 wait_replication=wait_replication, describe=describe)
    finally:
        await control.drain()


@pytest.mark.parametrize("batch", [1, 2])
async def test_batches_keep_all_but_batch_brokers_running(cluster: ClusterState, batch: int) -> None:
    recorder = Recorder(cluster)
    before = {i: b.task for i, b in cluster.snapshot().items()}
    answer = await roll(cluster, FollowingScheduler(cluster), batch=batch)
    recorder.close()
    assert answer["status"] == "restarted" and answer["restarted"] == ["0", "1", "2", "3", "4"]
    assert recorder.fewest_running == 5 - batch
    assert recorder.order == [0, 1, 2, 3, 4]
    assert all(b.task is not before[i] and b.task is not None and b.task.running
               for i, b in cluster.snapshot().items())


async def test_the_next_broker_waits_until_the_previous_one_is_back_in_the_isr(cluster: ClusterState) -> None:
    replicas = LaggingReplicas(lag=3)
    answer = await roll(cluster, FollowingScheduler(cluster), replicas)
    assert answer["status"] == "restarted"
    assert replicas.checks == {i: 4 for i in range(5)}, "polled until in sync, each in turn"


async def test_no_wait_for_replication_skips_the_isr(cluster: ClusterState) -> None:
    replicas = LaggingReplicas(lag=1000)
    answer = await roll(cluster, FollowingScheduler(cluster), replicas, wait_replication=False)
    assert answer["status"] == "restarted" and replicas.checks == {}


async def test_a_broker_never_back_in_sync_stops_the_restart_and_says_where(cluster: ClusterState) -> None:
    answer = await roll(cluster, FollowingScheduler(cluster), LaggingReplicas(lag=1000), wait_s=0.5)
    assert answer["status"] == "timeout" and answer["step"] == "replication"
    assert answer["message"].startswith("broker 0 timeout on replication (not in the ISR of t:0")
    assert answer["current"] == ["0"] and answer["remaining"] == ["1", "2", "3", "4"]
    assert "not restarted: 1..4" in answer["progress"]
    assert all(b.active for b in cluster.snapshot().values()), "nothing else was touched"


class StopsOnly(FollowingScheduler):
    """Ends the tasks of stopped brokers but never starts one (no offer fits any more)."""

    async def _converge(self) -> None:
        assert self.cluster is not None
        await asyncio.sleep(0.01)
        await self.cluster.transact(
            lambda bs: {b.id: replace(b, task=None) for b in bs.values() if not b.active and b.task})


async def test_a_broker_that_does_not_come_back_stops_the_restart(cluster: ClusterState) -> None:
    answer = await roll(cluster, StopsOnly(cluster), wait_s=0.5)
    assert answer["status"] == "timeout" and answer["step"] == "start" and answer["current"] == ["0"]
    assert answer["message"] == "broker 0 timeout on start"
    assert [i for i, b in cluster.snapshot().items() if b.task is None] == [0], "the others untouched"


class FakeTopics:
    async def topic_names(self) -> list[str]:
        return ["a", "b"]

    async def read_topics(self, names: Any) -> dict[str, Topic]:
        return {
            "a": Topic("a", {0: [1, 2], 1: [2, 3]},
                       states={0: PartitionState(1, (1,)), 1: PartitionState(2, (2, 3))}),
            "b": Topic("b", {0: [2, 1]}, states={}),
        }


async def test_topic_replicas_reads_the_isr_of_partition_states() -> None:
    replicas = TopicReplicas(FakeTopics())  # type: ignore[arg-type]
    assert await replicas.lagging_partitions(2) == ["a:0", "b:0"]
    assert await replicas.lagging_partitions(3) == []
    assert await replicas.lagging_partitions(1) == ["b:0"]


class Reconciling(FollowingScheduler):
    def status(self) -> Mapping[str, Any]:
        return {"connected": True, "reconciling": 3}


async def test_update_marks_needs_restart_and_update_restart_rolls(cluster: ClusterState) -> None:
    control = Reconciling(cluster)
    async with TestClient(TestServer(build_app(cluster, control), host="127.0.0.1")) as client:
        response = await client.post("/api/broker/update", data={"broker": "0", "heap": "512"})
        broker = (await response.json())["brokers"][0]
        assert broker["needsRestart"] is True and "needs restart" in broker["state"]

        listed = await (await client.post("/api/broker/list", data={})).json()
        assert listed["reconciling"] == 3, "broker list shows the reconciliation in progress"

        before = cluster.snapshot()[1].task
        response = await client.post("/api/broker/update",
                                     data={"broker": "1", "heap": "256", "restart": "", "timeout": "30s"})
        answer = await response.json()
        assert answer["status"] == "restarted" and answer["restarted"] == ["1"], answer
        after = cluster.snapshot()[1].task
        assert after is not None and after is not before and after.running
        assert cluster.snapshot()[1].heap == 256
        await control.drain()
