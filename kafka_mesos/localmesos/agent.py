"""One local agent: its own `/api/v1/executor` endpoint on its own port (`executor_api`), executor
sandboxes and processes, and the status update manager."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from kafka_mesos.localmesos import launcher
from kafka_mesos.localmesos.config import LocalMesosConfig, format_duration
from kafka_mesos.localmesos.executor_api import ExecutorApi
from kafka_mesos.localmesos.executor_run import ExecutorRun, MasterLink
from kafka_mesos.localmesos.fetcher import FetcherCache, FetchError, fetch_all
from kafka_mesos.localmesos.resources import Resources
from kafka_mesos.localmesos.status_updates import StatusUpdateManager
from kafka_mesos.localmesos.wire import MAX_REQUEST_BYTES
from kafka_mesos.mesos.pb import executor_pb2 as epb
from kafka_mesos.mesos.pb import mesos_pb2 as mpb

log = logging.getLogger(__name__)
TaskStatus = mpb.TaskStatus


def _partition_aware(info: mpb.FrameworkInfo) -> bool:
    return any(c.type == mpb.FrameworkInfo.Capability.PARTITION_AWARE for c in info.capabilities)


class LocalAgent(ExecutorApi):
    def __init__(
        self,
        agent_id: str,
        index: int,
        config: LocalMesosConfig,
        work_dir: Path,
        resources: Resources,
        attributes: list[mpb.Attribute],
        master: MasterLink,
    ) -> None:
        self.id = agent_id
        self.index = index
        self.hostname = config.hostname_for(index)
        self.config = config
        self.work_dir = work_dir
        self.resources = resources
        self.attributes = attributes
        self.master = master
        self.port = 0
        self.runs: dict[tuple[str, str], ExecutorRun] = {}
        self.terminating_frameworks: set[str] = set()
        self.stopping = False
        self.updates = StatusUpdateManager(
            self._forward, config.status_update_retry_initial, config.status_update_retry_max
        )
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.fetcher_cache = FetcherCache(work_dir / "fetch" / agent_id)

    # ------------------------------------------------------------------ lifecycle

    async def start(self, session: aiohttp.ClientSession) -> None:
        self._session = session
        await self._serve(self.config.agent_port(self.index))

    async def _serve(self, port: int) -> None:
        app = web.Application(client_max_size=MAX_REQUEST_BYTES)
        for path in ("/api/v1/executor", "/slave(1)/api/v1/executor"):
            app.router.add_route("*", path, self._handle_executor_call)
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.ip, port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def restart(self) -> list[tuple[str, str]]:
        """The agent process restarts with `--recover=reconnect` (its state counts as checkpointed):
        executor streams end; executors of checkpointing frameworks must SUBSCRIBE again within
        `executor_reregistration_timeout` or are destroyed (tasks TASK_LOST/TASK_GONE,
        REASON_EXECUTOR_REREGISTRATION_TIMEOUT); the others are killed and their live tasks returned
        (framework id, task id) for the master to report."""
        for run in self.runs.values():
            if run.stream is not None:
                run.stream.close()
                run.stream = None
            run.subscribed = False
        if self._runner is not None:
            await self._runner.cleanup()
        self.fetcher_cache.close()
        self.fetcher_cache = FetcherCache(self.fetcher_cache.directory)  # a restarted agent fetches again
        lost: list[tuple[str, str]] = []
        loop = asyncio.get_running_loop()
        for run in list(self.runs.values()):
            if run.framework_info.checkpoint and run.process is not None and not run.terminating:
                timeout = self.config.executor_reregistration_timeout
                run.timers.append(loop.call_later(timeout, self._reregistration_timeout, run))
            else:
                lost.extend((run.framework_id, task_id) for task_id in run.live_task_ids())
                run.silent = True
                self._destroy(run)
        await self._serve(self.port)
        return lost

    async def stop(self) -> None:
        """Kill every executor's process group, reap the processes, close streams and the endpoint."""
        self.stopping = True
        self.updates.close()
        for run in list(self.runs.values()):
            run.terminating = True
            for timer in run.timers:
                timer.cancel()
            if run.stream is not None:
                run.stream.close()
            if run.process is not None:
                launcher.kill_group(run.process)
        if self._tasks:  # killed processes exit at once; a fetch in progress is cancelled
            _, pending = await asyncio.wait(list(self._tasks), timeout=5.0)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        self.fetcher_cache.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def pid(self) -> str:
        return f"slave(1)@{self.config.ip}:{self.port}"

    def agent_info(self) -> mpb.AgentInfo:
        info = mpb.AgentInfo(hostname=self.hostname, port=self.port)
        info.resources.extend(self.resources.to_pb(agent_format=True))
        info.attributes.extend(self.attributes)
        info.id.value = self.id
        return info

    # ------------------------------------------------------------------ from the master

    def launch(
        self, framework_info: mpb.FrameworkInfo, task: mpb.TaskInfo, executor: mpb.ExecutorInfo
    ) -> None:
        framework_id = framework_info.id.value
        key = (framework_id, executor.executor_id.value)
        self.terminating_frameworks.discard(framework_id)
        run = self.runs.get(key)
        if run is not None and not run.terminating:
            run.task_states[task.task_id.value] = mpb.TASK_STAGING
            if run.subscribed and run.stream is not None:
                run.launched[task.task_id.value] = task
                run.stream.send(epb.Event(type=epb.Event.LAUNCH, launch=epb.Event.Launch(task=task)))
            else:
                run.queued[task.task_id.value] = task
            return
        if run is not None:  # as Mesos: a task for an executor being torn down is dropped, not queued
            state = mpb.TASK_DROPPED if _partition_aware(framework_info) else mpb.TASK_LOST
            self._agent_update(run, task.task_id.value, state, TaskStatus.REASON_EXECUTOR_TERMINATED,
                               "Executor terminating")
            return
        container_id = str(uuid.uuid4())
        directory = launcher.sandbox_path(
            self.work_dir, self.id, framework_id, executor.executor_id.value, container_id
        )
        run = ExecutorRun(framework_info, executor, container_id, directory)
        run.command_executor = task.HasField("command")
        run.queued[task.task_id.value] = task
        run.task_states[task.task_id.value] = mpb.TASK_STAGING
        self.runs[key] = run
        self._spawn(self._run_executor(run))

    def kill_task(self, framework_id: str, task_id: str, kill_policy: mpb.KillPolicy | None) -> None:
        for run in self.runs.values():
            if run.framework_id != framework_id:
                continue
            if task_id in run.queued:
                run.queued.pop(task_id)
                self._agent_update(
                    run,
                    task_id,
                    mpb.TASK_KILLED,
                    TaskStatus.REASON_TASK_KILLED_DURING_LAUNCH,
                    "Killed before delivery to the executor",
                )
                if not run.live_task_ids() and not run.subscribed:
                    self.shutdown_executor(framework_id, run.executor_id)
                return
            if task_id in run.launched and run.stream is not None:
                kill = epb.Event.Kill()
                kill.task_id.value = task_id
                if kill_policy is not None:
                    kill.kill_policy.CopyFrom(kill_policy)
                run.stream.send(epb.Event(type=epb.Event.KILL, kill=kill))
                return

    def shutdown_executor(self, framework_id: str, executor_id: str) -> None:
        run = self.runs.get((framework_id, executor_id))
        if run is None or run.terminating:
            return
        run.terminating = True
        grace = self._grace_period(run.info)
        if run.subscribed and run.stream is not None:
            run.stream.send(epb.Event(type=epb.Event.SHUTDOWN))
            loop = asyncio.get_running_loop()
            run.timers.append(loop.call_later(grace, self._destroy, run))
        else:
            self._destroy(run)

    def shutdown_framework(self, framework_id: str) -> None:
        self.terminating_frameworks.add(framework_id)
        self.updates.drop_framework(framework_id)
        for run in list(self.runs.values()):
            if run.framework_id == framework_id:
                self.shutdown_executor(framework_id, run.executor_id)

    def acknowledge(self, framework_id: str, task_id: str, status_uuid: bytes) -> bool:
        return self.updates.acknowledge(framework_id, task_id, status_uuid)

    def send_message(self, framework_id: str, executor_id: str, data: bytes) -> None:
        run = self.runs.get((framework_id, executor_id))
        if run is not None and run.stream is not None and run.subscribed:
            run.stream.send(epb.Event(type=epb.Event.MESSAGE, message=epb.Event.Message(data=data)))

    def framework_resubscribed(self, framework_id: str) -> None:
        self.updates.resend_all(framework_id)

    # ------------------------------------------------------------------ executor processes

    def _grace_period(self, info: mpb.ExecutorInfo) -> float:
        if info.HasField("shutdown_grace_period"):
            return info.shutdown_grace_period.nanoseconds / 1e9
        return self.config.executor_shutdown_grace_period

    def _destroy(self, run: ExecutorRun) -> None:
        run.terminating = True
        if run.process is not None:
            launcher.kill_group(run.process)

    async def _run_executor(self, run: ExecutorRun) -> None:
        try:
            launcher.create_sandbox(run.directory)
            assert self._session is not None
            await fetch_all(list(run.info.command.uris), run.directory, self._session, self.fetcher_cache,
                            run.info.command.user or run.framework_info.user)
            env = launcher.ExecutorEnvironment(
                agent_id=self.id,
                agent_ip=self.config.ip,
                agent_port=self.port,
                framework_id=run.framework_id,
                executor_id=run.executor_id,
                directory=run.directory,
                checkpoint=run.framework_info.checkpoint,
                http_command_executor=run.command_executor,
                shutdown_grace_period=self._grace_period(run.info),
            ).variables(run.info.command)
            if run.terminating:
                raise FetchError("Executor was shut down before it started")
            run.process = await launcher.spawn(run.info.command, run.directory, env)
        except (FetchError, OSError) as exc:
            run.failure_reason = TaskStatus.REASON_CONTAINER_LAUNCH_FAILED
            run.failure_message = f"Failed to launch container: {exc}"
            self._executor_terminated(run, None)
            return
        loop = asyncio.get_running_loop()
        run.timers.append(
            loop.call_later(self.config.executor_registration_timeout, self._registration_timeout, run)
        )
        try:
            returncode = await run.process.wait()
        finally:
            launcher.kill_group(run.process)
        self._executor_terminated(run, launcher.wait_status(returncode))

    def _registration_timeout(self, run: ExecutorRun) -> None:
        if not run.subscribed and not run.terminating:
            run.failure_reason = TaskStatus.REASON_EXECUTOR_REGISTRATION_TIMEOUT
            run.failure_message = (
                "Executor did not register within "
                f"{format_duration(self.config.executor_registration_timeout)}"
            )
            self._destroy(run)

    def _reregistration_timeout(self, run: ExecutorRun) -> None:
        if not run.subscribed and not run.terminating:
            run.failure_state = mpb.TASK_GONE if _partition_aware(run.framework_info) else mpb.TASK_LOST
            run.failure_reason = TaskStatus.REASON_EXECUTOR_REREGISTRATION_TIMEOUT
            timeout = format_duration(self.config.executor_reregistration_timeout)
            run.failure_message = f"Executor did not reregister within {timeout}"
            self._destroy(run)

    def _executor_terminated(self, run: ExecutorRun, status: int | None) -> None:
        if self.stopping:
            return
        for timer in run.timers:
            timer.cancel()
        if run.stream is not None:
            run.stream.close()
        if run.framework_id not in self.terminating_frameworks and not run.silent:
            for task_id in run.live_task_ids():
                self._agent_update(run, task_id, run.failure_state, run.failure_reason, run.failure_message)
        if self.runs.get((run.framework_id, run.executor_id)) is run:
            del self.runs[(run.framework_id, run.executor_id)]
        self.master.executor_exited(self.id, run.framework_id, run.executor_id, status or 0)

    # ------------------------------------------------------------------ status updates

    def _forward(self, framework_id: str, status: mpb.TaskStatus, latest_state: mpb.TaskState) -> None:
        self.master.forward_status_update(self.id, framework_id, status, latest_state)

    def _agent_update(
        self, run: ExecutorRun, task_id: str, state: mpb.TaskState, reason: TaskStatus.Reason, message: str
    ) -> None:
        status = mpb.TaskStatus(state=state, source=TaskStatus.SOURCE_AGENT, reason=reason, message=message)
        status.task_id.value = task_id
        status.agent_id.value = self.id
        status.executor_id.value = run.executor_id
        status.timestamp = time.time()
        status.uuid = uuid.uuid4().bytes
        run.task_states[task_id] = state
        run.latest[task_id] = status
        self.updates.add(run.framework_id, status)

    def _executor_update(self, run: ExecutorRun, status: mpb.TaskStatus) -> None:
        status.agent_id.value = self.id
        container = status.container_status
        container.container_id.value = run.container_id
        if run.process is not None:
            container.executor_pid = run.process.pid
        del container.network_infos[:]
        container.network_infos.add().ip_addresses.add(ip_address=self.config.ip)
        task_id = status.task_id.value
        if self.updates.add(run.framework_id, status):
            run.task_states[task_id] = status.state
            run.latest[task_id] = status
            if task_id in run.queued and status.state != mpb.TASK_STAGING:
                run.launched[task_id] = run.queued.pop(task_id)
        ack = epb.Event.Acknowledged(uuid=status.uuid)
        ack.task_id.value = task_id
        if run.stream is not None:
            run.stream.send(epb.Event(type=epb.Event.ACKNOWLEDGED, acknowledged=ack))
