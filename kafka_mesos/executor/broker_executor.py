"""The executor's event handling: launch brokers, kill them, answer log requests, exit when done.

One executor may run several broker tasks at once (a shared per-agent executor); each has its own task
directory in the sandbox (:mod:`kafka_mesos.executor.task_dir`) and is killed on its own."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from kafka_mesos.executor.broker_task import BrokerTask
from kafka_mesos.executor.logs import answer_log_request, parse_request
from kafka_mesos.mesos.executor_session import PROTOBUF, ExecutorEnv, ExecutorSession, SessionEnd
from kafka_mesos.mesos.pb import executor_pb2, mesos_pb2

log = logging.getLogger(__name__)

SHUTDOWN_MARGIN_SECONDS = 1.0
MIN_STOP_GRACE_SECONDS = 0.5


class BrokerExecutor:
    def __init__(self, env: ExecutorEnv, content_type: str = PROTOBUF, linger: float = 0.0) -> None:
        self.env = env
        self.linger = linger
        """Seconds an idle executor waits for another LAUNCH before it exits (0: exit at once)."""
        self._linger_timer: asyncio.TimerHandle | None = None
        self.sandbox = Path(env.sandbox)  # the path inside the container, where this process runs
        self.session = ExecutorSession(env, self, content_type)
        self.tasks: dict[str, BrokerTask] = {}
        self.shutting_down = False
        self._background: set[asyncio.Task[Any]] = set()

    async def run(self) -> SessionEnd:
        """Until the last terminal update is acknowledged, SHUTDOWN, or the agent is gone for good."""
        try:
            end = await self.session.run()
        finally:
            await self._stop_everything()
        log.info("executor session ended: %s (%s)", end.value, self.session.end_detail)
        return end

    def _spawn(self, coroutine: Coroutine[Any, Any, Any], name: str) -> None:
        task = asyncio.create_task(coroutine, name=name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        task.add_done_callback(_log_failure)

    def request_shutdown(self, grace_seconds: float | None = None) -> None:
        """SHUTDOWN or a signal: stop every broker within the grace period, then exit."""
        self.shutting_down = True
        grace = grace_seconds
        if grace is None:
            grace = max(MIN_STOP_GRACE_SECONDS, self.env.shutdown_grace_period - SHUTDOWN_MARGIN_SECONDS)
        for task in self.tasks.values():
            if task.terminal_state is None:
                task.kill(min(grace, task.kill_grace) if task.kill_grace is not None else grace)
        self._maybe_finish()

    def _idle(self) -> bool:
        """Every task terminal and every update acknowledged."""
        all_terminal = all(task.terminal_state is not None for task in self.tasks.values())
        return all_terminal and not self.session.book.unacknowledged_updates

    def _maybe_finish(self) -> None:
        """Exit once idle (after the linger, unless shutting down); a task that has not ended cancels it."""
        if not self._idle():
            self._cancel_linger()
            return
        if not self.tasks and not self.shutting_down:
            return  # nothing was launched yet
        if self.shutting_down or self.linger <= 0:
            self._cancel_linger()
            self.session.stop()
            return
        if self._linger_timer is None:
            log.info("every task has ended; exiting in %gs unless another LAUNCH arrives", self.linger)
            self._linger_timer = asyncio.get_running_loop().call_later(self.linger, self._linger_over)

    def _linger_over(self) -> None:
        self._linger_timer = None
        if self._idle():
            log.info("no LAUNCH for %gs after the last task ended: exiting", self.linger)
            self.session.stop()

    def _cancel_linger(self) -> None:
        if self._linger_timer is not None:
            self._linger_timer.cancel()
            self._linger_timer = None

    async def _stop_everything(self) -> None:
        """On the way out no broker may be left running (the agent may be gone)."""
        self._cancel_linger()
        for task in self.tasks.values():
            if task.process is not None and task.process.returncode is None:
                grace = task.kill_grace if task.kill_grace is not None else 0.0
                task.kill_requested = True
                with contextlib.suppress(Exception):
                    await task.process.stop(min(grace, self.env.shutdown_grace_period))
        for background in list(self._background):
            background.cancel()
        for background in list(self._background):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await background

    # -- event handlers (awaited in stream order: keep them short) ----------------------------------------

    async def on_subscribed(self, subscribed: executor_pb2.Event.Subscribed) -> None:
        agent = subscribed.agent_info
        log.info("subscribed to agent %s (%s)", agent.id.value, agent.hostname)

    async def on_launch(self, task: mesos_pb2.TaskInfo) -> None:
        task_id = task.task_id.value
        if task_id in self.tasks:
            log.info("LAUNCH of %s again (resubscribe); ignored", task_id)
            return
        if self._linger_timer is not None:
            log.info("LAUNCH of %s while lingering: the executor stays", task_id)
            self._cancel_linger()
        broker = BrokerTask(task, self.sandbox, self.session.send_update)
        self.tasks[task_id] = broker
        if self.shutting_down:
            broker.kill(0.0)
        self._spawn(self._run_task(broker), name=f"broker-task-{task_id}")

    async def _run_task(self, broker: BrokerTask) -> None:
        await broker.run()
        if broker.terminal_state is None:  # cannot happen by construction; never leave a task hanging
            await broker.status(mesos_pb2.TASK_FAILED, "executor lost track of the broker")
        self._maybe_finish()

    async def on_kill(self, task_id: str, grace_seconds: float | None) -> None:
        broker = self.tasks.get(task_id)
        if broker is None:
            log.warning("KILL for unknown task %s", task_id)
            return
        if broker.terminal_state is None:
            broker.kill(grace_seconds)

    async def on_acknowledged(self, status: mesos_pb2.TaskStatus) -> None:
        self._maybe_finish()

    async def on_message(self, data: bytes) -> None:
        request = parse_request(data)
        if request is None or request.get("type") != "log":
            log.warning("ignoring framework message %r", data[:200])
            return
        self._spawn(self._answer_log(request), name="log-answer")

    async def _answer_log(self, request: dict[str, Any]) -> None:
        task_dirs = {task_id: task.task_dir for task_id, task in self.tasks.items()
                     if task.task_dir is not None}
        answer = await asyncio.to_thread(answer_log_request, request, self.sandbox, task_dirs)
        await self.session.send_message(json.dumps(answer).encode("utf-8"))

    async def on_shutdown(self) -> None:
        log.info("SHUTDOWN from the agent")
        self.request_shutdown()

    async def on_error(self, message: str) -> None:
        log.error("agent error: %s", message)


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("%s failed", task.get_name(), exc_info=task.exception())
