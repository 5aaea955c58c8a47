"""API authentication in the application: every route but /health and the artifacts refuses a request
without the right credentials (401, JSON body, a challenge), and accepts it with them."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from kafka_mesos.api.app import build_app
from kafka_mesos.api.auth import (
    ApiAuth,
    AuthConfigError,
    api_auth_from,
    basic_auth,
    bearer_auth,
    read_token_file,
)
from tests.api.support import FollowingScheduler, open_cluster

PASSWORD = "s3cr3t-p4ss"
TOKEN = "tok-0123456789abcdef"
BASIC = "Basic " + base64.b64encode(f"admin:{PASSWORD}".encode()).decode()


async def _client(tmp_path: Path, auth: ApiAuth) -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    cluster = await open_cluster(tmp_path / "kafka-mesos.json")
    control = FollowingScheduler(cluster)
    artifact = tmp_path / "kafka-mesos-executor.pyz"
    artifact.write_bytes(b"PK")
    app = build_app(cluster, control, files={artifact.name: artifact}, auth=auth)
    try:
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            yield client
            await control.drain()
    finally:
        await cluster.close()


@pytest.fixture
async def basic_client(tmp_path: Path) -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    async for client in _client(tmp_path, basic_auth(f"admin:{PASSWORD}")):
        yield client


@pytest.fixture
async def bearer_client(tmp_path: Path) -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    async for client in _client(tmp_path, bearer_auth(TOKEN)):
        yield client


async def _protected_paths(client: TestClient) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    response = await client.get("/api/openapi.json", headers={"Authorization": BASIC})
    assert response.status == 200
    document: dict[str, Any] = await response.json()
    found = []
    for path, operations in document["paths"].items():
        if path == "/health" or path.startswith("/files/"):
            continue
        for method in operations:
            found.append((method.upper(), path))
    assert len(found) > 20, "the route table is larger than this: openapi.json incomplete?"
    return found


async def test_every_route_but_health_refuses_without_credentials(
    basic_client: TestClient,  # type: ignore[type-arg]
) -> None:
    for method, path in await _protected_paths(basic_client):
        for headers in ({}, {"Authorization": "Basic " + base64.b64encode(b"admin:wrong").decode()},
                        {"Authorization": f"Bearer {PASSWORD}"}, {"Authorization": "garbage"}):
            response = await basic_client.request(method, path, headers=headers)
            assert response.status == 401, (method, path, headers)
            body = await response.json()
            assert body == {"code": 401, "error": "authentication required", "field": None}
            assert response.headers["WWW-Authenticate"].startswith("Basic ")
            assert PASSWORD not in await response.text()


async def test_health_and_artifacts_need_no_credentials(
    basic_client: TestClient,  # type: ignore[type-arg]
) -> None:
    assert (await basic_client.get("/health")).status == 200
    download = await basic_client.get("/files/kafka-mesos-executor.pyz")
    assert download.status == 200 and await download.read() == b"PK"


async def test_with_basic_credentials_the_api_answers(
    basic_client: TestClient,  # type: ignore[type-arg]
) -> None:
    headers = {"Authorization": BASIC}
    added = await basic_client.post("/api/broker/add", data={"broker": "0"}, headers=headers)
    assert added.status == 200, await added.text()
    listed = await basic_client.get("/api/broker/list", headers=headers)
    assert [b["id"] for b in (await listed.json())["brokers"]] == ["0"]
    refused = await basic_client.post("/api/broker/remove", data={"broker": "0"})
    assert refused.status == 401
    listed = await basic_client.get("/api/broker/list", headers=headers)
    assert len((await listed.json())["brokers"]) == 1, "a refused request changed nothing"


async def test_bearer_token(bearer_client: TestClient) -> None:  # type: ignore[type-arg]
    assert (await bearer_client.get("/api/broker/list")).status == 401
    assert (await bearer_client.get("/api/broker/list", headers={"Authorization": BASIC})).status == 401
    ok = await bearer_client.get("/api/broker/list", headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status == 200
    refused = await bearer_client.get("/api/broker/list", headers={"Authorization": f"Bearer {TOKEN}x"})
    assert refused.headers["WWW-Authenticate"].startswith("Bearer ")


def test_configuration_errors_do_not_show_the_credentials(tmp_path: Path) -> None:
    with pytest.raises(AuthConfigError) as caught:
        basic_auth("no-colon-" + PASSWORD)
    assert PASSWORD not in str(caught.value)
    with pytest.raises(AuthConfigError) as caught:
        bearer_auth(f"two words{PASSWORD}")
    assert PASSWORD not in str(caught.value)
    with pytest.raises(AuthConfigError, match="either"):
        api_auth_from(f"a:{PASSWORD}", str(tmp_path / "token"))
    with pytest.raises(AuthConfigError, match="cannot read"):
        read_token_file(tmp_path / "missing")
    (tmp_path / "token").write_text(TOKEN + "\n")
    auth = api_auth_from(None, str(tmp_path / "token"))
    assert auth is not None and auth.authorization() == f"Bearer {TOKEN}"
    assert TOKEN not in repr(auth) and PASSWORD not in repr(basic_auth(f"a:{PASSWORD}"))
    assert api_auth_from(None, None) is None
