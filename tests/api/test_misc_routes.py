"""Health, OpenAPI, served files, topic stubs, unknown URLs."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from kafka_mesos.api.app import build_app
from kafka_mesos.state import ConflictError, StoreUnavailable
from tests.api.conftest import Api
from tests.api.support import FollowingScheduler, open_cluster


async def test_health_reports_store_and_scheduler(api: Api) -> None:
    status, answer = await api.get("/health")
    assert status == 200
    assert answer == {"status": "ok", "store": "ok", "scheduler": {"connected": True, "reconciling": 0}}


async def test_health_is_503_when_the_store_is_unreachable(tmp_path: Path) -> None:
    (tmp_path / "state").mkdir()
    cluster = await open_cluster(tmp_path / "state" / "kafka-mesos.json")
    (tmp_path / "state").rename(tmp_path / "elsewhere")  # the store's directory is gone
    try:
        app = build_app(cluster, FollowingScheduler())
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            response = await client.get("/health")
            answer = await response.json()
    finally:
        (tmp_path / "elsewhere").rename(tmp_path / "state")
        await cluster.close()
    assert response.status == 503 and answer["store"] == "unreachable"


async def test_openapi_describes_every_route_and_parameter(api: Api) -> None:
    status, document = await api.get("/api/openapi.json")
    assert status == 200 and document["openapi"].startswith("3.")
    paths = document["paths"]
    for op in ("list", "add", "update", "remove", "start", "stop", "restart", "log", "clone"):
        assert f"/api/broker/{op}" in paths
    for op in ("status", "add", "update", "remove", "start", "stop", "rebalance"):
        assert f"/api/brokers/{op}" in paths
    for op in ("list", "add", "update", "rebalance", "realign"):
        assert f"/api/topic/{op}" in paths
    assert {"/health", "/api/openapi.json", "/files/{name}"} <= set(paths)
    add = {p["name"]: p for p in paths["/api/broker/add"]["post"]["parameters"]}
    assert {"broker", "cpus", "mem", "heap", "port", "options", "failoverMaxTries"} <= set(add)
    assert add["broker"]["required"] is True and add["mem"]["schema"]["default"] == "2048"
    stop = {p["name"] for p in paths["/api/broker/stop"]["get"]["parameters"]}
    assert stop == {"broker", "timeout", "force"}


async def test_openapi_parameters_are_exactly_what_the_routes_accept(api: Api) -> None:
    """A parameter the document lists is accepted (no 'unknown parameter'), any other is refused."""
    _, document = await api.get("/api/openapi.json")
    for path, item in document["paths"].items():
        if not path.startswith("/api/broker"):
            continue
        names = {p["name"] for p in item["post"]["parameters"]}
        _status, answer = await api.post(path, **dict.fromkeys(names, ""), surely_unknown="1")
        assert answer.get("field") == "surely_unknown", (path, answer)


async def test_files_are_served_for_executors(api: Api, served_files: dict[str, Path]) -> None:
    for prefix in ("files", "jar", "kafka"):
        response = await api.client.get(f"/{prefix}/kafka_2.13-3.7.0.tgz")
        assert response.status == 200 and await response.read() == b"\x1f\x8b-kafka-bytes"
    response = await api.client.get("/files/kafka-mesos-executor.pyz")
    assert await response.read() == b"PK-executor-bytes"
    response = await api.client.get("/files/other.tgz")
    assert response.status == 404 and "other.tgz" in (await response.json())["error"]


@pytest.mark.parametrize("path", ["/api/topic/list", "/api/topic/add", "/api/topic/update",
                                  "/api/topic/rebalance", "/api/topic/realign", "/api/topics/list",
                                  "/api/topics/add", "/api/topics/update"])
async def test_topic_routes_without_a_topic_backend_answer_501_with_the_reason(api: Api, path: str) -> None:
    status, answer = await api.post(path)
    assert status == 501 and answer["code"] == 501 and "start the scheduler with --zk" in answer["error"]


async def test_unknown_route_is_a_json_404(api: Api) -> None:
    status, answer = await api.get("/api/broker/explode")
    assert status == 404 and answer["error"] == "uri not found: /api/broker/explode"
    response = await api.client.delete("/api/broker/list")
    assert response.status == 405 and (await response.json())["code"] == 405


async def test_store_failures_become_503_and_409(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    async def unavailable(writes: object) -> object:
        raise StoreUnavailable("ZooKeeper is not reachable")

    monkeypatch.setattr(api.cluster.store, "put_brokers", unavailable)
    status, answer = await api.post("/api/broker/add", broker="0")
    assert (status, answer["code"]) == (503, 503) and "ZooKeeper is not reachable" in answer["error"]

    async def conflict(writes: object) -> object:
        raise ConflictError("broker 0 was changed by someone else")

    monkeypatch.setattr(api.cluster.store, "put_brokers", conflict)
    status, answer = await api.post("/api/broker/add", broker="0")
    assert status == 409 and "someone else" in answer["error"]
    assert dict(api.brokers) == {}


async def test_an_unknown_write_outcome_is_504_not_503(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """503 promises nothing was changed; when the store went away mid-write the client must check first."""

    async def went_away(writes: object) -> object:
        raise StoreUnavailable("ZooKeeper connection lost during a write", outcome_unknown=True)

    monkeypatch.setattr(api.cluster.store, "put_brokers", went_away)
    status, answer = await api.post("/api/broker/add", broker="0")
    assert (status, answer["code"]) == (504, 504)
    assert "outcome unknown" in answer["error"] and "connection lost" in answer["error"]


async def test_error_message_is_also_the_reason_phrase_for_old_clients(api: Api) -> None:
    response = await api.client.post("/api/broker/update", data={"broker": "7", "cpus": "1"})
    assert (response.status, response.reason) == (400, "broker 7 not found")


async def test_loglevel_changes_a_loggers_level(api: Api) -> None:
    logger = logging.getLogger("kafka_mesos.scheduler")
    before = logger.level
    try:
        status, answer = await api.post("/loglevel", logger="scheduler", level="debug")
        assert (status, answer) == (200, {"logger": "kafka_mesos.scheduler", "level": "DEBUG"})
        assert logger.level == logging.DEBUG
        status, answer = await api.post("/loglevel", logger="scheduler", level="loud")
        assert status == 400 and answer["field"] == "level"
    finally:
        logger.setLevel(before)


async def test_health_survives_a_failing_scheduler_status(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> dict[str, object]:
        raise KeyError("reconciling")

    monkeypatch.setattr(api.control, "status", broken)
    status, answer = await api.get("/health")
    assert status == 200 and answer["scheduler"] == {"error": "KeyError: 'reconciling'"}


async def test_quitquitquit_calls_the_runtimes_stop(tmp_path: Path) -> None:
    cluster = await open_cluster(tmp_path / "s.json")
    quits: list[bool] = []
    try:
        app = build_app(cluster, FollowingScheduler(), on_quit=lambda: quits.append(True))
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            assert (await client.get("/quitquitquit")).status == 405
            response = await client.post("/quitquitquit")
            assert (response.status, await response.json(), quits) == (200, {"status": "stopping"}, [True])
    finally:
        await cluster.close()


async def test_quitquitquit_without_a_runtime_is_501(api: Api) -> None:
    status, answer = await api.post("/quitquitquit")
    assert status == 501 and answer["code"] == 501
