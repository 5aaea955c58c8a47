"""The seed scenario end to end: the real scheduler on the local Mesos, the real executor, the stand-in Kafka,
a real ZooKeeper, and the real CLI — twenty brokers added, started, registered, stopped.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from kazoo.client import KazooClient

from tests.conftest import ZkChroot
from tests.e2e.harness import (
    SchedulerProcess,
    processes_in,
    start_local_mesos,
    start_scheduler,
)
from tests.support.ports import wait_until
from tests.support.standin import build_standin_dist

pytestmark = pytest.mark.integration

SEED_IDS = list(range(1000, 1020))


@pytest.fixture
def standin_dist(tmp_path: Path) -> Path:
    return build_standin_dist(tmp_path / "dist")


def registered_ids(zk: KazooClient) -> set[int]:
    if not zk.exists("/brokers/ids"):
        return set()
    return {int(child) for child in zk.get_children("/brokers/ids")}


def sandbox_files(scheduler: SchedulerProcess, relative: str) -> list[Path]:
    return sorted(scheduler.mesos_work_dir.rglob(relative))


def run_seed_scenario(scheduler: SchedulerProcess, zk: KazooClient, executor_scope: str = "agent") -> None:
    added = scheduler.cli("add", "1000..1019", "--cpus", "0.01", "--heap", "128", "--mem", "256",
                          "--options", "num.io.threads=1")
    assert "brokers added" in added.stdout
    assert all(f"id: {i}" in added.stdout for i in SEED_IDS)

    started = scheduler.cli("start", "1000..1019", "--timeout", "120s", timeout=180)
    assert "brokers started" in started.stdout, started.stdout + started.stderr

    brokers = scheduler.brokers()
    assert set(brokers) == set(SEED_IDS)
    task_ids = {b["task"]["id"] for b in brokers.values()}
    assert len(task_ids) == 20
    for broker in brokers.values():
        task = broker["task"]
        assert task["state"] == "running", broker
        assert re.fullmatch(r"[\w.-]+:\d+", task["endpoint"]), task
        assert task["id"].startswith(f"kafka-{broker['id']}-")
    executors = {b["task"]["executorId"] for b in brokers.values()}
    agents = {b["task"]["slaveId"] for b in brokers.values()}
    if executor_scope == "agent":  # one shared executor per agent ran all of that agent's brokers
        assert len(agents) == 3 and len(executors) == 3, executors
        assert all(e.startswith("kafka-executor-") for e in executors)
        for executor in executors:
            on_it = {b["task"]["slaveId"] for b in brokers.values() if b["task"]["executorId"] == executor}
            assert len(on_it) == 1
    else:
        assert executors == task_ids
    assert registered_ids(zk) == set(SEED_IDS)
    for broker_id in SEED_IDS:
        data, _ = zk.get(f"/brokers/ids/{broker_id}")
        registration = json.loads(data)
        assert f"{registration['host']}:{registration['port']}" == brokers[broker_id]["task"]["endpoint"]

    # each broker's files are in its own task directory, <sandbox>/<task id>/
    properties = [path for task_id in sorted(task_ids)
                  for path in sandbox_files(scheduler, f"{task_id}/config/server.properties")]
    assert len(properties) == 20
    for path in properties:
        text = path.read_text()
        assert re.search(r"^num\.io\.threads=1$", text, re.M), path
    server_logs = [path for task_id in sorted(task_ids)
                   for path in sandbox_files(scheduler, f"{task_id}/logs/server.log")]
    assert len(server_logs) == 20
    for path in server_logs:
        assert "heap=128MB" in path.read_text(), path

    stopped = scheduler.cli("stop", "1000..1019", "--timeout", "120s", timeout=180)
    assert "brokers stopped" in stopped.stdout, stopped.stdout + stopped.stderr
    wait_until(lambda: not registered_ids(zk), timeout=60, message="every broker deregistered")
    brokers = scheduler.brokers()
    assert all("task" not in b and not b["active"] for b in brokers.values())

    def every_kill_acknowledged() -> bool:
        log = scheduler.process.errors()
        return all(re.search(rf"acknowledged TASK_KILLED of {re.escape(t)}", log) for t in task_ids)

    wait_until(every_kill_acknowledged, timeout=60, message="TASK_KILLED acknowledged for all 20 tasks")
    own = {scheduler.process.popen.pid, *scheduler.extra.get("exclude_pids", ())}
    wait_until(lambda: not processes_in(scheduler.mesos_work_dir, own), timeout=60,
               message="no broker or executor process left")


@pytest.mark.parametrize(("content_type", "executor_scope"), [("protobuf", "agent"), ("json", "broker")])
def test_seed_twenty_brokers_on_the_embedded_local_mesos(
    tmp_path: Path, zk_chroot: ZkChroot, zk: KazooClient, standin_dist: Path, content_type: str,
    executor_scope: str,
) -> None:
    scheduler = start_scheduler(tmp_path / "run", zk_chroot.connect_string, standin_dist,
                                content_type=content_type, extra_args=("--executor-scope", executor_scope))
    try:
        run_seed_scenario(scheduler, zk, executor_scope)
    finally:
        assert scheduler.process.stop() == 0, scheduler.process.errors()[-3000:]


def test_seed_with_local_mesos_as_a_separate_process(
    tmp_path: Path, zk_chroot: ZkChroot, zk: KazooClient, standin_dist: Path
) -> None:
    mesos, master = start_local_mesos(tmp_path / "mesos-run")
    try:
        scheduler = start_scheduler(tmp_path / "run", zk_chroot.connect_string, standin_dist, master=master,
                                    use_wrapper=False)
        scheduler.mesos_work_dir = tmp_path / "mesos-run" / "mesos"
        scheduler.extra["exclude_pids"] = {mesos.popen.pid}
        try:
            run_seed_scenario(scheduler, zk)
        finally:
            assert scheduler.process.stop() == 0, scheduler.process.errors()[-3000:]
    finally:
        mesos.stop()


def test_placement_failure_reason_shows_in_broker_list(
    tmp_path: Path, zk_chroot: ZkChroot, standin_dist: Path
) -> None:
    scheduler = start_scheduler(tmp_path / "run", zk_chroot.connect_string, standin_dist, use_wrapper=False)
    try:
        scheduler.cli("add", "7", "--cpus", "0.1", "--mem", "100000", "--heap", "128")
        scheduler.cli("start", "7", "--timeout", "0")

        def reason() -> str | None:
            return scheduler.brokers()[7].get("reason")

        text = wait_until(reason, timeout=60, message="a placement failure reason")
        assert "mem" in text and "100032" in text, text
        listing = scheduler.cli("broker", "list")
        assert "mem" in listing.stdout, listing.stdout
    finally:
        assert scheduler.process.stop() == 0, scheduler.process.errors()[-3000:]
