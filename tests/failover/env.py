"""End-to-end environment for failover tests: the local Mesos in a thread of the test process (so a test
can stop agents and restart the master), the real scheduler as a subprocess, the stand-in Kafka, and a real
ZooKeeper. Every agent advertises its own host name (`a0`, `a1`, ...; everything binds 127.0.0.1) and has
its own port range, as separate machines would.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import threading
import urllib.request
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from kafka_mesos.localmesos.cluster import LocalMesos
from kafka_mesos.localmesos.config import LocalMesosConfig
from tests.e2e.harness import SchedulerProcess, processes_in, start_scheduler
from tests.support.ports import wait_until

T = TypeVar("T")

AGENT_RESOURCES = "cpus:4;mem:8192;disk:20480;ports:[{first}-{last}]"
PORTS_PER_AGENT = 100


def agent_resources(agents: int) -> dict[int, str]:
    """Disjoint port ranges per agent, at a random place below the ephemeral range (other tests running at
    the same time on this machine use fixed ranges such as 31000-32000)."""
    base = random.randrange(20000, 30000 - agents * PORTS_PER_AGENT, PORTS_PER_AGENT)
    firsts = {n: base + n * PORTS_PER_AGENT for n in range(agents)}
    return {n: AGENT_RESOURCES.format(first=first, last=first + PORTS_PER_AGENT - 1)
            for n, first in firsts.items()}


class MesosThread:
    """A LocalMesos running on its own event loop in a background thread."""

    def __init__(self, work_dir: Path, agents: int = 3, attributes: dict[int, str] | None = None) -> None:
        self.config = LocalMesosConfig(
            agents=agents, work_dir=work_dir, agent_resources=agent_resources(agents),
            allocation_interval=0.2,
            agent_hostnames={i: f"a{i}" for i in range(agents)}, agent_attributes=dict(attributes or {}),
            status_update_retry_initial=1.0, status_update_retry_max=5.0,
        )
        self.work_dir = work_dir
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="local-mesos", daemon=True)
        self.mesos = LocalMesos(self.config)
        self.schedulers: list[SchedulerProcess] = []  # every scheduler started on it, stopped at the end

    def run(self, make: Callable[[], Coroutine[Any, Any, T]], timeout: float = 60.0) -> T:
        async def in_loop() -> T:
            return await make()

        return asyncio.run_coroutine_threadsafe(in_loop(), self.loop).result(timeout)

    def start(self) -> str:
        self.thread.start()
        self.run(self.mesos.start)
        return self.mesos.master_url

    def stop(self) -> None:
        try:
            self.run(self.mesos.stop)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(30)
            self.loop.close()

    def kill_agent(self, hostname: str) -> None:
        """The machine dies: its agent stops and every process under its work directory is killed."""
        index = next(i for i, a in enumerate(self.mesos.agents) if a.hostname == hostname)
        agent = self.mesos.agents[index]
        self.run(lambda: self.mesos.stop_agent(index))
        kill_processes_in(self.work_dir / "slaves" / agent.id)
        kill_processes_in(self.work_dir / "agents" / agent.id)

    def restart_master(self) -> None:
        self.run(self.mesos.restart_master)

    def state(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.mesos.master_url}/master/state", timeout=30) as response:
            result: dict[str, Any] = json.loads(response.read())
            return result

    def running_tasks(self) -> dict[str, dict[str, Any]]:
        """Task id -> task of every RUNNING task of every framework."""
        state = self.state()
        tasks = [t for f in state["frameworks"] for t in f["tasks"]]
        return {str(t["id"]): t for t in tasks if t["state"] == "TASK_RUNNING"}

    def live_tasks(self) -> list[dict[str, Any]]:
        state = self.state()
        return [t for f in state["frameworks"] for t in f["tasks"]]


def kill_processes_in(directory: Path) -> None:
    for pid in processes_in(directory, exclude={os.getpid()}):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@contextmanager
def failover_cluster(tmp_path: Path, zk_connect: str, dist: Path, *, agents: int = 3,
                     attributes: dict[int, str] | None = None,
                     scheduler_args: tuple[str, ...] = ()) -> Iterator[tuple[MesosThread, SchedulerProcess]]:
    """The local Mesos and a scheduler on it; at the end nothing is left running."""
    mesos = MesosThread(tmp_path / "mesos", agents=agents, attributes=attributes)
    master = mesos.start()
    try:
        scheduler = start_scheduler(tmp_path / "run", zk_connect, dist, master=master, use_wrapper=False,
                                    extra_args=scheduler_args)
        mesos.schedulers.append(scheduler)
        yield mesos, scheduler
    finally:
        for scheduler in mesos.schedulers:
            scheduler.process.stop()
        try:
            mesos.stop()
        finally:
            kill_processes_in(tmp_path / "mesos")


def restart_scheduler(tmp_path: Path, zk_connect: str, dist: Path, mesos: MesosThread,
                      scheduler_args: tuple[str, ...] = ()) -> SchedulerProcess:
    scheduler = start_scheduler(tmp_path / "run", zk_connect, dist, master=mesos.mesos.master_url,
                                use_wrapper=False, extra_args=scheduler_args)
    mesos.schedulers.append(scheduler)
    return scheduler


def broker_pid(mesos_dir: Path, broker_id: int) -> int:
    """The pid of the stand-in Kafka process of `broker_id` (found by its server.properties)."""
    def find() -> int | None:
        for pid in processes_in(mesos_dir, exclude={os.getpid()}):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if not any(part.endswith(b"standin_broker.py") for part in cmdline):
                continue
            config = next((p for p in cmdline if p.endswith(b"server.properties")), None)
            cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
            path = Path(config.decode()) if config else None
            if path is not None and not path.is_absolute():
                path = cwd / path
            if path is not None and path.exists() and f"broker.id={broker_id}\n" in path.read_text():
                return pid
        return None

    return wait_until(find, timeout=30, interval=0.1, message=f"stand-in process of broker {broker_id}")


def event_times(broker: dict[str, Any], kind: str) -> list[float]:
    """Times (epoch seconds) of the broker's recent events of `kind` (API dates are UTC, ms precision)."""
    return [parse_date(e["time"]) for e in broker.get("events") or [] if e["kind"] == kind]


def parse_date(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC).timestamp()


def wait_brokers(scheduler: SchedulerProcess, predicate: Callable[[dict[int, dict[str, Any]]], bool],
                 timeout: float, message: str) -> dict[int, dict[str, Any]]:
    last: dict[int, dict[str, Any]] = {}

    def check() -> bool:
        nonlocal last
        last = scheduler.brokers()
        return predicate(last)

    try:
        wait_until(check, timeout=timeout, interval=0.1, message=message)
    except TimeoutError as e:
        raise AssertionError(f"{e}; brokers: {json.dumps(last, indent=1)[-4000:]}") from None
    return last


def running(broker: dict[str, Any]) -> bool:
    return bool(broker.get("task", {}).get("state") == "running")

