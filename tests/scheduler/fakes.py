"""A fake Mesos session and a fake cluster state that write into one shared, ordered journal."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kafka_mesos.core.model import Broker
from kafka_mesos.mesos.pb import mesos_pb2, scheduler_pb2
from kafka_mesos.scheduler.scheduler import Scheduler, SchedulerConfig
from kafka_mesos.scheduler.translate import LaunchContext

Call = scheduler_pb2.Call
Event = scheduler_pb2.Event


@dataclass
class Journal:
    entries: list[tuple[str, Any]] = field(default_factory=list)

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.entries]

    def calls(self, call_type: int | None = None) -> list[scheduler_pb2.Call]:
        return [c for kind, c in self.entries
                if kind == "call" and (call_type is None or c.type == call_type)]

    def index(self, predicate: Any) -> int:
        for i, entry in enumerate(self.entries):
            if predicate(entry):
                return i
        raise AssertionError(f"no journal entry matches; journal: {self.kinds()}")


class FakeCaller:
    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.fail_next: Exception | None = None

    async def call(self, call: scheduler_pb2.Call) -> None:
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error
        self.journal.entries.append(("call", call))


class FakeCluster:
    def __init__(self, journal: Journal, brokers: Sequence[Broker] = (), framework_id: str | None = None):
        self.journal = journal
        self.brokers = {b.id: b for b in brokers}
        self._framework_id = framework_id

    @property
    def framework_id(self) -> str | None:
        return self._framework_id

    async def set_framework_id(self, framework_id: str | None) -> None:
        self.journal.entries.append(("framework_id", framework_id))
        self._framework_id = framework_id

    def snapshot(self) -> Mapping[int, Broker]:
        return dict(self.brokers)

    async def mutate(self, ids: Sequence[int], change: Callable[[Broker], Broker]) -> Mapping[int, Broker]:
        changed = {i: change(self.brokers[i].copy()) for i in ids if i in self.brokers}
        self.journal.entries.append(("save", [b.copy() for b in changed.values()]))
        self.brokers.update(changed)
        return changed


def launch_context() -> LaunchContext:
    return LaunchContext(framework_name="kafka", api_url="http://127.0.0.1:7000", zk_connect="127.0.0.1:2181",
                         dist_name="kafka_2.13-3.7.0.tgz", dist_top_dir="kafka_2.13-3.7.0")


def make_scheduler(brokers: Sequence[Broker], now: float = 1000.0, **config: Any) -> tuple[
        Scheduler, FakeCluster, FakeCaller, Journal]:
    journal = Journal()
    cluster = FakeCluster(journal, brokers)
    caller = FakeCaller(journal)
    settings = {"launch": launch_context(), "revive_interval": 0.0, "batch_updates": False, **config}
    scheduler = Scheduler(cluster, SchedulerConfig(**settings), clock=lambda: now)
    scheduler.attach(caller)
    return scheduler, cluster, caller, journal


def scalar(name: str, value: float) -> mesos_pb2.Resource:
    return mesos_pb2.Resource(name=name, type=mesos_pb2.Value.SCALAR,
                              scalar=mesos_pb2.Value.Scalar(value=value), role="*")


def offer(offer_id: str, agent: str, host: str, cpus: float = 4, mem: float = 8192,
          ports: tuple[int, int] = (31000, 32000)) -> mesos_pb2.Offer:
    return mesos_pb2.Offer(
        id=mesos_pb2.OfferID(value=offer_id), framework_id=mesos_pb2.FrameworkID(value="fw"),
        agent_id=mesos_pb2.AgentID(value=agent), hostname=host,
        resources=[
            scalar("cpus", cpus), scalar("mem", mem),
            mesos_pb2.Resource(name="ports", type=mesos_pb2.Value.RANGES, role="*",
                               ranges=mesos_pb2.Value.Ranges(
                                   range=[mesos_pb2.Value.Range(begin=ports[0], end=ports[1])])),
        ],
    )


def offers_event(*offers: mesos_pb2.Offer) -> scheduler_pb2.Event:
    return Event(type=Event.OFFERS, offers=Event.Offers(offers=list(offers)))


def update_event(task_id: str, state: str, agent: str = "S1", data: bytes = b"", with_uuid: bool = True,
                 reason: str | None = None, message: str | None = None) -> scheduler_pb2.Event:
    status = mesos_pb2.TaskStatus(task_id=mesos_pb2.TaskID(value=task_id),
                                  state=mesos_pb2.TaskState.Value(state),
                                  agent_id=mesos_pb2.AgentID(value=agent), data=data)
    if with_uuid:
        status.uuid = uuid.uuid4().bytes
    if reason is not None:
        status.reason = mesos_pb2.TaskStatus.Reason.Value(reason)
    if message is not None:
        status.message = message
    return Event(type=Event.UPDATE, update=Event.Update(status=status))
