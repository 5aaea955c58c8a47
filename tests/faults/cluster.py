"""A small real cluster for fault injection, and the invariant every fault case ends with.

Processes: ZooKeeper (given), the local Mesos in a process of its own (tests/faults/mesos_process.py), the
scheduler (`python -m kafka_mesos scheduler`), and per broker an executor and a stand-in Kafka broker.

The invariant (`FaultCluster.problem()` is None):
- every active broker has exactly one task and it is RUNNING — in the API, in Mesos' /master/state, and in
  the stored record (file store read from disk); no other live task of the framework exists;
- exactly one stand-in broker process per active broker is alive, registered in ZooKeeper;
- every broker's spec (what the operator gave) is what it was before the fault.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kazoo.client import KazooClient

from tests.e2e.harness import Process, SchedulerProcess, spawn, start_scheduler
from tests.support import leaks
from tests.support.ports import free_port_block, wait_until
from tests.support.standin import build_standin_dist

MASTER_LINE = re.compile(r"master (http://127\.0\.0\.1:\d+)")
LIVE_STATES = {"TASK_STAGING", "TASK_STARTING", "TASK_RUNNING", "TASK_KILLING"}
OBSERVED = {"task", "state", "reason", "events", "needsRestart"}
OBSERVED_NESTED = {"failover": {"failures", "failureTime", "failureReason", "reason", "nextAttempt"},
                   "stickiness": {"hostname", "stopTime", "port", "expires"}}
SCHEDULER_OPTIONS = ("--reconciliation-timeout", "1s", "--stop-grace-period", "2s", "--revive-interval", "1s")


def spec_of(broker: dict[str, Any]) -> dict[str, Any]:
    spec = {k: v for k, v in broker.items() if k not in OBSERVED}
    for name, observed in OBSERVED_NESTED.items():
        if isinstance(spec.get(name), dict):
            spec[name] = {k: v for k, v in spec[name].items() if k not in observed}
    return spec


def _proc_info(pid: int) -> tuple[str, str, str] | None:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return None
    return cmdline, state, cwd


@dataclass
class FaultCluster:
    workdir: Path
    zk_connect: str
    storage: str | None = None  # default: the harness' file store
    mesos: Process | None = None
    master: str = ""
    scheduler: SchedulerProcess | None = None
    expected: dict[int, dict[str, Any]] = field(default_factory=dict)
    dist: Path | None = None
    extra_scheduler_args: tuple[str, ...] = ()

    # ---- processes -------------------------------------------------------------------------------------

    def start_mesos(self) -> None:
        work = self.workdir / "mesos-run"
        script = Path(__file__).with_name("mesos_process.py")
        argv = [sys.executable, str(script), "--work-dir", str(work / "mesos"), "--ports-base",
                str(free_port_block(3 * 100)), "--ports-per-agent", "100"]
        self.mesos = spawn("mesos", argv, work)
        mesos = self.mesos

        def ready() -> re.Match[str] | None:
            if mesos.popen.poll() is not None:
                raise AssertionError(f"local Mesos exited: {mesos.errors()[-3000:]}")
            return MASTER_LINE.search(mesos.output())

        self.master = wait_until(ready, timeout=60, interval=0.05, message="local Mesos ready").group(1)
        leaks.SHARED_PIDS.add(mesos.popen.pid)

    def start_scheduler(self) -> SchedulerProcess:
        if self.dist is None:
            self.dist = build_standin_dist(self.workdir / "dist")
        args = [*SCHEDULER_OPTIONS, *self.extra_scheduler_args]
        if self.storage:
            args += ["--storage", self.storage]
        self.scheduler = start_scheduler(self.workdir / "run", self.zk_connect, self.dist, master=self.master,
                                         use_wrapper=False, extra_args=tuple(args))
        self.scheduler.mesos_work_dir = self.workdir / "mesos-run" / "mesos"
        leaks.SHARED_PIDS.add(self.scheduler.process.popen.pid)
        return self.scheduler

    def stop(self) -> None:
        problems = []
        if self.scheduler is not None:
            code = self.scheduler.process.stop()
            leaks.SHARED_PIDS.discard(self.scheduler.process.popen.pid)
            if code != 0:
                problems.append(f"scheduler exited {code}: {self.scheduler.process.errors()[-2000:]}")
        if self.mesos is not None:
            self.mesos.stop()
            leaks.SHARED_PIDS.discard(self.mesos.popen.pid)
        assert not problems, problems

    @property
    def api(self) -> SchedulerProcess:
        assert self.scheduler is not None
        return self.scheduler

    def signal_mesos(self, sig: signal.Signals) -> None:
        assert self.mesos is not None
        self.mesos.popen.send_signal(sig)

    def mesos_says(self, text: str, timeout: float = 60) -> None:
        assert self.mesos is not None
        mesos = self.mesos
        wait_until(lambda: text in mesos.output(), timeout=timeout, message=f"local Mesos says {text!r}")

    # ---- brokers ---------------------------------------------------------------------------------------

    def add_and_start(self, ids: str, timeout: str = "120s") -> None:
        self.api.cli("add", ids, "--cpus", "0.01", "--mem", "128", "--heap", "64", "--failover-delay", "1s",
                     "--failover-max-delay", "2s")
        self.api.cli("start", ids, "--timeout", timeout, timeout=300)
        self.remember_specs()

    def remember_specs(self) -> None:
        self.expected = {i: spec_of(b) for i, b in self.api.brokers().items()}

    def mesos_state(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.master}/master/state", timeout=30) as response:
            state: dict[str, Any] = json.loads(response.read())
            return state

    def live_tasks(self) -> dict[str, dict[str, Any]]:
        state = self.mesos_state()
        return {t["id"]: t for f in state["frameworks"] for t in f["tasks"] if t["state"] in LIVE_STATES}

    def processes(self, marker: str, task_id: str | None = None) -> list[int]:
        """Live pids whose command line holds `marker` under the work dir, and (given `task_id`) whose cwd is
        that task's (a broker in its task dir, an executor of its own) or holds the task's directory (a
        shared executor's sandbox)."""
        found = []
        root = str(self.workdir)
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            info = _proc_info(int(entry))
            if info is None:
                continue
            cmdline, state, cwd = info
            if state == "Z" or marker not in cmdline or not cwd.startswith(root):
                continue
            if task_id is None or task_id in cwd or os.path.isdir(os.path.join(cwd, task_id)):
                found.append(int(entry))
        return found

    def broker_pids(self, task_id: str | None = None) -> list[int]:
        return self.processes("standin_broker.py", task_id)

    def executor_pids(self, task_id: str | None = None) -> list[int]:
        return self.processes("kafka-mesos-executor", task_id)

    def task_of(self, broker_id: int) -> str:
        task = self.api.brokers()[broker_id].get("task")
        assert task is not None, f"broker {broker_id} has no task"
        return str(task["id"])

    def stored_tasks(self) -> dict[int, str | None] | None:
        """Task ids as stored on disk (file store), None when the store is not a file."""
        if self.storage and not self.storage.startswith("file:"):
            return None
        path = Path(self.storage[len("file:"):]) if self.storage else self.api.workdir / "kafka-mesos.json"
        brokers = json.loads(path.read_text())["brokers"]
        result: dict[int, str | None] = {}
        for key, record in brokers.items():
            task = record["data"].get("task")
            result[int(key)] = task.get("taskId", task.get("id")) if isinstance(task, dict) else None
        return result

    # ---- the invariant ---------------------------------------------------------------------------------

    def problem(self, zk: KazooClient | None = None) -> str | None:
        try:
            brokers = self.api.brokers()
        except OSError as e:
            return f"API unreachable: {e}"
        active = {i: b for i, b in brokers.items() if b["active"]}
        tasks = self.live_tasks()
        for broker_id, broker in active.items():
            task = broker.get("task")
            if task is None or task.get("state") != "running":
                return f"broker {broker_id} not running: {task}"
            mesos_task = tasks.get(task["id"])
            if mesos_task is None or mesos_task["state"] != "TASK_RUNNING":
                return f"broker {broker_id}: Mesos has {mesos_task and mesos_task['state']} for {task['id']}"
        ours = {b["task"]["id"] for b in active.values()}
        if set(tasks) != ours:
            return f"Mesos' live tasks {sorted(tasks)} are not the brokers' {sorted(ours)}"
        stored = self.stored_tasks()
        if stored is not None:
            stored_active = {tid for i, tid in stored.items() if i in active}
            if stored_active != ours:
                return f"the stored tasks {sorted(map(str, stored_active))} differ from Mesos' {sorted(ours)}"
        for task_id in ours:
            pids = self.broker_pids(task_id)
            if len(pids) != 1:
                return f"{len(pids)} broker processes for {task_id}"
        all_brokers = self.broker_pids()
        if len(all_brokers) != len(active):
            return f"{len(all_brokers)} broker processes alive for {len(active)} active brokers"
        if zk is not None:
            ids = zk.get_children("/brokers/ids") if zk.exists("/brokers/ids") else []
            registered = {int(c) for c in ids}
            if registered != set(active):
                return f"registered in ZooKeeper: {sorted(registered)}, active: {sorted(active)}"
        specs = {i: spec_of(b) for i, b in brokers.items()}
        if specs != self.expected:
            return f"broker specs changed: {specs} != {self.expected}"
        return None

    def wait_invariant(self, zk: KazooClient | None = None, timeout: float = 120) -> None:
        last: list[str | None] = [None]

        def holds() -> bool:
            last[0] = self.problem(zk)
            return last[0] is None

        try:
            wait_until(holds, timeout=timeout, interval=0.2, message="the invariant")
        except TimeoutError:
            listening = run_quiet(["ss", "-ltnpH"]).stdout
            brokers = {pid: _proc_info(pid) for pid in self.broker_pids()}
            raise AssertionError(f"invariant not restored within {timeout}s: {last[0]}\n"
                                 f"broker processes: {brokers}\nlistening:\n{listening}\n"
                                 f"scheduler log tail:\n{self.api.process.errors()[-3000:]}") from None


def kill(pid: int, sig: signal.Signals = signal.SIGKILL) -> None:
    os.kill(pid, sig)


def wait_gone(pid: int, timeout: float = 30) -> None:
    def gone() -> bool:
        info = _proc_info(pid)
        return info is None or info[1] == "Z"

    wait_until(gone, timeout=timeout, message=f"pid {pid} gone")


def run_quiet(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)
