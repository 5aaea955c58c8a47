"""Issue #6's Done-when, end to end: the real scheduler on the embedded local Mesos, real executors, the
stand-in Kafka (its controller applies reassignments), a real ZooKeeper and the real CLI."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import pytest
from kazoo.client import KazooClient

from tests.conftest import ZkChroot  # type: ignore[attr-defined]
from tests.e2e.harness import SchedulerProcess, start_scheduler
from tests.support.ports import wait_until
from tests.support.standin import build_standin_dist

pytestmark = pytest.mark.integration

BROKER_SETTINGS = ("--cpus", "0.01", "--heap", "128", "--mem", "256",
                   "--options", "standin.reassign.partition.ms=400")


def assignment(zk: KazooClient, topic: str) -> dict[int, list[int]]:
    data, _ = zk.get(f"/brokers/topics/{topic}")
    return {int(p): r for p, r in json.loads(data)["partitions"].items()}


def per_broker(partitions: dict[int, list[int]]) -> Counter[int]:
    return Counter(b for replicas in partitions.values() for b in replicas)


def add_and_start(scheduler: SchedulerProcess, ids: str) -> None:
    scheduler.cli("add", ids, *BROKER_SETTINGS)
    started = scheduler.cli("start", ids, "--timeout", "120s", timeout=180)
    assert "started" in started.stdout, started.stdout + started.stderr


def test_topic_add_rebalance_onto_new_brokers_raise_rf_and_409(
    tmp_path: Path, zk_chroot: ZkChroot, zk: KazooClient
) -> None:
    dist = build_standin_dist(tmp_path / "dist")
    scheduler = start_scheduler(tmp_path / "run", zk_chroot.connect_string, dist, use_wrapper=False)
    try:
        add_and_start(scheduler, "0..2")
        added = scheduler.cli("topic", "add", "t1", "--partitions", "12", "--replicas", "2")
        assert "name: t1" in added.stdout, added.stdout
        assert set(per_broker(assignment(zk, "t1"))) == {0, 1, 2}

        add_and_start(scheduler, "3..5")
        plan = scheduler.cli("rebalance", "0..5", "--topics", "t1", "--dry-run")
        assert "Rebalance planned" in plan.stdout and "moves per broker: " in plan.stdout, plan.stdout
        assert zk.exists("/admin/reassign_partitions") is None
        assert set(per_broker(assignment(zk, "t1"))) == {0, 1, 2}
        moved = scheduler.cli("rebalance", "0..5", "--topics", "t1", "--timeout", "120s", timeout=180)
        assert "progress:" in moved.stdout and "Rebalance completed" in moved.stdout, moved.stdout
        spread = per_broker(assignment(zk, "t1"))
        assert set(spread) == set(range(6)), spread
        assert max(spread.values()) <= math.ceil(24 / 6), spread
        assert zk.exists("/admin/reassign_partitions") is None

        raised = scheduler.cli("topic", "rebalance", "t1", "--replicas", "3")
        assert "Rebalance started" in raised.stdout, raised.stdout
        second = scheduler.cli("topic", "rebalance", "t1", "--replicas", "3", check=False)
        assert second.returncode == 1 and "in progress" in second.stderr, second.stderr
        status = scheduler.cli("rebalance", "--status")
        assert "Rebalance running" in status.stdout, status.stdout

        def finished() -> bool:
            return "Rebalance idle" in scheduler.cli("topic", "rebalance", "status").stdout

        wait_until(finished, timeout=120, interval=0.5, message="RF 3 reassignment done")
        partitions = assignment(zk, "t1")
        assert all(len(r) == 3 and len(set(r)) == 3 for r in partitions.values()), partitions
        assert max(per_broker(partitions).values()) <= math.ceil(36 / 6)
        listing = scheduler.cli("topic", "list", "t1", "--json")
        assert json.loads(listing.stdout)["topics"][0]["replicationFactor"] == 3

        stopped = scheduler.cli("stop", "0..5", "--timeout", "120s", timeout=180)
        assert "stopped" in stopped.stdout, stopped.stdout + stopped.stderr
    finally:
        assert scheduler.process.stop() == 0, scheduler.process.errors()[-3000:]
