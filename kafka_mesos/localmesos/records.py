"""The master's bookkeeping: frameworks, agents, offers, tasks, executors, filters."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kafka_mesos.localmesos.resources import UNRESERVED, Resources
from kafka_mesos.localmesos.wire import EventStream
from kafka_mesos.mesos.pb import mesos_pb2 as mpb

if TYPE_CHECKING:
    from kafka_mesos.localmesos.agent import LocalAgent

TERMINAL_STATES = frozenset(
    {
        mpb.TASK_FINISHED,
        mpb.TASK_FAILED,
        mpb.TASK_KILLED,
        mpb.TASK_ERROR,
        mpb.TASK_LOST,
        mpb.TASK_DROPPED,
        mpb.TASK_GONE,
        mpb.TASK_GONE_BY_OPERATOR,
    }
)
MAX_REFUSE_SECONDS = 365 * 24 * 3600.0
MAX_COMPLETED_TASKS = 1000  # Mesos' --max_completed_tasks_per_framework


def is_terminal(state: int) -> bool:
    return state in TERMINAL_STATES


@dataclass
class RefusalFilter:
    resources: Resources
    expires_at: float


@dataclass
class TaskRecord:
    info: mpb.TaskInfo
    framework_id: str
    agent_id: str
    executor_id: str | None
    role: str
    resources: Resources
    state: mpb.TaskState = mpb.TASK_STAGING
    statuses: list[mpb.TaskStatus] = field(default_factory=list)
    seen_uuids: set[bytes] = field(default_factory=set)

    @property
    def task_id(self) -> str:
        return str(self.info.task_id.value)

    def latest_status(self) -> mpb.TaskStatus | None:
        return self.statuses[-1] if self.statuses else None


@dataclass
class ExecutorRecord:
    info: mpb.ExecutorInfo
    framework_id: str
    agent_id: str
    role: str
    resources: Resources


@dataclass
class OfferRecord:
    id: str
    framework_id: str
    agent_id: str
    role: str
    resources: Resources
    message: mpb.Offer


@dataclass
class AgentRecord:
    id: str
    index: int
    agent: LocalAgent
    total: Resources
    attributes: list[mpb.Attribute]
    registered_time: float
    tasks: dict[tuple[str, str], TaskRecord] = field(default_factory=dict)
    executors: dict[tuple[str, str], ExecutorRecord] = field(default_factory=dict)
    offers: dict[str, OfferRecord] = field(default_factory=dict)
    active: bool = True

    def used(self) -> Resources:
        total = Resources()
        for task in self.tasks.values():
            if not is_terminal(task.state):
                total = total + task.resources
        for executor in self.executors.values():
            total = total + executor.resources
        return total

    def offered(self) -> Resources:
        total = Resources()
        for offer in self.offers.values():
            total = total + offer.resources
        return total

    def available(self) -> Resources:
        if not self.tasks and not self.executors and not self.offers:
            return self.total
        return self.total - self.used() - self.offered()


@dataclass
class FrameworkRecord:
    id: str
    info: mpb.FrameworkInfo
    registered_time: float
    stream: EventStream | None = None
    stream_id: str | None = None
    connected: bool = False
    active: bool = False
    recovered: bool = False
    unregistered_time: float = 0.0
    suppressed_roles: set[str] = field(default_factory=set)
    filters: dict[tuple[str, str], RefusalFilter] = field(default_factory=dict)
    offers: dict[str, OfferRecord] = field(default_factory=dict)
    tasks: dict[str, TaskRecord] = field(default_factory=dict)
    completed_tasks: list[TaskRecord] = field(default_factory=list)
    executors: dict[tuple[str, str], ExecutorRecord] = field(default_factory=dict)
    failover_timer: asyncio.TimerHandle | None = None
    heartbeat_timer: asyncio.TimerHandle | None = None

    def capability(self, name: str) -> bool:
        wanted = mpb.FrameworkInfo.Capability.Type.Value(name)
        return any(c.type == wanted for c in self.info.capabilities)

    @property
    def multi_role(self) -> bool:
        return self.capability("MULTI_ROLE")

    @property
    def partition_aware(self) -> bool:
        return self.capability("PARTITION_AWARE")

    def roles(self) -> list[str]:
        if self.multi_role:
            return list(self.info.roles)
        return [self.info.role if self.info.HasField("role") else UNRESERVED]

    def complete_task(self, task: TaskRecord) -> None:
        self.completed_tasks.append(task)
        del self.completed_tasks[:-MAX_COMPLETED_TASKS]

    def send(self, event: object) -> None:
        if self.stream is not None and self.connected:
            self.stream.send(event)
