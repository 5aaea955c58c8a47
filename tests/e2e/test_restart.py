"""A scheduler killed with SIGKILL comes back with the same framework id and adopts its running brokers."""

from __future__ import annotations

import json
import re
import signal
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ZkChroot
from tests.e2e.harness import start_local_mesos, start_scheduler
from tests.support.ports import wait_until
from tests.support.standin import build_standin_dist

pytestmark = pytest.mark.integration

SUBSCRIBED = re.compile(r"subscribed as framework (\S+)")


def running_tasks(master: str) -> list[dict[str, object]]:
    with urllib.request.urlopen(f"{master}/master/state", timeout=30) as response:
        state = json.loads(response.read())
    return [t for f in state["frameworks"] for t in f["tasks"] if t["state"] == "TASK_RUNNING"]


def test_restart_after_kill_9_keeps_framework_id_and_tasks(tmp_path: Path, zk_chroot: ZkChroot) -> None:
    dist = build_standin_dist(tmp_path / "dist")
    mesos, master = start_local_mesos(tmp_path / "mesos-run")
    try:
        first = start_scheduler(tmp_path / "run", zk_chroot.connect_string, dist, master=master,
                                use_wrapper=False)
        first.cli("add", "0..2", "--cpus", "0.01", "--mem", "128", "--heap", "64")
        first.cli("start", "0..2", "--timeout", "120s", timeout=180)
        before = {i: b["task"]["id"] for i, b in first.brokers().items()}
        framework_id = wait_until(lambda: SUBSCRIBED.search(first.process.errors()), timeout=30).group(1)
        first.process.popen.send_signal(signal.SIGKILL)
        first.process.popen.wait(30)

        second = start_scheduler(tmp_path / "run", zk_chroot.connect_string, dist, master=master,
                                 use_wrapper=False)
        try:
            match = wait_until(lambda: SUBSCRIBED.search(second.process.errors()), timeout=60)
            assert match.group(1) == framework_id, "re-subscribed with the stored framework id"

            def reconciled_and_running() -> bool:
                brokers = second.brokers()
                return all(b.get("task", {}).get("state") == "running" for b in brokers.values())

            wait_until(reconciled_and_running, timeout=60, message="brokers reconciled as running")
            after = {i: b["task"]["id"] for i, b in second.brokers().items()}
            assert after == before, "the same tasks, not relaunched"
            tasks = running_tasks(master)
            assert sorted(str(t["id"]) for t in tasks) == sorted(before.values()), "no duplicate task"
            second.cli("stop", "0..2", "--timeout", "120s", timeout=180)
        finally:
            assert second.process.stop() == 0, second.process.errors()[-3000:]
    finally:
        mesos.stop()


def framework_ids(master: str) -> tuple[set[str], set[str]]:
    """(active, completed) framework ids the master reports."""
    with urllib.request.urlopen(f"{master}/master/state", timeout=30) as response:
        state = json.loads(response.read())
    return ({f["id"] for f in state["frameworks"]},
            {f["id"] for f in state.get("completed_frameworks", [])})


def test_framework_removed_after_failover_timeout_starts_afresh(tmp_path: Path, zk_chroot: ZkChroot) -> None:
    dist = build_standin_dist(tmp_path / "dist")
    mesos, master = start_local_mesos(tmp_path / "mesos-run")
    try:
        first = start_scheduler(tmp_path / "run", zk_chroot.connect_string, dist, master=master,
                                use_wrapper=False, extra_args=("--framework-timeout", "1s"))
        first.cli("add", "0", "--cpus", "0.01", "--mem", "128", "--heap", "64", "--failover-delay", "1s")
        first.cli("start", "0", "--timeout", "120s", timeout=180)
        old_task = first.brokers()[0]["task"]["id"]
        old_framework = wait_until(lambda: SUBSCRIBED.search(first.process.errors()), timeout=30).group(1)
        first.process.popen.send_signal(signal.SIGKILL)
        first.process.popen.wait(30)
        wait_until(lambda: old_framework in framework_ids(master)[1], timeout=60,
                   message="the master removed the framework after its failover timeout")

        second = start_scheduler(tmp_path / "run", zk_chroot.connect_string, dist, master=master,
                                 use_wrapper=False, extra_args=("--framework-timeout", "1s"))
        try:
            def new_framework() -> str | None:
                ids = [m.group(1) for m in SUBSCRIBED.finditer(second.process.errors())]
                return next((i for i in ids if i != old_framework), None)

            framework = wait_until(new_framework, timeout=60, message="subscribed as a new framework")
            assert framework != old_framework

            def relaunched() -> bool:
                task = second.brokers()[0].get("task") or {}
                return task.get("state") == "running" and task.get("id") != old_task

            wait_until(relaunched, timeout=120, message="the broker relaunched under the new framework")
            second.cli("stop", "0", "--timeout", "120s", timeout=180)
        finally:
            assert second.process.stop() == 0, second.process.errors()[-3000:]
    finally:
        mesos.stop()
