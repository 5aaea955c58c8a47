"""One launched task = one Kafka broker: write its task directory, start, watch, stop, report."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from kafka_mesos.executor.broker_process import BrokerProcess
from kafka_mesos.executor.logs import failure_excerpt
from kafka_mesos.executor.registration import RegistrationWatch
from kafka_mesos.executor.task_dir import BadTaskId, TaskDir
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


LOG4J_CONFIG_PROPERTIES = ("-Dlog4j.configuration=", "-Dlog4j2.configurationFile=")


@dataclass(frozen=True)
class PreparedLaunch:
    dist_dir: Path
    """The shared, read-only distribution (``bin/kafka-server-start.sh`` is run from there)."""
    log4j_rendered: bool
    """Whether the task directory has a ``config/log4j.properties`` for this broker."""


def prepare_launch(spec: LaunchSpec, sandbox: Path, task_dir: TaskDir) -> PreparedLaunch:
    """Find the unpacked distribution and write the broker's config files into its task directory.

    The distribution's own files are the base of the rendered ones; the distribution is never written to."""
    dist_dir = find_extracted_distribution(sandbox, spec.dist_dir)
    task_dir.create()
    server_base = _read_if_present(dist_dir / "config" / "server.properties")
    task_dir.server_properties.write_text(
        render_server_properties(server_base, spec, str(task_dir.root)), encoding="utf-8"
    )
    log4j_base = _read_if_present(dist_dir / "config" / "log4j.properties")
    log4j_rendered = bool(log4j_base or spec.log4j_options)
    if log4j_rendered:
        task_dir.log4j_properties.write_text(render_log4j_properties(log4j_base, spec), encoding="utf-8")
    return PreparedLaunch(dist_dir, log4j_rendered)


def _read_if_present(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""


def launch_environment(spec: LaunchSpec, task_dir: TaskDir, log4j_rendered: bool,
                       inherited: Mapping[str, str]) -> dict[str, str]:
    """What ``kafka-server-start.sh``/``kafka-run-class.sh`` read, on top of the ``inherited`` environment.

    ``LOG_DIR`` is always the task's ``logs/`` (brokers sharing a sandbox must not share log files).
    ``KAFKA_LOG4J_OPTS`` points at the rendered log4j file unless the operator chose a log4j configuration
    already (in the executor's environment or the broker's JVM options)."""
    env = broker_environment(spec)
    env["LOG_DIR"] = str(task_dir.logs)
    operator_chose = bool(inherited.get("KAFKA_LOG4J_OPTS", "").strip()) or any(
        option in spec.jvm_options for option in LOG4J_CONFIG_PROPERTIES
    )
    if log4j_rendered and not operator_chose:
        env["KAFKA_LOG4J_OPTS"] = f"-Dlog4j.configuration=file:{task_dir.log4j_properties}"
    return env


class BrokerTask:
    def __init__(self, task: mesos_pb2.TaskInfo, sandbox: Path, send: SendStatus) -> None:
        self.task = task
        self.task_id = task.task_id.value
        self.sandbox = sandbox
        self._send = send
        self.spec: LaunchSpec | None = None
        self.task_dir: TaskDir | None = None
        """``<sandbox>/<task_id>/``; None only when the task id cannot name a directory."""
        self._bad_task_id: BadTaskId | None = None
        try:
            self.task_dir = TaskDir.of(sandbox, self.task_id)
        except BadTaskId as exc:
            self._bad_task_id = exc
        self.launch: PreparedLaunch | None = None
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
        task_dir = self.task_dir
        if task_dir is None:
            await self.status(mesos_pb2.TASK_FAILED, f"cannot launch the broker: {self._bad_task_id}")
            return
        watch = RegistrationWatch(spec.zookeeper_connect, spec.broker_id)
        # ZooKeeper is asked about old registrations while the config files are written
        preparing = asyncio.create_task(watch.prepare(), name=f"zk-prepare-{self.task_id}")
        try:
            try:
                self.launch = await asyncio.to_thread(prepare_launch, spec, self.sandbox, task_dir)
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
        assert self.launch is not None and self.task_dir is not None
        env = launch_environment(spec, self.task_dir, self.launch.log4j_rendered, os.environ)
        process = BrokerProcess(self.launch.dist_dir, self.task_dir, env)
        try:
            await process.start()
        except OSError as exc:
            await self.status(mesos_pb2.TASK_FAILED, f"cannot start {self.launch.dist_dir.name}: {exc}")
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
        assert self.task_dir is not None
        excerpt = failure_excerpt(self.task_dir)
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
