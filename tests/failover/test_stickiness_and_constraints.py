"""Stickiness and constraints end to end on local agents that advertise different host names and racks."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import ZkChroot
from tests.failover.env import event_times, failover_cluster, parse_date, running, wait_brokers

pytestmark = pytest.mark.integration

SMALL = ("--cpus", "0.01", "--mem", "128", "--heap", "64", "--options", "zookeeper.session.timeout.ms=4000")


def test_a_broker_whose_host_died_moves_elsewhere_only_after_the_stickiness_period(
        tmp_path: Path, zk_chroot: ZkChroot, standin_dist: Path) -> None:
    with failover_cluster(tmp_path, zk_chroot.connect_string, standin_dist) as (mesos, scheduler):
        scheduler.cli("add", "0", *SMALL, "--stickiness-period", "10s", "--failover-delay", "1s")
        scheduler.cli("start", "0", "--timeout", "60s", timeout=120)
        first = scheduler.brokers()[0]["task"]

        mesos.kill_agent(first["hostname"])

        def failed_and_pinned(brokers: dict[int, dict[str, object]]) -> bool:
            broker = brokers[0]
            return "task" not in broker and broker["failover"]["failures"] == 1  # type: ignore[index]

        pinned = wait_brokers(scheduler, failed_and_pinned, 60, "the agent's task reported lost")[0]
        stickiness = pinned["stickiness"]
        assert stickiness["hostname"] == first["hostname"]
        expires = parse_date(stickiness["expires"])
        assert expires - parse_date(stickiness["stopTime"]) == pytest.approx(10.0, abs=0.01)
        listed = scheduler.cli("broker", "list", "0").stdout
        assert f"hostname:{first['hostname']}" in listed and "expires:" in listed, listed

        moved = wait_brokers(scheduler, lambda b: running(b[0]), 90, "relaunched elsewhere")[0]
        assert moved["task"]["hostname"] != first["hostname"]
        launched = event_times(moved, "launched")[-1]
        assert launched >= expires - 0.01, "not before the stickiness period ended"
        assert moved["stickiness"]["hostname"] == moved["task"]["hostname"], "sticks to its new host now"
        assert len(mesos.running_tasks()) == 1
        scheduler.cli("stop", "0", "--timeout", "60s", timeout=120)


def test_constraints_place_brokers_across_agents_by_host_name_and_rack(
        tmp_path: Path, zk_chroot: ZkChroot, standin_dist: Path) -> None:
    racks = {0: "rack:r1", 1: "rack:r1", 2: "rack:r2"}
    rack_of = {"a0": "r1", "a1": "r1", "a2": "r2"}
    cluster = failover_cluster(tmp_path, zk_chroot.connect_string, standin_dist, attributes=racks)
    with cluster as (_, scheduler):
        def hosts(ids: str) -> list[str]:
            scheduler.cli("start", ids, "--timeout", "60s", timeout=120)
            placed = scheduler.brokers()
            chosen = [placed[i]["task"]["hostname"] for i in sorted(placed) if running(placed[i])]
            scheduler.cli("stop", ids, "--timeout", "60s", timeout=120)
            return chosen

        scheduler.cli("add", "0..2", *SMALL, "--constraints", "hostname=unique")
        assert sorted(hosts("0..2")) == ["a0", "a1", "a2"]

        scheduler.cli("add", "3..5", *SMALL, "--constraints", "rack=like:r1")
        assert {rack_of[h] for h in hosts("3..5")} == {"r1"}

        scheduler.cli("add", "6..9", *SMALL, "--constraints", "rack=groupBy:2")
        assert Counter(rack_of[h] for h in hosts("6..9")) == {"r1": 2, "r2": 2}

        scheduler.cli("add", "10..12", *SMALL, "--constraints", "hostname=unique,rack=unlike:r1")
        scheduler.cli("start", "10..12", "--timeout", "5s", timeout=60, check=False)
        brokers = scheduler.brokers()
        placed = [i for i in (10, 11, 12) if running(brokers[i])]
        assert len(placed) == 1 and brokers[placed[0]]["task"]["hostname"] == "a2"
        waiting = [brokers[i] for i in (10, 11, 12) if i not in placed]
        for broker in waiting:
            assert "unique" in broker.get("reason", "") or "unlike" in broker.get("reason", ""), broker
        scheduler.cli("stop", "10..12", "--timeout", "60s", timeout=120)
