"""The standby API without ZooKeeper: which requests it serves, which it redirects, and the client's side."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from kafka_mesos.api.app import build_app
from kafka_mesos.api.control import IdleControl
from kafka_mesos.api.standby import LEADER_HEADER, served_locally, standby_middleware
from kafka_mesos.apiclient import ApiClient
from kafka_mesos.apiclient.client import ApiClientError, ApiUnreachable
from kafka_mesos.state import ClusterState, FileStore

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class Directory:
    def __init__(self, leader: str | None, is_leader: bool = False) -> None:
        self.leader_url = leader
        self.is_leader = is_leader

    async def leader(self) -> str | None:
        return self.leader_url


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[ClusterState]:
    state = await ClusterState.open(FileStore(str(tmp_path / "state.json")))
    try:
        yield state
    finally:
        await state.close()


async def serve(
    cluster: ClusterState, directory: Directory, own_url: str = "http://me:1"
) -> TestClient:  # type: ignore[type-arg]
    app = build_app(cluster, IdleControl())
    app.middlewares.append(standby_middleware(directory, own_url))
    client: TestClient = TestClient(TestServer(app, host="127.0.0.1"))  # type: ignore[type-arg]
    await client.start_server()
    return client


def test_reads_are_local_writes_are_not() -> None:
    for path in ("/health", "/api/broker/list", "/api/brokers/status", "/api/topic/list", "/files/x.tgz",
                 "/jar/x", "/api/openapi.json", "/quitquitquit"):
        assert served_locally(path), path
    for path in ("/api/broker/add", "/api/broker/start", "/api/broker/log", "/api/brokers/rebalance",
                 "/api/topic/add", "/api/broker/list/../add"):
        assert not served_locally(path), path


async def test_standby_redirects_writes_with_307(cluster: ClusterState) -> None:
    client = await serve(cluster, Directory("http://leader:7000"))
    try:
        response = await client.post("/api/broker/add?x=1", data=b"broker=0", headers=FORM,
                                     allow_redirects=False)
        assert response.status == 307
        assert response.headers["Location"] == "http://leader:7000/api/broker/add?x=1"
        assert response.headers[LEADER_HEADER] == "http://leader:7000"
        body = await response.json()
        assert body["code"] == 307 and body["leader"] == "http://leader:7000" and "standby" in body["error"]
        assert cluster.snapshot() == {}, "nothing was added here"

        response = await client.post("/api/broker/list", data=b"broker=*", headers=FORM)
        assert response.status == 200 and (await response.json())["brokers"] == []
    finally:
        await client.close()


@pytest.mark.parametrize("leader", [None, "http://me:1"])
async def test_no_leader_is_503(cluster: ClusterState, leader: str | None) -> None:
    client = await serve(cluster, Directory(leader))
    try:
        response = await client.post("/api/broker/add", data=b"broker=0", headers=FORM, allow_redirects=False)
        assert response.status == 503
        body = await response.json()
        assert body["code"] == 503 and "no leading scheduler" in body["error"] and body["field"] is None
    finally:
        await client.close()


async def test_the_leader_serves_writes_itself(cluster: ClusterState) -> None:
    client = await serve(cluster, Directory("http://me:1", is_leader=True))
    try:
        response = await client.post("/api/broker/add", data=b"broker=0", headers=FORM)
        assert response.status == 200 and list(cluster.snapshot()) == [0]
    finally:
        await client.close()


async def test_client_follows_a_307_with_the_same_body_and_stops_after_a_few_hops() -> None:
    seen: list[tuple[str, bytes]] = []
    target: dict[str, str] = {}

    async def leader(request: web.Request) -> web.Response:
        seen.append((request.path, await request.read()))
        return web.json_response({"brokers": [{"id": "7"}]})

    async def standby(request: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect(target["leader"] + request.path)

    async def looping(request: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect(request.path)

    leader_app, standby_app, loop_app = web.Application(), web.Application(), web.Application()
    leader_app.router.add_post("/api/broker/add", leader)
    standby_app.router.add_post("/api/broker/add", standby)
    loop_app.router.add_post("/api/broker/add", looping)
    servers = [TestServer(app, host="127.0.0.1") for app in (leader_app, standby_app, loop_app)]
    for server in servers:
        await server.start_server()
    try:
        target["leader"] = str(servers[0].make_url("")).rstrip("/")
        standby_url = str(servers[1].make_url("")).rstrip("/")
        answer = await asyncio.to_thread(ApiClient(standby_url).broker_add, "7", cpus="0.5")
        assert answer == {"brokers": [{"id": "7"}]}
        assert seen == [("/api/broker/add", b"broker=7&cpus=0.5")]
        loop_url = str(servers[2].make_url("")).rstrip("/")
        with pytest.raises(ApiClientError) as error:
            await asyncio.to_thread(ApiClient(loop_url).broker_add, "7")
        assert error.value.status == 307
    finally:
        for server in servers:
            await server.close()


async def test_client_names_the_leader_it_cannot_reach() -> None:
    async def standby(request: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect("http://127.0.0.1:9/api/broker/add")  # discard port: nothing there

    app = web.Application()
    app.router.add_post("/api/broker/add", standby)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        url = str(server.make_url("")).rstrip("/")
        with pytest.raises(ApiUnreachable, match=r"is a standby; cannot reach the leader it names, "
                                                 r"http://127\.0\.0\.1:9"):
            await asyncio.to_thread(ApiClient(url).broker_add, "7")
    finally:
        await server.close()
