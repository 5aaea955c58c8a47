"""End to end: two scheduler processes with `--ha`, one ZooKeeper, a separate local Mesos registered in it.

- kill -9 of the leader: the standby takes over with the same framework id, all brokers keep their tasks,
  nothing is launched or killed;
- a write sent to the standby reaches the leader (307, followed by the CLI);
- a restarted scheduler joins as a standby;
- SIGTERM of the leader (what a Marathon upgrade does) hands over at once, again touching no broker.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.ha.procs import (
    HaScheduler,
    kill,
    master_state,
    mesos_tasks,
    start_ha_scheduler,
    start_local_mesos,
    stop_all,
    stop_scheduler,
)
from tests.support.ports import wait_until
from tests.support.standin import build_standin_dist
from tests.support.zookeeper import ZkChroot

pytestmark = pytest.mark.integration

BROKERS = 5


def leading(scheduler: HaScheduler) -> bool:
    try:
        health = scheduler.health()
    except OSError:
        return False
    return health["scheduler"]["ha"]["role"] == "leader" and bool(health["scheduler"]["connected"])


def all_running(scheduler: HaScheduler) -> dict[int, str] | None:
    brokers = scheduler.brokers()
    if len(brokers) != BROKERS or any(b.get("task", {}).get("state") != "running" for b in brokers.values()):
        return None
    return {i: str(b["task"]["id"]) for i, b in brokers.items()}


def test_kill_9_of_the_leader_standby_takes_over_without_touching_brokers(
    tmp_path: Path, zk_chroot: ZkChroot
) -> None:
    dist = build_standin_dist(tmp_path / "dist")
    zk = zk_chroot.connect_string
    mesos, mesos_url = start_local_mesos(tmp_path, "local-mesos", f"zk://{zk}/mesos")
    master = f"zk://{zk}/mesos"
    started: list[HaScheduler] = []
    try:
        first = start_ha_scheduler(tmp_path, "scheduler-a", zk=zk, master=master, dist=dist)
        started.append(first)
        wait_until(lambda: leading(first), timeout=60, message="first scheduler leads and is subscribed")
        second = start_ha_scheduler(tmp_path, "scheduler-b", zk=zk, master=master, dist=dist)
        started.append(second)
        assert second.ha()["role"] == "standby" and second.ha()["leader"] == first.api

        # writes through the standby reach the leader (the CLI follows the 307)
        second.cli("add", f"0..{BROKERS - 1}", "--cpus", "0.01", "--mem", "128", "--heap", "64")
        assert sorted(first.brokers()) == list(range(BROKERS))
        second.cli("start", f"0..{BROKERS - 1}", "--timeout", "120s", timeout=240)
        tasks = wait_until(lambda: all_running(first), timeout=120, message="5 brokers running")
        wait_until(lambda: all_running(second) == tasks, timeout=30, message="the standby's view follows")
        framework_id = first.health()["scheduler"]["frameworkId"]
        live_before, completed_before = mesos_tasks(mesos_url)
        assert sorted(live_before) == sorted(tasks.values())
        assert second.subscriptions() == [], "a standby never subscribes to Mesos"

        kill(first.process)
        killed_at = time.monotonic()
        wait_until(lambda: leading(second), timeout=30, message="standby takes over")
        takeover = time.monotonic() - killed_at
        print(f"takeover after kill -9: {takeover:.2f}s (session timeout 2s)")

        assert second.health()["scheduler"]["frameworkId"] == framework_id
        assert second.subscriptions() == [framework_id], "re-subscribed once, with the stored framework id"
        after = wait_until(lambda: all_running(second), timeout=60, message="reconciled, all running")
        assert after == tasks, "every broker keeps its task"
        live_after, completed_after = mesos_tasks(mesos_url)
        assert live_after == live_before, "no launch, no kill"
        assert completed_after == completed_before
        frameworks = master_state(mesos_url)["frameworks"]
        assert [f["id"] for f in frameworks] == [framework_id]
        assert frameworks[0]["webui_url"] == second.api, "the subscription is the new leader's"

        # Marathon restarts the dead one: it comes back as a standby
        again = start_ha_scheduler(tmp_path, "scheduler-a2", zk=zk, master=master, dist=dist)
        started.append(again)
        assert again.ha()["role"] == "standby" and again.ha()["leader"] == second.api
        again.cli("update", "0", "--options", "num.io.threads=4")
        assert second.brokers()[0]["options"] in ("num.io.threads=4", {"num.io.threads": "4"})

        assert again.subscriptions() == []

        # an upgrade (Marathon sends SIGTERM): the leader leaves the election and the standby takes over
        assert stop_scheduler(second) == 0, second.process.errors()[-2000:]
        wait_until(lambda: leading(again), timeout=30, message="standby takes over after SIGTERM")
        assert again.subscriptions() == [framework_id]
        after = wait_until(lambda: all_running(again), timeout=60, message="reconciled, all running")
        assert after == tasks, "still the same tasks"
        assert mesos_tasks(mesos_url) == (live_before, completed_before), "no launch, no kill"
        again.cli("stop", f"0..{BROKERS - 1}", "--timeout", "120s", timeout=240)
    finally:
        stop_all(started, [mesos])

