"""Master address forms and ZooKeeper leader detection (against a real ZooKeeper)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from kafka_mesos.mesos import master
from kafka_mesos.mesos.pb import mesos_pb2


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("m1:5050", "http://m1:5050"),
        ("127.0.0.1:5051", "http://127.0.0.1:5051"),
        ("m1", "http://m1:5050"),
        ("http://m1:5050", "http://m1:5050"),
        ("https://m1:8443/", "https://m1:8443"),
        ("http://m1", "http://m1:5050"),
        (" http://m1:1/master ", "http://m1:1"),
    ],
)
def test_parse_http_forms(address: str, expected: str) -> None:
    assert master.parse_master(address) == expected


def test_parse_zk_forms() -> None:
    assert master.parse_master("zk://h1:2181,h2:2182/mesos") == master.ZkAddress("h1:2181,h2:2182", "/mesos")
    parsed = master.parse_master("zk://user:pa:ss@h1:2181/a/mesos/")
    assert parsed == master.ZkAddress("h1:2181", "/a/mesos", ("user", "pa:ss"))
    assert "pa:ss" not in str(parsed)


@pytest.mark.parametrize(
    "address",
    [
        "",
        "ftp://m1:21",
        "zk://h1:2181",
        "zk:///mesos",
        "zk://h1,,h2/mesos",
        "m1:abc",
        "m1:70000",
        "zk://@h/m",
    ],
)
def test_parse_rejects(address: str) -> None:
    with pytest.raises(ValueError):
        master.parse_master(address)


def test_resolve_protocol_relative_redirect() -> None:
    base = "https://m1:5050"
    assert master.resolve_redirect("//m2.example:5050/api/v1/scheduler", base) == "https://m2.example:5050"
    assert master.resolve_redirect("http://m3:5051/x", base) == "http://m3:5051"
    assert master.resolve_redirect("m4:5052", "http://m1:5050") == "http://m4:5052"


def test_leader_child_lowest_sequence_only_json_members() -> None:
    children = [
        "log_replicas",
        "info_0000000001",
        "json.info_0000000012",
        "json.info_0000000003",
        "json.info_x",
    ]
    assert master.leader_child(children) == "json.info_0000000003"
    assert master.leader_child(["log_replicas"]) is None


def test_master_base_url_from_master_info() -> None:
    data = (
        b'{"id":"m","ip":16777343,"port":5050,"pid":"master@127.0.0.1:5050","hostname":"m1",'
        b'"address":{"hostname":"m1","ip":"127.0.0.1","port":5050},"version":"1.11.0"}'
    )
    info = master.parse_master_info(data)
    assert master.master_base_url(info) == "http://m1:5050"
    info.address.ClearField("hostname")
    assert master.master_base_url(info) == "http://127.0.0.1:5050"
    old = mesos_pb2.MasterInfo(id="m", ip=16777343, port=5051)
    assert master.master_base_url(old) == "http://127.0.0.1:5051"


def test_master_source_for_static_address() -> None:
    source = master.master_source("m1:5050")
    assert isinstance(source, master.StaticMaster)
    assert asyncio.run(source.current()) == "http://m1:5050"
    assert isinstance(master.master_source("zk://h:1/mesos"), master.ZooKeeperMasterDetector)


# ---------------------------------------------------------------- real ZooKeeper


def master_info_json(host: str, port: int) -> bytes:
    return json.dumps(
        {
            "id": f"id-{host}",
            "ip": 16777343,
            "port": port,
            "pid": f"master@127.0.0.1:{port}",
            "hostname": host,
            "address": {"hostname": host, "ip": "127.0.0.1", "port": port},
            "version": "1.11.0",
        }
    ).encode()


async def wait_for_leader(detector: master.ZooKeeperMasterDetector, previous: str) -> str:
    return await asyncio.wait_for(detector.wait_change(previous), timeout=30)


@pytest.mark.integration
async def test_zookeeper_detector_follows_leader_changes(zk_chroot: Any, zk: Any) -> None:
    zk.ensure_path("/mesos")
    zk.create("/mesos/log_replicas", b"")
    first = await asyncio.to_thread(
        zk.create, "/mesos/json.info_", master_info_json("m1", 5050), ephemeral=True, sequence=True
    )
    address = f"zk://{zk_chroot.connect_string}/mesos"
    async with master.ZooKeeperMasterDetector(address) as detector:
        assert await asyncio.wait_for(detector.current(), timeout=30) == "http://m1:5050"
        assert detector.master_info is not None and detector.master_info.id == "id-m1"
        # A contender with a higher sequence does not take over.
        second = await asyncio.to_thread(
            zk.create, "/mesos/json.info_", master_info_json("m2", 5051), ephemeral=True, sequence=True
        )
        assert second > first
        # The leader goes away: the next-lowest becomes leader.
        await asyncio.to_thread(zk.delete, first)
        assert await wait_for_leader(detector, "http://m1:5050") == "http://m2:5051"
        # A new node with a lower-looking name is still a later sequence: no change until m2 leaves.
        await asyncio.to_thread(
            zk.create, "/mesos/json.info_", master_info_json("m3", 5052), ephemeral=True, sequence=True
        )
        await asyncio.to_thread(zk.delete, second)
        assert await wait_for_leader(detector, "http://m2:5051") == "http://m3:5052"


@pytest.mark.integration
async def test_zookeeper_detector_waits_for_a_first_leader(zk_chroot: Any, zk: Any) -> None:
    address = f"zk://{zk_chroot.connect_string}/mesos"
    async with master.ZooKeeperMasterDetector(address) as detector:
        assert detector.leader is None
        leaders = detector.leaders()
        waiter = asyncio.ensure_future(leaders.__anext__())
        await asyncio.to_thread(
            zk.create, "/mesos/json.info_", master_info_json("m9", 6000), ephemeral=True, sequence=True
        )
        assert await asyncio.wait_for(waiter, timeout=30) == "http://m9:6000"
        await leaders.aclose()
