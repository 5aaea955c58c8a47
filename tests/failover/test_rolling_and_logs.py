"""Rolling restart, `update --restart` and `broker log` end to end on the local Mesos with the stand-in."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from tests.conftest import ZkChroot
from tests.e2e.harness import SchedulerProcess
from tests.failover.env import MesosThread, failover_cluster, running
from tests.support.zookeeper import kazoo_client

pytestmark = pytest.mark.integration

SMALL = ("--cpus", "0.01", "--mem", "128", "--heap", "64")


class RunningCounter:
    """Polls the master's /state in a thread and keeps the fewest RUNNING tasks seen."""

    def __init__(self, mesos: MesosThread) -> None:
        self.mesos = mesos
        self.fewest: int | None = None
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while not self._stop.is_set():
            count = len(self.mesos.running_tasks())
            self.fewest = count if self.fewest is None else min(self.fewest, count)
            self.samples += 1
            self._stop.wait(0.02)

    def __enter__(self) -> RunningCounter:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(30)


def task_ids(scheduler: SchedulerProcess) -> dict[int, str]:
    return {i: b["task"]["id"] for i, b in scheduler.brokers().items() if "task" in b}


def test_rolling_restart_of_five_brokers_keeps_four_running(
        tmp_path: Path, zk_chroot: ZkChroot, standin_dist: Path) -> None:
    with failover_cluster(tmp_path, zk_chroot.connect_string, standin_dist) as (mesos, scheduler):
        scheduler.cli("add", "0..4", *SMALL)
        scheduler.cli("start", "0..4", "--timeout", "60s", timeout=120)
        before = task_ids(scheduler)

        with RunningCounter(mesos) as counter:
            result = scheduler.cli("broker", "restart", "0..4", "--timeout", "120s", timeout=180)
        assert "restarted" in result.stdout
        assert counter.samples > 20
        assert counter.fewest == 4, "never more than one broker down"
        after = task_ids(scheduler)
        assert set(after) == set(before) and all(after[i] != before[i] for i in before)
        assert all(running(b) for b in scheduler.brokers().values())
        assert len(mesos.running_tasks()) == 5

        with RunningCounter(mesos) as counter:
            scheduler.cli("broker", "restart", "0..4", "--batch", "2", "--timeout", "120s", timeout=180)
        assert counter.fewest == 3, "two at a time"
        scheduler.cli("stop", "0..4", "--timeout", "60s", timeout=120)


def test_update_restart_and_broker_log(tmp_path: Path, zk_chroot: ZkChroot, standin_dist: Path) -> None:
    with failover_cluster(tmp_path, zk_chroot.connect_string, standin_dist) as (_, scheduler):
        scheduler.cli("add", "0..1", *SMALL)
        scheduler.cli("start", "0..1", "--timeout", "60s", timeout=120)
        before = task_ids(scheduler)

        scheduler.cli("broker", "update", "1", "--options", "num.io.threads=2")
        assert scheduler.brokers()[1]["needsRestart"] is True
        assert "needs restart" in scheduler.cli("broker", "list", "1").stdout
        assert task_ids(scheduler)[1] == before[1], "update alone does not restart"

        scheduler.cli("broker", "update", "1", "--options", "num.io.threads=3", "--restart", timeout=180)
        broker = scheduler.brokers()[1]
        assert running(broker) and broker["task"]["id"] != before[1]
        assert broker["needsRestart"] is False
        assert task_ids(scheduler)[0] == before[0], "the unchanged broker is left alone"

        server_log = scheduler.cli("broker", "log", "1", "--name", "server.log", "--lines", "50").stdout
        assert "[KafkaServer id=1] started" in server_log
        assert "num.io.threads = 3" in server_log, "the restarted broker runs the new settings"
        tail = scheduler.cli("broker", "log", "1", "--name", "server.log", "--lines", "1").stdout
        assert len(tail.strip().splitlines()) == 1
        scheduler.cli("broker", "log", "1", "--name", "stderr")

        scheduler.cli("stop", "0", "--timeout", "60s", timeout=120)
        refused = scheduler.cli("broker", "log", "0", check=False)
        assert refused.returncode != 0
        assert "not active" in refused.stderr or "not running" in refused.stderr, refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1 and "Traceback" not in refused.stderr
        scheduler.cli("stop", "1", "--timeout", "60s", timeout=120)


def test_rolling_restart_waits_for_the_isr_in_kafkas_znodes(
        tmp_path: Path, zk_chroot: ZkChroot, standin_dist: Path) -> None:
    with failover_cluster(tmp_path, zk_chroot.connect_string, standin_dist) as (_, scheduler):
        scheduler.cli("add", "0..1", *SMALL)
        scheduler.cli("start", "0..1", "--timeout", "60s", timeout=120)
        with kazoo_client(zk_chroot.connect_string) as zk:
            state_path = "/brokers/topics/orders/partitions/0/state"
            transaction = zk.transaction()
            assignment = {"version": 1, "partitions": {"0": [0, 1]}}
            transaction.create("/brokers/topics/orders", json.dumps(assignment).encode())
            transaction.create("/brokers/topics/orders/partitions")
            transaction.create("/brokers/topics/orders/partitions/0")
            transaction.create(state_path, partition_state([1]))
            assert all(r is not None and not isinstance(r, Exception) for r in transaction.commit())

            stuck = scheduler.cli("broker", "restart", "0..1", "--timeout", "15s", timeout=60, check=False)
            assert stuck.returncode != 0
            assert "broker 0 timeout on replication (not in the ISR of orders:0" in stuck.stderr, stuck.stderr
            assert "not restarted: 1" in stuck.stderr
            assert all(running(b) for b in scheduler.brokers().values()), "broker 0 itself came back"

            zk.set(state_path, partition_state([1, 0]))
            done = scheduler.cli("broker", "restart", "0..1", "--timeout", "60s", timeout=120)
            assert "restarted" in done.stdout
        scheduler.cli("stop", "0..1", "--timeout", "60s", timeout=120)


def partition_state(isr: list[int]) -> bytes:
    return json.dumps({"controller_epoch": 1, "leader": isr[0], "version": 1, "leader_epoch": 0,
                       "isr": isr}).encode()
