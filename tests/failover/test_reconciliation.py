"""Scheduler restarts and master failover end to end: deterministic crash points (KM_TEST_CRASH_AT) between
persisting and calling Mesos, a task Mesos runs but the store forgot, and a master restart. The invariant
after each: every active broker has exactly one task, RUNNING, the one Mesos runs, same framework id."""

from __future__ import annotations

import json
import re
import signal
from pathlib import Path

import pytest

from kafka_mesos.scheduler.crash import AFTER_PERSIST_BEFORE_ACCEPT, AFTER_PERSIST_BEFORE_ACK, CRASH_ENV
from tests.conftest import ZkChroot
from tests.e2e.harness import SchedulerProcess
from tests.failover.env import MesosThread, failover_cluster, restart_scheduler, running
from tests.support.ports import wait_until

pytestmark = pytest.mark.integration

SUBSCRIBED = re.compile(r"subscribed as framework (\S+)")
SMALL = ("--cpus", "0.01", "--mem", "128", "--heap", "64", "--failover-delay", "1s",
         "--options", "zookeeper.session.timeout.ms=4000")
TWENTY = "0..19"


def framework_ids(scheduler: SchedulerProcess) -> list[str]:
    return SUBSCRIBED.findall(scheduler.process.errors())


def assert_one_running_task_each(mesos: MesosThread, scheduler: SchedulerProcess, count: int) -> None:
    def settled() -> bool:
        brokers = scheduler.brokers()
        tasks = mesos.running_tasks()
        return (len(brokers) == count and all(running(b) for b in brokers.values())
                and {b["task"]["id"] for b in brokers.values()} == set(tasks))

    try:
        wait_until(settled, timeout=120, interval=0.2, message="every broker running its one task")
    except TimeoutError as e:
        states = {i: (b.get("task"), b["state"]) for i, b in scheduler.brokers().items()}
        raise AssertionError(f"{e}: {states}; mesos: {sorted(mesos.running_tasks())}") from None
    live = mesos.live_tasks()
    per_broker: dict[str, int] = {}
    for task in live:
        if task["state"] in ("TASK_STAGING", "TASK_STARTING", "TASK_RUNNING"):
            broker = str(task["id"]).split("-")[1]
            per_broker[broker] = per_broker.get(broker, 0) + 1
    assert per_broker == {str(i): 1 for i in scheduler.brokers()}, "never two tasks for one broker"


@pytest.mark.parametrize("crash_at", [f"{AFTER_PERSIST_BEFORE_ACCEPT}:1", f"{AFTER_PERSIST_BEFORE_ACK}:15"])
def test_scheduler_crash_during_a_twenty_broker_launch(
        crash_at: str, tmp_path: Path, zk_chroot: ZkChroot, standin_dist: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CRASH_ENV, crash_at)
    with failover_cluster(tmp_path, zk_chroot.connect_string, standin_dist) as (mesos, first):
        monkeypatch.delenv(CRASH_ENV)
        first.cli("add", TWENTY, *SMALL)
        first.cli("start", TWENTY, "--timeout", "0")
        assert first.process.popen.wait(120) == 137, first.process.errors()[-2000:]
        assert "test crash point" in first.process.errors()
        framework_id = framework_ids(first)[0]

        second = restart_scheduler(tmp_path, zk_chroot.connect_string, standin_dist, mesos)
        wait_until(lambda: framework_ids(second), timeout=60, message="re-subscribed")
        assert framework_ids(second) == [framework_id], "the same framework id"
        assert_one_running_task_each(mesos, second, 20)
        assert len(mesos.state()["frameworks"]) == 1
        if crash_at.startswith(AFTER_PERSIST_BEFORE_ACCEPT):  # nothing ran: relaunched, no failure counted
            brokers = second.brokers().values()
            assert all(b["failover"]["failures"] == 0 for b in brokers)
            assert all("launch-lost" in [e["kind"] for e in b["events"]] for b in brokers)
        second.cli("stop", TWENTY, "--timeout", "120s", timeout=180)


