"""What an agent knows about one executor run, what it tells its master, and the ExecutorInfo of
the built-in command executor."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from kafka_mesos.localmesos.records import is_terminal
from kafka_mesos.localmesos.wire import EventStream
from kafka_mesos.mesos.pb import mesos_pb2 as mpb

TaskStatus = mpb.TaskStatus

PACKAGE_ROOT = Path(__file__).resolve().parent.parent.parent


def command_executor_info(task: mpb.TaskInfo, framework_id: str) -> mpb.ExecutorInfo:
    """The ExecutorInfo of the built-in command executor for a command task: executor id = task id,
    the task's URIs are fetched into its sandbox (as Mesos does)."""
    info = mpb.ExecutorInfo(
        name=f"Command Executor (Task: {task.task_id.value}) (Command: {task.command.value})"
    )
    info.executor_id.value = task.task_id.value
    info.framework_id.value = framework_id
    info.source = task.task_id.value
    command = info.command
    command.shell = False
    command.value = sys.executable
    command.arguments.extend([sys.executable, "-m", "kafka_mesos.localmesos.command_executor"])
    command.uris.extend(task.command.uris)
    command.environment.variables.add(name="PYTHONPATH", value=str(PACKAGE_ROOT))
    return info


class MasterLink(Protocol):
    """What an agent tells its master."""

    def forward_status_update(
        self, agent_id: str, framework_id: str, status: mpb.TaskStatus, latest_state: mpb.TaskState
    ) -> None: ...

    def executor_message(self, agent_id: str, framework_id: str, executor_id: str, data: bytes) -> None: ...

    def executor_exited(self, agent_id: str, framework_id: str, executor_id: str, status: int) -> None: ...


@dataclass
class ExecutorRun:
    framework_info: mpb.FrameworkInfo
    info: mpb.ExecutorInfo
    container_id: str
    directory: Path
    queued: dict[str, mpb.TaskInfo] = field(default_factory=dict)
    launched: dict[str, mpb.TaskInfo] = field(default_factory=dict)
    task_states: dict[str, int] = field(default_factory=dict)
    latest: dict[str, mpb.TaskStatus] = field(default_factory=dict)
    process: asyncio.subprocess.Process | None = None
    stream: EventStream | None = None
    subscribed: bool = False
    terminating: bool = False
    failure_state: mpb.TaskState = mpb.TASK_FAILED
    failure_reason: TaskStatus.Reason = TaskStatus.REASON_EXECUTOR_TERMINATED
    failure_message: str = "Executor terminated"
    # Killed at an agent restart (framework without checkpointing): the master reports its tasks.
    silent: bool = False
    timers: list[asyncio.TimerHandle] = field(default_factory=list)
    command_executor: bool = False

    @property
    def framework_id(self) -> str:
        return str(self.framework_info.id.value)

    @property
    def executor_id(self) -> str:
        return str(self.info.executor_id.value)

    def live_task_ids(self) -> list[str]:
        ids = list(self.queued) + list(self.launched)
        return [t for t in ids if not is_terminal(self.task_states.get(t, mpb.TASK_STAGING))]
