"""Shared executors: which agent has one of ours that a new broker may be launched onto.

An executor that runs several brokers exits once its last broker has ended (after a short linger), so a
broker is only sent to an executor that still runs a broker nobody asked to stop: one that is about to
exit must not receive new work. Only executors whose ExecutorInfo this scheduler process still has are
candidates (Mesos wants the identical ExecutorInfo for every task of an executor); after a restart new
brokers get a new executor.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from kafka_mesos.core.model import TERMINAL_STATES, Broker


def reusable_executors(brokers: Iterable[Broker], known: Collection[str]) -> dict[str, str]:
    """agent id → id of a known executor there that runs a live broker (first such broker by id wins)."""
    found: dict[str, str] = {}
    for broker in sorted(brokers, key=lambda b: b.id):
        task = broker.task
        if task is None or task.stopping or task.state in TERMINAL_STATES or task.executor_id not in known:
            continue
        found.setdefault(task.agent_id, task.executor_id)
    return found


def executors_in_use(brokers: Iterable[Broker]) -> set[str]:
    """Executor ids some broker's task still names (the others can be forgotten)."""
    return {b.task.executor_id for b in brokers if b.task is not None}
