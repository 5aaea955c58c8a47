"""The topic API over an in-memory backend: placement, status words, timeout, errors, foreign changes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from kafka_mesos.api.app import build_app
from kafka_mesos.api.control import IdleControl
from tests.api.support import open_cluster
from tests.topics.memory_backend import MemoryTopics

RACKS = {0: "r1", 1: "r1", 2: "r2", 3: "r2", 4: "r3", 5: "r3"}


class Client:
    def __init__(self, client: TestClient, backend: MemoryTopics) -> None:  # type: ignore[type-arg]
        self.client = client
        self.backend = backend

    async def post(self, path: str, **params: Any) -> tuple[int, dict[str, Any]]:
        response = await self.client.post(path, data={k: str(v) for k, v in params.items()})
        return response.status, await response.json()

    async def ok(self, path: str, **params: Any) -> dict[str, Any]:
        status, body = await self.post(path, **params)
        assert status == 200, body
        return body


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Client]:
    backend = MemoryTopics(RACKS)
    cluster = await open_cluster(tmp_path / "kafka-mesos.json")
    try:
        app = build_app(cluster, IdleControl(), topics=backend)
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            yield Client(client, backend)
    finally:
        await cluster.close()


async def test_add_is_rack_aware_when_brokers_have_racks(api: Client) -> None:
    added = await api.ok("/api/topic/add", topic="t1,t2", partitions=6, replicas=3)
    assert [t["name"] for t in added["topics"]] == ["t1", "t2"]
    for topic in api.backend.topics.values():
        for replicas in topic.partitions.values():
            assert len({RACKS[b] for b in replicas}) == 3
        assert sorted(r[0] for r in topic.partitions.values()) == [0, 1, 2, 3, 4, 5]


async def test_options_and_update(api: Client) -> None:
    await api.ok("/api/topic/add", topic="t1", options="retention.ms=1000,cleanup.policy=compact")
    assert api.backend.topics["t1"].config == {"retention.ms": "1000", "cleanup.policy": "compact"}
    updated = await api.ok("/api/topic/update", topic="t*", options="flush.ms=1")
    assert updated["topics"][0]["options"] == {"flush.ms": "1"}
    assert api.backend.topics["t1"].config == {"flush.ms": "1"}
    assert api.backend.config_changes == ["topics/t1"]
    status, body = await api.post("/api/topic/update", topic="t1", options="novalue")
    assert status == 400 and body["field"] == "options"


async def test_no_op_rebalance_writes_nothing(api: Client) -> None:
    await api.ok("/api/topic/add", topic="t1", partitions=6, replicas=2, broker="0..5")
    answer = await api.ok("/api/topic/rebalance", topic="t1", broker="0..5")
    assert answer["status"] == "idle (no-op)"
    assert api.backend.pending is None


async def test_timeout_when_the_controller_does_not_progress(api: Client) -> None:
    await api.ok("/api/topic/add", topic="t1", partitions=4, replicas=1, broker="0")
    api.backend.steps_per_read = 0
    answer = await api.ok("/api/topic/rebalance", topic="t1", broker="0..3", timeout="300ms")
    assert answer["status"] == "timeout"
    assert answer["progress"]["running"] == answer["progress"]["total"] == 3
    assert "- running" in answer["state"]


async def test_partitions_not_on_their_target_are_errors(api: Client) -> None:
    await api.ok("/api/topic/add", topic="t1", partitions=4, replicas=1, broker="0")
    api.backend.misplace = True
    answer = await api.ok("/api/topic/rebalance", topic="t1", broker="0..3", timeout="10s")
    assert answer["status"] == "failed"
    assert answer["progress"]["error"] > 0 and "- error" in answer["state"]


async def test_status_of_a_reassignment_someone_else_started(api: Client) -> None:
    await api.ok("/api/topic/add", topic="t1", partitions=2, replicas=1, broker="0")
    api.backend.steps_per_read = 0
    api.backend.pending = {("t1", 0): [5], ("t1", 1): [4]}
    status = await api.ok("/api/topic/rebalance")
    assert status["status"] == "running"
    assert status["state"] == "t1\n  0: 0 -> 5 - running\n  1: 0 -> 4 - running"
    code, body = await api.post("/api/topic/realign", topic="t1", broker="1")
    assert code == 409 and "2 partitions of t1" in body["error"]
    dry = await api.ok("/api/topic/rebalance", topic="t1", broker="1", dryRun="true")
    assert dry["status"] == "planned"  # planning is allowed while one runs; writing is not


async def test_g1_rebalance_replication_factors_per_topic(api: Client) -> None:
    await api.ok("/api/topic/add", topic="a", partitions=3, replicas=1, broker="0")
    await api.ok("/api/topic/add", topic="b", partitions=3, replicas=1, broker="0")
    answer = await api.ok("/api/brokers/rebalance", id="0..5", topics="a:3,*:2,nope", timeout="10s")
    assert answer["status"] == "completed"
    assert {len(r) for r in api.backend.topics["a"].partitions.values()} == {3}
    assert {len(r) for r in api.backend.topics["b"].partitions.values()} == {2}


async def test_unregistered_and_unknown_brokers(api: Client) -> None:
    await api.ok("/api/topic/add", topic="t1")
    for broker in ("6", "0..9", "*[rack=r9]"):
        code, body = await api.post("/api/topic/rebalance", topic="t1", broker=broker)
        assert code == 400 and body["field"] == "broker", body
    code, body = await api.post("/api/topic/add", topic="t2", broker="7")
    assert code == 400 and body["field"] == "broker"


async def test_new_topics_start_at_partition_zero(api: Client) -> None:
    code, body = await api.post("/api/topic/add", topic="t1", startPartitionId=3)
    assert code == 400 and body["field"] == "startPartitionId"
    added = await api.ok("/api/topic/add", topic="t1", partitions=2, startPartitionId=0)
    assert list(added["topics"][0]["partitions"]) == ["0", "1"]


async def test_throttles_set_while_moving_and_taken_off_when_done(api: Client) -> None:
    await api.ok("/api/topic/add", topic="t1", partitions=2, replicas=1, broker="0", options="flush.ms=1")
    api.backend.broker_config[0] = {"log.cleaner.threads": "2"}
    api.backend.steps_per_read = 0
    await api.ok("/api/topic/rebalance", topic="t1", broker="0,1", throttle=1000)
    moving = next(iter(api.backend.pending or {}))[1]
    config = api.backend.topics["t1"].config
    assert config == {"flush.ms": "1", "leader.replication.throttled.replicas": f"{moving}:0",
                      "follower.replication.throttled.replicas": f"{moving}:1"}
    rates = {"leader.replication.throttled.rate": "1000", "follower.replication.throttled.rate": "1000"}
    assert api.backend.broker_config == {0: {"log.cleaner.threads": "2", **rates}, 1: rates}
    assert "topics/t1" in api.backend.config_changes and "brokers/1" in api.backend.config_changes
    assert (await api.ok("/api/topic/rebalance"))["status"] == "running"
    assert api.backend.broker_config[1] == rates  # still moving: throttles stay
    api.backend.steps_per_read = 5
    assert (await api.ok("/api/topic/rebalance"))["status"] == "idle"
    assert api.backend.topics["t1"].config == {"flush.ms": "1"}
    assert api.backend.broker_config == {0: {"log.cleaner.threads": "2"}, 1: {}}


async def test_throttles_come_off_without_anyone_asking(tmp_path: Path) -> None:
    from kafka_mesos.api.params import Params
    from kafka_mesos.api.topic_service import TopicService
    from tests.support.ports import wait_until_async

    backend = MemoryTopics({0: None, 1: None})
    cluster = await open_cluster(tmp_path / "state.json")
    service = TopicService(backend, cluster, throttle_check_interval=0.02)
    watcher = service.watch_throttles()
    try:
        await anext(watcher)
        await service.add(Params({"topic": "t1", "partitions": "2", "broker": "0"}))
        backend.steps_per_read = 0
        await service.rebalance(Params({"topic": "t1", "broker": "0,1", "throttle": "500"}))
        assert backend.broker_config[1]["follower.replication.throttled.rate"] == "500"
        backend.steps_per_read = 5  # the controller finishes; nobody asks for the status

        def off() -> bool:
            return all(not c for b, c in backend.broker_config.items())

        await wait_until_async(off, timeout=10, interval=0.02, message="throttles taken off")
        assert "leader.replication.throttled.replicas" not in backend.topics["t1"].config
    finally:
        with pytest.raises(StopAsyncIteration):
            await anext(watcher)
        await cluster.close()
