"""Rolling restart: a batch of brokers at a time (one by default) is stopped, started, waited for until
RUNNING and, before the next batch, until it is back in the ISR of every partition it replicates (Kafka's
``/brokers/topics/*/partitions/*/state``). A restart that cannot continue stops there and says where.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from kafka_mesos.api.cluster import ApiCluster, Changes, wait_until
from kafka_mesos.api.control import SchedulerControl
from kafka_mesos.core.expr import format_broker_ids
from kafka_mesos.core.model import Broker
from kafka_mesos.kafka.topics import TopicBackend

Json = dict[str, Any]
REPLICATION_POLL_SECONDS = 0.5


class ReplicaView(Protocol):
    async def lagging_partitions(self, broker_id: int) -> list[str]:
        """``topic:partition`` of every partition with `broker_id` among its replicas but not in its ISR."""
        ...


class TopicReplicas:
    """`ReplicaView` on Kafka's topic metadata."""

    def __init__(self, topics: TopicBackend) -> None:
        self.topics = topics

    async def lagging_partitions(self, broker_id: int) -> list[str]:
        topics = await self.topics.read_topics(await self.topics.topic_names())
        lagging = []
        for name, topic in sorted(topics.items()):
            for partition, replicas in sorted(topic.partitions.items()):
                state = topic.states.get(partition)
                if broker_id in replicas and (state is None or broker_id not in state.isr):
                    lagging.append(f"{name}:{partition}")
        return lagging


def batches(ids: Sequence[int], size: int) -> list[list[int]]:
    return [list(ids[i:i + size]) for i in range(0, len(ids), max(1, size))]


def _deactivated(broker: Broker) -> Broker:
    return replace(broker.copy(), active=False, failover=broker.failover.reset())


def _activated(broker: Broker) -> Broker:
    return replace(broker.copy(), active=True, failover=broker.failover.reset())


def _stopped(broker: Broker | None) -> bool:
    return broker is None or broker.task is None


def _running(broker: Broker | None) -> bool:
    return broker is not None and broker.task is not None and broker.task.running and not broker.task.stopping


Reached = Callable[[Broker | None], bool]


def _all_of(group: list[int], reached: Reached) -> Callable[[Mapping[int, Broker]], bool]:
    return lambda brokers: all(reached(brokers.get(i)) for i in group)


@dataclass
class RollingRestart:
    cluster: ApiCluster
    control: SchedulerControl
    replicas: ReplicaView | None = None
    poll_interval: float = REPLICATION_POLL_SECONDS

    async def run(self, ids: Sequence[int], *, batch: int, deadline: float, wait_replication: bool,
                  describe: Callable[[Sequence[int]], list[Json]]) -> Json:
        """Restart `ids` in order, `batch` at a time, all before the loop time `deadline`."""
        done: list[int] = []
        steps: tuple[tuple[str, Callable[[Broker], Broker], Callable[[Broker | None], bool]], ...] = (
            ("stop", _deactivated, _stopped), ("start", _activated, _running))
        for group in batches(ids, batch):
            for step, change, reached in steps:
                await self._apply(group, change)
                self.control.wake()
                if not await wait_until(self.cluster, _all_of(group, reached), deadline):
                    return self._stuck(ids, done, group, step, describe)
            if wait_replication and self.replicas is not None:
                lagging = await self._wait_in_sync(group, deadline)
                if lagging:
                    return self._stuck(ids, done, group, "replication", describe,
                                       f" (not in the ISR of {', '.join(lagging[:10])})")
            done.extend(group)
        return {"status": "restarted", "restarted": [str(i) for i in ids], "brokers": describe(ids)}

    async def _apply(self, group: list[int], change: Callable[[Broker], Broker]) -> None:
        def decide(brokers: Mapping[int, Broker]) -> Changes:
            return {i: change(brokers[i]) for i in group if i in brokers}

        await self.cluster.transact(decide)

    async def _wait_in_sync(self, group: list[int], deadline: float) -> list[str]:
        """Wait until each broker of `group` is in the ISR of its partitions; returns what still lags."""
        assert self.replicas is not None
        loop = asyncio.get_running_loop()
        while True:
            lagging: list[str] = []
            for broker_id in group:
                try:
                    partitions = await self.replicas.lagging_partitions(broker_id)
                    lagging += [f"{p} (broker {broker_id})" for p in partitions]
                except Exception as e:  # ZooKeeper unreachable for a moment: keep waiting until the deadline
                    lagging.append(f"unknown: {type(e).__name__}: {e}")
            if not lagging or loop.time() >= deadline:
                return lagging
            await asyncio.sleep(min(self.poll_interval, max(0.0, deadline - loop.time())))

    @staticmethod
    def _stuck(ids: Sequence[int], done: list[int], group: list[int], step: str,
               describe: Callable[[Sequence[int]], list[Json]], detail: str = "") -> Json:
        noun = "broker" if len(group) == 1 else "brokers"
        remaining = [i for i in ids if i not in done and i not in group]
        message = f"{noun} {format_broker_ids(group)} timeout on {step}{detail}"  # (mesos/kafka's text)
        progress = []
        if step == "stop":
            progress.append(f"left stopped: start with `broker start {format_broker_ids(group)}`")
        if done:
            progress.append(f"restarted: {format_broker_ids(done)}")
        if remaining:
            progress.append(f"not restarted: {format_broker_ids(remaining)}")
        return {"status": "timeout", "message": message, "progress": "; ".join(progress), "step": step,
                "restarted": [str(i) for i in done], "current": [str(i) for i in group],
                "remaining": [str(i) for i in remaining], "brokers": describe(group)}
