"""Processes for the HA end-to-end tests: a local Mesos registered in ZooKeeper and HA schedulers.

Built on tests/e2e/harness.py's `spawn` (output in files of the test's directory, loopback only).
"""

from __future__ import annotations

import contextlib
import json
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.e2e.harness import READY, Process, spawn
from tests.support.ports import wait_until

MASTER_URL = re.compile(r"local Mesos master: (http://127\.0\.0\.1:\d+)")
SUBSCRIBED = re.compile(r"subscribed as framework (\S+)")


def start_local_mesos(workdir: Path, name: str, zk_url: str, agents: int = 3) -> tuple[Process, str]:
    """`kafka-mesos.sh local-mesos --zk zk://.../mesos`: a separate process every scheduler can reach."""
    argv = [sys.executable, "-m", "kafka_mesos", "local-mesos", "--port", "0", "--agents", str(agents),
            "--work-dir", str(workdir / f"{name}-work"), "--zk", zk_url, "--allocation-interval", "0.2"]
    process = spawn(name, argv, workdir)

    def ready() -> re.Match[str] | None:
        if process.popen.poll() is not None:
            raise AssertionError(f"{name} exited with {process.popen.returncode}: {process.errors()[-3000:]}")
        return MASTER_URL.search(process.output())

    match = wait_until(ready, timeout=60, interval=0.05, message=f"{name} master URL")
    return process, match.group(1)


@dataclass
class HaScheduler:
    name: str
    process: Process
    api: str
    workdir: Path

    def cli(self, *args: str, timeout: float = 180.0) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([sys.executable, "-m", "kafka_mesos", *args, "--api", self.api],
                                cwd=self.workdir, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise AssertionError(f"CLI {args} via {self.name} failed: {result.stderr}{result.stdout}")
        return result

    def get(self, path: str) -> tuple[int, Any]:
        try:
            with urllib.request.urlopen(self.api + path, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def health(self) -> dict[str, Any]:
        body: dict[str, Any] = self.get("/health")[1]
        return body

    def ha(self) -> dict[str, Any]:
        ha: dict[str, Any] = self.health()["scheduler"]["ha"]
        return ha

    def brokers(self) -> dict[int, dict[str, Any]]:
        return {int(b["id"]): b for b in self.get("/api/broker/list")[1]["brokers"]}

    def subscriptions(self) -> list[str]:
        return SUBSCRIBED.findall(self.process.errors())


def start_ha_scheduler(workdir: Path, name: str, *, zk: str, master: str, dist: Path,
                       session_timeout: str = "2s") -> HaScheduler:
    # -X faulthandler: a scheduler that hangs on SIGTERM is aborted and dumps every thread's stack
    argv = [sys.executable, "-X", "faulthandler", str(Path(__file__).with_name("scheduler_with_dump.py")),
            "scheduler", "--api", "http://127.0.0.1:0", "--zk", zk,
            "--storage", "zk:/kafka-mesos", "--master", master, "--kafka-dist", str(dist), "--ha",
            "--zk-session-timeout", session_timeout, "--reconciliation-timeout", "1s", "--debug"]
    process = spawn(name, argv, workdir)

    def ready() -> re.Match[str] | None:
        if process.popen.poll() is not None:
            raise AssertionError(f"{name} exited with {process.popen.returncode}: {process.errors()[-3000:]}")
        return READY.search(process.output())

    match = wait_until(ready, timeout=120, interval=0.05, message=f"{name} ready line")
    return HaScheduler(name, process, match.group(1), workdir)


def stop_scheduler(scheduler: HaScheduler, timeout: float = 60.0) -> int:
    """SIGTERM and wait; a scheduler still running after `timeout` is aborted (its stderr then holds the
    stack of every thread) and the test fails with that."""
    popen = scheduler.process.popen
    if popen.poll() is not None:
        return popen.returncode
    popen.send_signal(signal.SIGTERM)
    try:
        return popen.wait(timeout)
    except subprocess.TimeoutExpired:
        popen.send_signal(signal.SIGUSR1)  # asyncio tasks' stacks (scheduler_with_dump.py)
        with contextlib.suppress(subprocess.TimeoutExpired):
            popen.wait(3)
        popen.send_signal(signal.SIGABRT)
        try:
            popen.wait(10)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait(10)
        raise AssertionError(f"{scheduler.name} did not stop on SIGTERM within {timeout:g}s; stacks:\n"
                             f"{scheduler.process.errors()[-15000:]}") from None


def stop_all(schedulers: list[HaScheduler], others: list[Process]) -> None:
    """Stop schedulers (newest first) then the other processes; every one is stopped, the first failure
    is raised at the end."""
    failures: list[AssertionError] = []
    for scheduler in reversed(schedulers):
        try:
            stop_scheduler(scheduler)
        except AssertionError as e:
            failures.append(e)
    for process in others:
        try:
            process.stop()
        except AssertionError as e:
            failures.append(e)
    if failures:
        raise failures[0]


def master_state(master: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{master}/master/state", timeout=10) as response:
        state: dict[str, Any] = json.loads(response.read())
    return state


def mesos_tasks(master: str) -> tuple[dict[str, str], list[str]]:
    """(task id → state of live tasks, ids of completed tasks) over all frameworks."""
    state = master_state(master)
    live = {str(t["id"]): str(t["state"]) for f in state["frameworks"] for t in f["tasks"]}
    done = [str(t["id"]) for f in state["frameworks"] for t in f["completed_tasks"]]
    return live, done


def kill(process: Process) -> None:
    if process.popen.poll() is None:
        process.popen.kill()
        process.popen.wait(30)
