"""One launched task = one Kafka broker: prepare the distribution, start, watch, stop, report."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from kafka_mesos.executor.broker_process import BrokerProcess
from kafka_mesos.executor.logs import failure_excerpt
from kafka_mesos.executor.registration import RegistrationWatch
from kafka_mesos.kafka.config import broker_environment, render_log4j_properties, render_server_properties
from kafka_mesos.kafka.distribution import DistributionNotFound, find_extracted_distribution
from kafka_mesos.kafka.launch import LaunchSpec, LaunchSpecError
from kafka_mesos.mesos.pb import mesos_pb2

log = logging.getLogger(__name__)

SendStatus = Callable[[mesos_pb2.TaskStatus], Awaitable[bytes]]
TERMINAL_STATES = frozenset(
    {mesos_pb2.TASK_FINISHED, mesos_pb2.TASK_FAILED, mesos_pb2.TASK_KILLED, mesos_pb2.TASK_ERROR,
     mesos_pb2.TASK_LOST, mesos_pb2.TASK_DROPPED, mesos_pb2.TASK_GONE}
)


class LaunchError(RuntimeError):
    pass


def prepare_distribution(spec: LaunchSpec, sandbox: Path) -> Path:
    """Find the unpacked distribution and write its config files; returns the distribution directory."""
    dist_dir = find_extracted_distribution(sandbox, spec.dist_dir)
    config = dist_dir / "config"
    server_base = _original_text(config / "server.properties")
    (config / "server.properties").write_text(
        render_server_properties(server_base, spec, str(sandbox)), encoding="utf-8"
    )
    log4j_base = _original_text(config / "log4j.properties")
    if log4j_base or spec.log4j_options:
        (config / "log4j.properties").write_text(render_log4j_properties(log4j_base, spec), encoding="utf-8")
    return dist_dir


def _original_text(target: Path) -> str:
    """The distribution's own version of a config file (kept as ``<name>.dist`` before the first rewrite)."""
    original = target.with_name(target.name + ".dist")
    if target.exists() and not original.exists():
        original.write_bytes(target.read_bytes())
    return original.read_text(encoding="utf-8") if original.exists() else ""


