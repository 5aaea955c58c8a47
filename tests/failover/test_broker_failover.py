"""Failover end to end: kill -9 a broker's Kafka process and watch the scheduler relaunch it after the
failover delay on the same host; a crash loop reaches the max tries and deactivates the broker."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.conftest import ZkChroot
from tests.failover.env import broker_pid, event_times, failover_cluster, parse_date, running, wait_brokers

pytestmark = pytest.mark.integration

# A kill -9'd Kafka's ephemeral /brokers/ids/<id> stays until its ZooKeeper session expires; a relaunch
# before that fails as real Kafka does ("node already exists"). Short sessions, longer failover delay.
BROKER = ("--cpus", "0.01", "--mem", "128", "--heap", "64", "--options", "zookeeper.session.timeout.ms=4000")


def test_killed_broker_is_relaunched_after_the_failover_delay_on_the_same_host(
        tmp_path: Path, zk_chroot: ZkChroot, standin_dist: Path) -> None:
    steady = ("--failover-stable-after", "8s")
    with failover_cluster(tmp_path, zk_chroot.connect_string, standin_dist, scheduler_args=steady) as (
            mesos, scheduler):
        scheduler.cli("add", "0", *BROKER, "--failover-delay", "6s", "--failover-max-tries", "5")
        scheduler.cli("start", "0", "--timeout", "60s", timeout=120)
        first = scheduler.brokers()[0]
        first_task = first["task"]

        os.kill(broker_pid(tmp_path / "mesos", 0), signal.SIGKILL)

        failed = wait_brokers(scheduler, lambda b: b[0]["failover"]["failures"] == 1, 60, "failure")[0]
        failover = failed["failover"]
        assert "TASK_FAILED" in failover["reason"], failover
        next_attempt = parse_date(failover["nextAttempt"])
        assert next_attempt - parse_date(failover["failureTime"]) == pytest.approx(6.0, abs=0.01)
        listed = scheduler.cli("broker", "list", "0").stdout
        assert "failures:1" in listed and "next-attempt:" in listed and "reason:TASK_FAILED" in listed, listed

        again = wait_brokers(scheduler, lambda b: running(b[0]) and b[0]["task"]["id"] != first_task["id"],
                             60, "relaunched and running")[0]
        assert again["failover"]["failures"] == 1, "the relaunch itself did not fail"
        assert again["task"]["hostname"] == first_task["hostname"], "relaunched on the same host"
        assert again["task"]["port"] == first_task["port"], "its port reused"
        launched = event_times(again, "launched")[-1]
        assert launched >= next_attempt - 0.01, "not before the failover delay passed"
        kinds = [e["kind"] for e in again["events"]]
        for kind in ("launched", "running", "failed", "relaunch-scheduled"):
            assert kind in kinds, kinds
        assert "relaunch-scheduled" in scheduler.cli("broker", "list", "0", "--events").stdout

        steady_broker = wait_brokers(scheduler, lambda b: b[0]["failover"]["failures"] == 0, 60,
                                     "failure counter reset after a steady run")[0]
        assert steady_broker["events"][-1]["kind"] == "failures-reset"
        reset_at = event_times(steady_broker, "failures-reset")[-1]
        running_at = event_times(steady_broker, "running")[-1]
        assert reset_at >= running_at + 8 - 0.01, "only after --failover-stable-after"
        assert len(mesos.running_tasks()) == 1
        scheduler.cli("stop", "0", "--timeout", "60s", timeout=120)


def test_max_tries_deactivates_the_broker_with_the_reason(
        tmp_path: Path, zk_chroot: ZkChroot, standin_dist: Path) -> None:
    with failover_cluster(tmp_path, zk_chroot.connect_string, standin_dist) as (mesos, scheduler):
        scheduler.cli("add", "0", *BROKER, "--failover-delay", "6s", "--failover-max-tries", "2")
        scheduler.cli("start", "0", "--timeout", "60s", timeout=120)
        for attempt in (1, 2):
            task_id = scheduler.brokers()[0]["task"]["id"]
            os.kill(broker_pid(tmp_path / "mesos", 0), signal.SIGKILL)
            if attempt == 1:
                wait_brokers(scheduler, lambda b, t=task_id: running(b[0]) and b[0]["task"]["id"] != t, 60,
                             "relaunched after the first failure")
        broker = wait_brokers(scheduler, lambda b: not b[0]["active"], 60, "deactivated")[0]
        assert "task" not in broker
        assert broker["failover"]["failures"] == 2
        assert "failure limit exceeded" in broker["state"], broker["state"]
        assert [e["kind"] for e in broker["events"]][-1] == "deactivated"
        assert "failure limit exceeded" in scheduler.cli("broker", "list", "0").stdout
        assert not mesos.running_tasks()
