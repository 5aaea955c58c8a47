from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from kafka_mesos.api.app import build_app
from kafka_mesos.core.model import Broker
from kafka_mesos.state import ClusterState
from tests.api.support import FollowingScheduler, open_cluster


@dataclass
class Api:
    client: TestClient  # type: ignore[type-arg]
    cluster: ClusterState
    control: FollowingScheduler
    state_file: Path

    @property
    def brokers(self) -> Mapping[int, Broker]:
        return self.cluster.snapshot()

    async def post(self, path: str, **params: Any) -> tuple[int, dict[str, Any]]:
        """A form POST, as mesos/kafka's CLI sends it (True → bare flag)."""
        body = "&".join(k if v is True else f"{k}={v}" for k, v in params.items())
        response = await self.client.post(
            path, data=body.encode(), headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        return response.status, await response.json()

    async def get(self, path: str, **params: Any) -> tuple[int, dict[str, Any]]:
        response = await self.client.get(path, params={k: str(v) for k, v in params.items()})
        return response.status, await response.json()

    async def post_json(self, path: str, body: Any) -> tuple[int, dict[str, Any]]:
        response = await self.client.post(path, json=body)
        return response.status, await response.json()


@pytest.fixture
def served_files(tmp_path: Path) -> dict[str, Path]:
    executor = tmp_path / "kafka-mesos-executor.pyz"
    executor.write_bytes(b"PK-executor-bytes")
    dist = tmp_path / "kafka_2.13-3.7.0.tgz"
    dist.write_bytes(b"\x1f\x8b-kafka-bytes")
    return {executor.name: executor, dist.name: dist}


@pytest.fixture
async def api(served_files: dict[str, Path], tmp_path: Path) -> AsyncIterator[Api]:
    state_file = tmp_path / "kafka-mesos.json"
    cluster = await open_cluster(state_file)
    control = FollowingScheduler(cluster)
    app = build_app(cluster, control, files=served_files)
    try:
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            yield Api(client, cluster, control, state_file)
            await control.drain()
    finally:
        await cluster.close()
