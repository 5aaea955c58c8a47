"""Two schedulers in one process sharing a ZooKeeper store and a local Mesos: one leads, one stands by."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from kafka_mesos.apiclient import ApiClient
from kafka_mesos.localmesos.cluster import LocalMesos
from kafka_mesos.localmesos.config import LocalMesosConfig
from kafka_mesos.runtime.leadership import NotLeaderCaller
from kafka_mesos.runtime.runtime import SchedulerRuntime
from kafka_mesos.settings import Settings
from kafka_mesos.state.fenced import NotLeader
from tests.support.ports import wait_until_async
from tests.support.zookeeper import ZkChroot, ZooKeeperServer, expire_session

pytestmark = pytest.mark.integration


@pytest.fixture
async def mesos(tmp_path: Path) -> AsyncIterator[LocalMesos]:
    cluster = LocalMesos(LocalMesosConfig(port=0, agents=1, work_dir=tmp_path / "mesos"))
    await cluster.start()
    try:
        yield cluster
    finally:
        await cluster.stop()


def ha_settings(tmp_path: Path, zk: str, master: str) -> Settings:
    tmp_path.mkdir(parents=True, exist_ok=True)
    return Settings(api="http://127.0.0.1:0", storage="zk:/kafka-mesos", zk=zk, master=master,
                    zk_session_timeout=4.0)


def role(runtime: SchedulerRuntime) -> str:
    assert runtime.ha is not None
    return str(runtime.ha.status()["role"])


async def get_json(url: str) -> tuple[int, dict[str, Any], Any]:
    async with aiohttp.ClientSession() as http:
        async with http.post(url, allow_redirects=False) as response:
            return response.status, await response.json(), response.headers


async def test_standby_redirects_writes_and_takes_over(
    tmp_path: Path, zk_chroot: ZkChroot, mesos: LocalMesos
) -> None:
    first = SchedulerRuntime(ha_settings(tmp_path / "a", zk_chroot.connect_string, mesos.master_url),
                             workdir=tmp_path / "a")
    second = SchedulerRuntime(ha_settings(tmp_path / "b", zk_chroot.connect_string, mesos.master_url),
                              workdir=tmp_path / "b")
    await first.start()
    try:
        assert first.scheduler is not None
        await wait_until_async(lambda: first.scheduler is not None and first.scheduler.status()["connected"],
                               timeout=30, message="leader subscribed")
        framework_id = first.scheduler.status()["frameworkId"]
        await second.start()
        assert role(first) == "leader" and role(second) == "standby"

        # a write sent to the standby: 307 to the leader, and the CLI's client follows it
        status, body, headers = await get_json(f"{second.api_url}/api/broker/add?broker=0")
        assert status == 307 and headers["Location"] == f"{first.api_url}/api/broker/add?broker=0"
        assert body["leader"] == first.api_url and body["code"] == 307
        answer = await asyncio.to_thread(ApiClient(second.api_url).broker_add, "0..1", cpus="0.1", mem="128",
                                   heap="64")
        assert [b["id"] for b in answer["brokers"]] == ["0", "1"] or len(answer["brokers"]) == 2
        # reads are served by the standby from its own view, which follows the store
        await wait_until_async(lambda: len(second._cluster.snapshot()) == 2, timeout=30)
        status, body, _ = await get_json(f"{second.api_url}/api/broker/list")
        assert status == 200 and len(body["brokers"]) == 2
        status, body, _ = await get_json(f"{second.api_url}/health")
        assert status == 200 and body["scheduler"]["ha"] == {
            "role": "standby", "leader": first.api_url, "takeovers": 0, "refusedWrites": 0}
        assert second.scheduler is not None and not second.scheduler.status()["connected"]
        assert second.ha is not None and second.ha.store is not None and second.ha.store.refused == 0

        await first.stop()  # a clean stop hands over at once
        await wait_until_async(lambda: second.scheduler.status()["connected"], timeout=30,
                               message="standby took over and subscribed")
        assert role(second) == "leader"
        assert second.scheduler.status()["frameworkId"] == framework_id, "same framework id"
        answer = await asyncio.to_thread(ApiClient(second.api_url).broker_update, "1", mem="256")
        assert answer["brokers"][0]["mem"] in (256, 256.0, "256")
    finally:
        await first.stop()
        await second.stop()


async def test_expired_session_deposes_the_leader_at_once_and_it_exits_1(
    tmp_path: Path, zk_chroot: ZkChroot, zk_server: ZooKeeperServer, mesos: LocalMesos
) -> None:
    first = SchedulerRuntime(ha_settings(tmp_path / "a", zk_chroot.connect_string, mesos.master_url),
                             workdir=tmp_path / "a")
    second = SchedulerRuntime(ha_settings(tmp_path / "b", zk_chroot.connect_string, mesos.master_url),
                              workdir=tmp_path / "b")
    await first.start()
    try:
        assert first.scheduler is not None and first.ha is not None and first.ha.store is not None
        await wait_until_async(lambda: first.scheduler.status()["connected"], timeout=30)
        await second.start()
        bridge = first.ha.store.inner.bridge  # type: ignore[attr-defined]
        await asyncio.to_thread(expire_session, bridge.client, zk_server)

        code = await asyncio.wait_for(first.wait(), 30)
        assert code == 1, "a leader whose session expired exits non-zero (Marathon restarts it)"
        assert role(first) == "deposed"
        assert isinstance(first.scheduler._caller, NotLeaderCaller), "no more Mesos calls"
        with pytest.raises(NotLeader):
            await first.ha.store.set_framework_id("someone-else")
        assert first.ha.store.refused >= 1

        assert second.scheduler is not None
        await wait_until_async(lambda: second.scheduler.status()["connected"], timeout=30,
                               message="the standby took over")
        assert role(second) == "leader"
    finally:
        await first.stop()
        await second.stop()


async def test_a_leader_following_a_zk_master_stops_cleanly(tmp_path: Path, zk_chroot: ZkChroot) -> None:
    """The scheduler's timers end first on stop; the Mesos session (with its ZooKeeper master detector)
    must still wind down by itself rather than be cancelled under the runtime waiting for it."""
    master = f"zk://{zk_chroot.connect_string}/mesos"
    cluster = LocalMesos(LocalMesosConfig(port=0, agents=1, work_dir=tmp_path / "mesos", zk=master))
    await cluster.start()
    try:
        for attempt in range(3):
            settings = ha_settings(tmp_path / f"r{attempt}", zk_chroot.connect_string, master)
            runtime = SchedulerRuntime(settings, workdir=tmp_path)
            await runtime.start()
            try:
                scheduler = runtime.scheduler
                assert scheduler is not None
                await wait_until_async(lambda s=scheduler: s.status()["connected"], timeout=30)  # type: ignore[misc]
            finally:
                await asyncio.wait_for(runtime.stop(), 30)
    finally:
        await cluster.stop()