class BrokerTask:
    def __init__(self, task: mesos_pb2.TaskInfo, sandbox: Path, send: SendStatus) -> None:
        self.task = task
        self.task_id = task.task_id.value
        self.sandbox = sandbox
        self._send = send
        self.spec: LaunchSpec | None = None
        self.dist_dir: Path | None = None
        self.process: BrokerProcess | None = None
        self.kill_requested = False
        self.kill_grace: float | None = None
        self.terminal_state: int | None = None
        self._stop_task: asyncio.Task[int] | None = None
        self._escalations: set[asyncio.Task[None]] = set()

    async def status(self, state: int, message: str = "", data: bytes | None = None,
                     reason: int | None = None) -> None:
        status = mesos_pb2.TaskStatus()
        status.task_id.CopyFrom(self.task.task_id)
        status.state = state  # type: ignore[assignment]
        if message:
            status.message = message
        if data is not None:
            status.data = data
        if reason is not None:
            status.reason = reason  # type: ignore[assignment]
        if state in TERMINAL_STATES:
            self.terminal_state = state
        first_line = (message.splitlines() or [""])[0]
        log.info("%s %s: %s", self.task_id, mesos_pb2.TaskState.Name(status.state), first_line)
        await self._send(status)

    async def run(self) -> None:
        """The whole life of the task; ends after its terminal update was sent."""
        try:
            spec = self._parse_spec()
        except LaunchError as exc:
            await self.status(mesos_pb2.TASK_FAILED, f"cannot launch the broker: {exc}")
            return
        watch = RegistrationWatch(spec.zookeeper_connect, spec.broker_id)
        # ZooKeeper is asked about old registrations while the config files are written
        preparing = asyncio.create_task(watch.prepare(), name=f"zk-prepare-{self.task_id}")
        try:
            try:
                self.dist_dir = await asyncio.to_thread(prepare_distribution, spec, self.sandbox)
            except (DistributionNotFound, OSError) as exc:
                await self.status(mesos_pb2.TASK_FAILED, f"cannot launch the broker: {exc}")
                return
            await preparing
            if self.kill_requested:
                await self.status(mesos_pb2.TASK_KILLED, "killed before the broker started")
                return
            await self._start_and_supervise(spec, watch)
        finally:
            preparing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await preparing
            await watch.close()

    def _parse_spec(self) -> LaunchSpec:
        try:
            spec = LaunchSpec.from_json(self.task.data)
        except LaunchSpecError as exc:
            raise LaunchError(str(exc)) from exc
        self.spec = spec
        if self.kill_grace is None:
            self.kill_grace = spec.stop_grace_seconds
        return spec

    async def _start_and_supervise(self, spec: LaunchSpec, watch: RegistrationWatch) -> None:
        assert self.dist_dir is not None
        process = BrokerProcess(self.dist_dir, self.sandbox, broker_environment(spec))
        try:
            await process.start()
        except OSError as exc:
            await self.status(mesos_pb2.TASK_FAILED, f"cannot start {self.dist_dir.name}: {exc}")
            return
        self.process = process
        if self.kill_requested:  # a KILL arrived while the process was being spawned
            self.kill(None)
        await self.status(mesos_pb2.TASK_STARTING, f"kafka started, pid {process.pid}")
        exited = asyncio.create_task(process.wait(), name=f"kafka-exit-{self.task_id}")
        registered = asyncio.create_task(watch.wait(), name=f"kafka-registration-{self.task_id}")
        try:
            await asyncio.wait({exited, registered}, return_when=asyncio.FIRST_COMPLETED)
            if registered.done() and not exited.done() and not self.kill_requested:
                registration = registered.result()
                endpoint = registration.endpoint() or spec.endpoint
                await self.status(mesos_pb2.TASK_RUNNING, f"broker {spec.broker_id} registered as {endpoint}",
                                  data=endpoint.encode())
            code = await exited
        finally:
            for task in (exited, registered):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        for pending in (self._stop_task, *self._escalations):
            if pending is not None:
                with contextlib.suppress(Exception):
                    await pending
        await self._report_exit(code, process)

    async def _report_exit(self, code: int, process: BrokerProcess) -> None:
        if self.kill_requested:
            how = "forcibly (SIGKILL after the grace period)" if process.force_killed else "cleanly"
            await self.status(mesos_pb2.TASK_KILLED, f"broker stopped {how}, exit code {code}")
            return
        excerpt = failure_excerpt(self.sandbox, self.dist_dir)
        await self.status(mesos_pb2.TASK_FAILED, f"kafka exited with code {code}; {excerpt}")

    def kill(self, grace_seconds: float | None) -> None:
        """Ask the broker to stop; the terminal update follows from :meth:`run` when it has exited.

        A second request with a shorter grace period (a forced stop after a graceful one) shortens it."""
        log.info("%s: stop requested (grace %s s)", self.task_id, grace_seconds)
        self.kill_requested = True
        if self._stop_task is None:
            if grace_seconds is not None:
                self.kill_grace = grace_seconds
            if self.process is not None:
                grace = self.kill_grace if self.kill_grace is not None else 0.0
                stopping = self.process.stop(grace)
                self._stop_task = asyncio.create_task(stopping, name=f"kafka-stop-{self.task_id}")
            return
        current = self.kill_grace if self.kill_grace is not None else 0.0
        if grace_seconds is not None and grace_seconds < current and self.process is not None:
            self.kill_grace = grace_seconds
            killing = self.process.kill_after(grace_seconds)
            self._escalations.add(asyncio.create_task(killing, name=f"kafka-kill-{self.task_id}"))
