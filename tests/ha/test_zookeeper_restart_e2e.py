"""A ZooKeeper restart under two HA schedulers never yields two leaders.

Both schedulers' /health is sampled all along (role and Mesos connection); the local Mesos would tell a
second subscription of the framework by failing the first one over; the store's version conditions would
make a second writer's writes fail with a conflict.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from tests.ha.procs import (
    HaScheduler,
    master_state,
    mesos_tasks,
    start_ha_scheduler,
    start_local_mesos,
    stop_all,
)
from tests.support.ports import wait_until
from tests.support.standin import build_standin_dist
from tests.support.zookeeper import ZooKeeperServer

pytestmark = pytest.mark.integration


class Sampler(threading.Thread):
    """Polls every scheduler's /health until stopped; keeps (role, connected) per scheduler per round."""

    def __init__(self, schedulers: list[HaScheduler]) -> None:
        super().__init__(daemon=True)
        self.schedulers = schedulers
        self.rounds: list[list[tuple[str, bool]]] = []
        self.halt = threading.Event()

    def sample(self, scheduler: HaScheduler) -> tuple[str, bool]:
        if scheduler.process.popen.poll() is not None:
            return ("exited", False)
        try:
            status: dict[str, Any] = scheduler.health()["scheduler"]
        except (OSError, KeyError, ValueError):
            return ("unknown", False)
        return (str(status["ha"]["role"]), bool(status["connected"]))

    def run(self) -> None:
        while not self.halt.wait(0.02):
            self.rounds.append([self.sample(s) for s in self.schedulers])


def test_zookeeper_restart_never_two_leaders(tmp_path: Path, zk_server_fresh: ZooKeeperServer) -> None:
    dist = build_standin_dist(tmp_path / "dist")
    zk = f"{zk_server_fresh.connect_string}/kafka"
    master = f"zk://{zk_server_fresh.connect_string}/mesos"
    mesos, mesos_url = start_local_mesos(tmp_path, "local-mesos", master)
    schedulers: list[HaScheduler] = []
    try:
        for name in ("scheduler-a", "scheduler-b"):
            schedulers.append(start_ha_scheduler(tmp_path, name, zk=zk, master=master, dist=dist,
                                                 session_timeout="6s"))
        first = schedulers[0]
        wait_until(lambda: first.health()["scheduler"]["connected"], timeout=60, message="first subscribed")
        first.cli("add", "0..1", "--cpus", "0.01", "--mem", "128", "--heap", "64")
        first.cli("start", "0..1", "--timeout", "120s", timeout=240)
        framework_id = first.health()["scheduler"]["frameworkId"]
        live_before, _ = mesos_tasks(mesos_url)

        sampler = Sampler(schedulers)
        sampler.start()
        try:
            zk_server_fresh.stop()
            wait_until(lambda: len(sampler.rounds) > 5 and all(
                role != "leader" for role, _ in sampler.rounds[-1]), timeout=30, message="leader steps down")
            zk_server_fresh.start()

            def one_leader_subscribed() -> bool:
                last = sampler.rounds[-1] if sampler.rounds else []
                return sum(role == "leader" and connected for role, connected in last) == 1

            wait_until(one_leader_subscribed, timeout=90, message="one leader again, subscribed")
        finally:
            sampler.halt.set()
            sampler.join(10)

        assert any(r[0] == ("suspended", False) for r in sampler.rounds), "the leader stood down"
        both = [r for r in sampler.rounds if sum(role == "leader" for role, _ in r) > 1]
        assert not both, f"two leaders at once: {both[:3]}"
        both_connected = [r for r in sampler.rounds if all(connected for _, connected in r)]
        assert not both_connected, "two schedulers subscribed to Mesos at once"
        for scheduler in schedulers:
            log = scheduler.process.errors()
            assert "failed over" not in log.lower(), f"{scheduler.name}: Mesos saw two subscriptions"
            assert "conflicting change" not in log and "ConflictError" not in log, scheduler.name
        leader = next(s for s in schedulers if s.process.popen.poll() is None and s.ha()["role"] == "leader")
        assert leader.health()["scheduler"]["frameworkId"] == framework_id
        frameworks = master_state(mesos_url)["frameworks"]
        assert [f["id"] for f in frameworks] == [framework_id] and frameworks[0]["webui_url"] == leader.api
        live_after, _ = mesos_tasks(mesos_url)
        assert live_after == live_before, "no broker was relaunched or killed"
        for scheduler in schedulers:
            if scheduler.process.popen.poll() is None and scheduler.ha()["role"] == "standby":
                assert scheduler.subscriptions() == [], "the standby never subscribed to Mesos"
                assert scheduler.ha()["refusedWrites"] == 0, "and never even tried to write the store"
        assert leader.subscriptions()[0] == framework_id and set(leader.subscriptions()) == {framework_id}
        for scheduler in schedulers:  # an expired session means exit 1 (Marathon restarts it), never a clash
            if scheduler.process.popen.poll() is not None:
                assert scheduler.process.popen.returncode == 1, scheduler.process.errors()[-2000:]
        print("samples:", len(sampler.rounds), "roles seen:",
              sorted({tuple(role for role, _ in r) for r in sampler.rounds}))
        leader.cli("stop", "0..1", "--timeout", "120s", timeout=240)
    finally:
        stop_all(schedulers, [mesos])
