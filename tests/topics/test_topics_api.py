"""The topic routes over HTTP against a real ZooKeeper and stand-in brokers whose controller applies
reassignments (no Mesos here; tests/topics/test_e2e.py runs the whole scheduler)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from kazoo.client import KazooClient

from kafka_mesos.api.app import build_app
from kafka_mesos.api.control import IdleControl
from kafka_mesos.core.assignment import assign_replicas
from kafka_mesos.kafka.topics import ZkTopicBackend, encode_topic_assignment
from kafka_mesos.state.zkbridge import ZkBridge
from tests.api.support import open_cluster
from tests.conftest import ZkChroot  # type: ignore[attr-defined]
from tests.support.ports import wait_until_async
from tests.topics.standin_cluster import StandinCluster, standin_cluster, wait_registered

pytestmark = pytest.mark.integration


@dataclass
class TopicApi:
    client: TestClient  # type: ignore[type-arg]
    zk: KazooClient
    brokers: StandinCluster

    async def post(self, path: str, **params: Any) -> tuple[int, dict[str, Any]]:
        body = "&".join(k if v is True else f"{k}={v}" for k, v in params.items())
        response = await self.client.post(
            path, data=body.encode(), headers={"Content-Type": "application/x-www-form-urlencoded"})
        return response.status, await response.json()

    async def ok(self, path: str, **params: Any) -> dict[str, Any]:
        status, body = await self.post(path, **params)
        assert status == 200, body
        return body

    def assignment(self, topic: str) -> dict[int, list[int]]:
        import json
        data, _ = self.zk.get(f"/brokers/topics/{topic}")
        return {int(p): r for p, r in json.loads(data)["partitions"].items()}

    async def start_brokers(self, ids: range, rack: str | None = None) -> None:
        for broker_id in ids:
            self.brokers.start(broker_id, rack)
        await wait_registered(self.zk, set(ids))


@pytest.fixture
async def api(tmp_path: Path, zk_chroot: ZkChroot, zk: KazooClient) -> AsyncIterator[TopicApi]:
    bridge = ZkBridge(zk_chroot.server.connect_string)
    await bridge.start(30.0)
    cluster = await open_cluster(tmp_path / "kafka-mesos.json")
    app = build_app(cluster, IdleControl(), topics=ZkTopicBackend(bridge, zk_chroot.path))
    try:
        with standin_cluster(tmp_path, zk_chroot.connect_string, pace_ms=150) as brokers:
            async with TestClient(TestServer(app, host="127.0.0.1")) as client:
                yield TopicApi(client, zk, brokers)
    finally:
        await cluster.close()
        await bridge.stop()


def per_broker(assignment: dict[int, list[int]]) -> Counter[int]:
    return Counter(b for replicas in assignment.values() for b in replicas)


async def test_add_update_rebalance_raise_rf_and_409(api: TopicApi) -> None:
    await api.start_brokers(range(3))
    added = await api.ok("/api/topic/add", topic="t1", partitions=12, replicas=2,
                         options="retention.ms=1000", fixedStartIndex=0)
    expected = assign_replicas([0, 1, 2], 12, 2, start_index=0, shift=0)
    assert added["topics"][0]["partitions"] == {str(p): r for p, r in expected.items()}
    assert api.zk.get("/brokers/topics/t1")[0] == encode_topic_assignment(expected)
    assert api.zk.get("/config/topics/t1")[0] == b'{"version":1,"config":{"retention.ms":"1000"}}'

    async def all_in_sync() -> bool:
        topic = (await api.ok("/api/topic/list", topic="t1"))["topics"][0]
        return bool(topic["underReplicated"] == [] and topic["replicationFactor"] == 2)

    await wait_until_async(all_in_sync, timeout=30, interval=0.1, message="controller wrote partition states")

    await api.ok("/api/topic/update", topic="t1", options="cleanup.policy=compact")
    assert api.zk.get("/config/topics/t1")[0] == b'{"version":1,"config":{"cleanup.policy":"compact"}}'
    changes = api.zk.get_children("/config/changes")
    assert [c for c in changes if c.startswith("config_change_")], changes
    assert api.zk.get(f"/config/changes/{sorted(changes)[-1]}")[0] == (
        b'{"version":2,"entity_path":"topics/t1"}')

    await api.start_brokers(range(3, 6))
    plan = await api.ok("/api/topic/rebalance", topic="t1", broker="0..5", dryRun=True)
    assert plan["status"] == "planned"
    assert sum(m["in"] for m in plan["moves"].values()) == 12
    assert api.zk.exists("/admin/reassign_partitions") is None
    assert api.assignment("t1") == expected

    done = await api.ok("/api/topic/rebalance", topic="t1", broker="0..5", timeout="60s")
    assert done["status"] == "completed", done
    assert done["progress"]["done"] == done["progress"]["total"] > 0
    spread = per_broker(api.assignment("t1"))
    assert set(spread) == set(range(6)) and max(spread.values()) <= math.ceil(24 / 6)
    assert api.zk.exists("/admin/reassign_partitions") is None

    started = await api.ok("/api/topic/rebalance", topic="t1", replicas=3)
    assert started["status"] == "started"
    status, body = await api.post("/api/topic/rebalance", topic="t1", broker="0..5")
    assert status == 409 and "in progress" in body["error"], body
    status, body = await api.post("/api/brokers/rebalance", id="0..5", topics="t1")
    assert status == 409, body
    running = await api.ok("/api/topic/rebalance")
    assert running["status"] == "running" and running["progress"]["total"] == 12

    async def finished() -> dict[str, Any] | None:
        state = await api.ok("/api/topic/rebalance", topic="status")
        return state if state["status"] == "idle" else None

    final = await wait_until_async(finished, timeout=60, interval=0.1, message="reassignment done")
    assert final["progress"]["done"] == 12 and "- done" in final["state"]
    raised = api.assignment("t1")
    assert all(len(r) == 3 and len(set(r)) == 3 for r in raised.values())
    assert max(per_broker(raised).values()) <= math.ceil(36 / 6)


async def test_bad_inputs_are_400_naming_the_field(api: TopicApi) -> None:
    await api.start_brokers(range(2))
    await api.ok("/api/topic/add", topic="t1", partitions=2, replicas=2)
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("/api/topic/rebalance", {"topic": "nope"}, "topic"),
        ("/api/topic/update", {"topic": "nope", "options": "a=1"}, "topic"),
        ("/api/topic/update", {"topic": "t1"}, "options"),
        ("/api/topic/add", {"topic": "t2", "replicas": 3}, "replicas"),
        ("/api/topic/add", {"topic": "t1"}, "topic"),
        ("/api/topic/add", {"topic": "bad/name"}, "topic"),
        ("/api/topic/add", {"topic": "t3", "partitions": 0}, "partitions"),
        ("/api/topic/rebalance", {"topic": "t1", "replicas": 3}, "replicas"),
        ("/api/topic/rebalance", {"topic": "t1", "broker": "7..9"}, "broker"),
        ("/api/topic/rebalance", {"topic": "t1", "broker": "*[rack=none]"}, "broker"),
        ("/api/topic/rebalance", {"topic": "t1", "broker": "x"}, "broker"),
        ("/api/topic/realign", {"topic": "t1", "startPartitionId": 1}, "startPartitionId"),
        ("/api/brokers/rebalance", {"id": "0,1", "topics": "t1:5"}, "replicas"),
    ]
    for path, params, field in cases:
        status, body = await api.post(path, **params)
        assert status == 400 and body["field"] == field, (path, params, body)
    assert api.zk.exists("/admin/reassign_partitions") is None
    assert sorted(api.zk.get_children("/brokers/topics")) == ["t1"]


async def test_realign_moves_only_partitions_outside_the_brokers(api: TopicApi) -> None:
    await api.start_brokers(range(3))
    await api.ok("/api/topic/add", topic="r1", partitions=6, replicas=1, fixedStartIndex=0)
    before = api.assignment("r1")
    answer = await api.ok("/api/topic/realign", topic="r1", broker="0,1", timeout="60s")
    assert answer["status"] == "completed", answer
    after = api.assignment("r1")
    assert all(r[0] in (0, 1) for r in after.values())
    assert {p for p in before if before[p] != after[p]} == {p for p in before if before[p] == [2]}
    again = await api.ok("/api/topic/realign", topic="r1", broker="0,1")
    assert again["status"] == "idle (no-op)"


async def test_g1_routes(api: TopicApi) -> None:
    await api.start_brokers(range(2))
    added = await api.ok("/api/topics/add", name="g1", partitions=2, replicas=1)
    assert added["topic"]["name"] == "g1"
    listed = await api.ok("/api/topics/list", name="g*")
    assert [t["name"] for t in listed["topics"]] == ["g1"]
    moved = await api.ok("/api/brokers/rebalance", id="0,1", topics="g1:2", timeout="60s")
    assert moved["status"] == "completed", moved
    assert all(len(r) == 2 for r in api.assignment("g1").values())


async def test_without_zookeeper_topic_routes_say_why(tmp_path: Path) -> None:
    cluster = await open_cluster(tmp_path / "kafka-mesos.json")
    try:
        async with TestClient(TestServer(build_app(cluster, IdleControl()), host="127.0.0.1")) as client:
            for path in ("/api/topic/list", "/api/brokers/rebalance"):
                response = await client.post(path)
                assert response.status == 501
                assert "--zk" in (await response.json())["error"]
    finally:
        await cluster.close()


async def test_partitions_and_delete(api: TopicApi) -> None:
    await api.start_brokers(range(2))
    await api.ok("/api/topic/add", topic="d1", partitions=2, replicas=2, fixedStartIndex=0)

    async def states_written() -> dict[str, Any] | None:
        rows = (await api.ok("/api/partition/list", topic="d1"))["d1"]
        return rows if all(r["leader"] >= 0 for r in rows) else None

    rows = await wait_until_async(states_written, timeout=30, interval=0.1, message="partition states")
    assert rows == [{"id": 0, "replicas": [0, 1], "isr": [0, 1], "leader": 0, "expectedLeader": 0},
                    {"id": 1, "replicas": [1, 0], "isr": [1, 0], "leader": 1, "expectedLeader": 1}]
    deleted = await api.ok("/api/topic/delete", topic="d1")
    assert [t["name"] for t in deleted["topics"]] == ["d1"]

    def gone() -> bool:
        marked = api.zk.exists("/admin/delete_topics/d1")
        return api.zk.exists("/brokers/topics/d1") is None and marked is None

    await wait_until_async(gone, timeout=30, interval=0.1, message="controller deleted d1")
    assert api.zk.exists("/config/topics/d1") is None
    status, body = await api.post("/api/topic/delete", topic="d1")
    assert status == 400 and body["field"] == "topic"
