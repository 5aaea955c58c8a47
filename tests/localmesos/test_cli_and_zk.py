"""`kafka-mesos.sh local-mesos` as a real process, and MasterInfo registration in a real ZooKeeper."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import sys
import uuid
from pathlib import Path

import aiohttp
from kazoo.client import KazooClient

from kafka_mesos.localmesos.cluster import LocalMesos
from kafka_mesos.mesos.master import leader_child, master_base_url, parse_master_info
from tests.localmesos.conftest import REPO, fast_config
from tests.support.zookeeper import ZooKeeperServer, expire_session


async def test_cli_runs_until_sigterm(http: aiohttp.ClientSession, tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "kafka_mesos",
        "local-mesos",
        "--port",
        "0",
        "--agents",
        "2",
        "--agent-resources",
        "1=cpus:8;mem:1024;ports:[5000-5009]",
        "--work-dir",
        str(tmp_path / "w"),
        "--agent-hostname",
        "1=node-b",
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        match = re.search(r"(http://127\.0\.0\.1:\d+)", line)
        assert match, line
        async with http.get(f"{match.group(1)}/health") as response:
            assert response.status == 200
        async with http.get(f"{match.group(1)}/state") as response:
            state = await response.json()
        resources = [s["resources"] for s in state["slaves"]]
        # The agents share 127.0.0.1: agent 0 offers its half of the default ports, agent 1 its override.
        assert resources[0]["ports"] == "[31000-31499]"
        assert resources[0]["cpus"] == 4.0 and resources[1] == {
            "disk": 0.0,
            "mem": 1024.0,
            "gpus": 0.0,
            "cpus": 8.0,
            "ports": "[5000-5009]",
        }
        assert [s["hostname"] for s in state["slaves"]] == ["127.0.0.1", "node-b"]
        assert [s["attributes"] for s in state["slaves"]] == [
            {"rack": "r0", "zone": "z0"},
            {"rack": "r1", "zone": "z1"},
        ]
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_cli_bad_resources_is_one_line_error() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "kafka_mesos",
        "local-mesos",
        "--resources",
        "cpus:lots",
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode != 0
    assert len(stderr.decode().strip().splitlines()) == 1 and "cpus:lots" in stderr.decode()


async def test_master_registers_in_zookeeper(zk_server: ZooKeeperServer, tmp_path: Path) -> None:
    path = f"/mesos-{uuid.uuid4().hex[:8]}"
    zk_url = f"zk://{zk_server.connect_string}{path}"
    client = KazooClient(hosts=zk_server.connect_string)
    await asyncio.to_thread(client.start, 30)
    try:
        async with LocalMesos(fast_config(tmp_path, zk=zk_url, agents=1)) as mesos:
            children = await asyncio.to_thread(client.get_children, path)
            assert len(children) == 1 and re.fullmatch(r"json\.info_\d{10}", children[0])
            assert leader_child(children) == children[0]
            data, stat = await asyncio.to_thread(client.get, f"{path}/{children[0]}")
            assert stat.ephemeralOwner != 0
            info = json.loads(data)
            assert info["id"] == mesos.master.id and info["pid"] == mesos.master.pid
            assert info["address"] == {"hostname": "127.0.0.1", "ip": "127.0.0.1", "port": mesos.master.port}
            assert master_base_url(parse_master_info(data)) == mesos.master_url
        assert await asyncio.to_thread(client.get_children, path) == []
    finally:
        await asyncio.to_thread(client.delete, path, recursive=True)
        await asyncio.to_thread(client.stop)
        await asyncio.to_thread(client.close)


async def test_master_contends_again_after_session_loss(zk_server: ZooKeeperServer, tmp_path: Path) -> None:
    path = f"/mesos-{uuid.uuid4().hex[:8]}"
    client = KazooClient(hosts=zk_server.connect_string)
    await asyncio.to_thread(client.start, 30)
    try:
        async with LocalMesos(
            fast_config(tmp_path, zk=f"zk://{zk_server.connect_string}{path}", agents=1)
        ) as mesos:
            registration = mesos._zk
            assert registration is not None
            first = registration.node
            await asyncio.to_thread(expire_session, registration._client, zk_server)
            loop = asyncio.get_running_loop()
            end = loop.time() + 30
            while True:
                children = await asyncio.to_thread(client.get_children, path)
                if children and f"{path}/{children[0]}" != first:
                    break
                assert loop.time() < end, f"no new contender node: {children}"
                await asyncio.sleep(0.05)
            assert len(children) == 1 and registration.node == f"{path}/{children[0]}"
    finally:
        await asyncio.to_thread(client.delete, path, recursive=True)
        await asyncio.to_thread(client.stop)
        await asyncio.to_thread(client.close)