def test_sigkill_of_the_scheduler_mid_launch(tmp_path: Path, zk_chroot: ZkChroot, standin_dist: Path) -> None:
    """Not a chosen point: SIGKILL once some of the twenty run and others are still starting."""
    with failover_cluster(tmp_path, zk_chroot.connect_string, standin_dist) as (mesos, first):
        first.cli("add", TWENTY, *SMALL)
        first.cli("start", TWENTY, "--timeout", "0")
        wait_until(lambda: len(mesos.running_tasks()) >= 3, timeout=60, interval=0.01, message="launching")
        first.process.popen.send_signal(signal.SIGKILL)
        first.process.popen.wait(30)
        framework_id = framework_ids(first)[0]

        second = restart_scheduler(tmp_path, zk_chroot.connect_string, standin_dist, mesos)
        wait_until(lambda: framework_ids(second), timeout=60, message="re-subscribed")
        assert framework_ids(second) == [framework_id]
        assert_one_running_task_each(mesos, second, 20)
        second.cli("stop", TWENTY, "--timeout", "120s", timeout=180)


def test_a_task_the_store_forgot_is_killed_not_duplicated(
        tmp_path: Path, zk_chroot: ZkChroot, standin_dist: Path) -> None:
    with failover_cluster(tmp_path, zk_chroot.connect_string, standin_dist) as (mesos, first):
        first.cli("add", "0..1", *SMALL)
        first.cli("start", "0..1", "--timeout", "60s", timeout=120)
        forgotten = first.brokers()[1]["task"]["id"]
        first.process.popen.send_signal(signal.SIGKILL)
        first.process.popen.wait(30)
        # A write lost to the crash: the store no longer knows broker 1's task, Mesos still runs it.
        store = tmp_path / "run" / "kafka-mesos.json"
        document = json.loads(store.read_text())
        document["brokers"]["1"]["data"]["task"] = None
        store.write_text(json.dumps(document))

        second = restart_scheduler(tmp_path, zk_chroot.connect_string, standin_dist, mesos)
        wait_until(lambda: forgotten not in mesos.running_tasks(), timeout=60, message="unknown task killed")
        assert_one_running_task_each(mesos, second, 2)
        assert second.brokers()[1]["task"]["id"] != forgotten
        assert "killing task " + forgotten in second.process.errors()
        second.cli("stop", "0..1", "--timeout", "60s", timeout=120)


def test_master_restart_resubscribes_and_leaves_healthy_brokers_alone(
        tmp_path: Path, zk_chroot: ZkChroot, standin_dist: Path) -> None:
    with failover_cluster(tmp_path, zk_chroot.connect_string, standin_dist) as (mesos, scheduler):
        scheduler.cli("add", "0..2", *SMALL)
        scheduler.cli("start", "0..2", "--timeout", "60s", timeout=120)
        before = {i: b["task"]["id"] for i, b in scheduler.brokers().items()}
        framework_id = framework_ids(scheduler)[0]

        mesos.restart_master()

        wait_until(lambda: len(framework_ids(scheduler)) == 2, timeout=60, message="re-subscribed")
        assert framework_ids(scheduler) == [framework_id, framework_id]
        # Re-subscribed is not yet reconciled: wait until every broker's task has been answered.
        wait_until(
            lambda: all(
                "reconciled" in [e["kind"] for e in b["events"]] for b in scheduler.brokers().values()
            ),
            timeout=60, message="every broker reconciled",
        )
        assert_one_running_task_each(mesos, scheduler, 3)
        health = scheduler.api_get("/health")
        assert health["scheduler"]["reconciling"] == 0 and health["scheduler"]["connected"]
        after = {i: b["task"]["id"] for i, b in scheduler.brokers().items()}
        assert after == before, "healthy brokers untouched"
        for broker in scheduler.brokers().values():
            assert broker["failover"]["failures"] == 0
        scheduler.cli("stop", "0..2", "--timeout", "60s", timeout=120)
