"""The API over ClusterState on the real ZooKeeper store: the seed's add survives a restart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from kafka_mesos.api.app import build_app
from kafka_mesos.state import ClusterState, open_store
from tests.api.support import FollowingScheduler, dump, ids_of


@asynccontextmanager
async def serving(zk: str) -> AsyncIterator[tuple[TestClient, ClusterState]]:  # type: ignore[type-arg]
    cluster = await ClusterState.open(open_store("zk:/kafka-mesos", zk))
    try:
        app = build_app(cluster, FollowingScheduler(cluster, follow=False))
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            yield client, cluster
    finally:
        await cluster.close()


async def test_seed_add_on_zookeeper_survives_a_scheduler_restart(zk_chroot: Any) -> None:
    seed = {"broker": "1000..1019", "cpus": "0.01", "heap": "128", "mem": "256",
            "options": "num.io.threads=1"}
    async with serving(zk_chroot.connect_string) as (client, _):
        response = await client.post("/api/broker/add", data=seed)
        assert response.status == 200
        assert ids_of(await response.json()) == [str(i) for i in range(1000, 1020)]
    async with serving(zk_chroot.connect_string) as (client, cluster):
        response = await client.get("/api/broker/list")
        answer = await response.json()
        assert ids_of(answer) == [str(i) for i in range(1000, 1020)]
        assert {b["options"] for b in answer["brokers"]} == {"num.io.threads=1"}
        before = dump(cluster)
        response = await client.post("/api/broker/add", data={"broker": "1019..1020"})
        assert response.status == 400 and (await response.json())["field"] == "broker"
        assert dump(cluster) == before
        health = await client.get("/health")
        assert health.status == 200
    async with serving(zk_chroot.connect_string) as (_, cluster):
        assert sorted(cluster.snapshot()) == list(range(1000, 1020))  # the refused add left nothing behind
