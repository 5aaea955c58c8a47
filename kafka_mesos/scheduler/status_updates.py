"""What a status update means for a broker (pure): its new observed state and whether to kill the task."""

from __future__ import annotations

import dataclasses

from kafka_mesos.core.model import TASK_KILLED, TASK_RUNNING, TERMINAL_STATES, Broker
from kafka_mesos.scheduler.decisions import StatusInfo


def apply_status(broker: Broker, info: StatusInfo, now: float) -> tuple[Broker, bool]:
    """The broker after this status update, and whether the task must be killed (a stale duplicate)."""
    task = broker.task
    terminal = info.state in TERMINAL_STATES
    if task is None or task.task_id != info.task_id:
        return broker, not terminal
    b = broker.copy()
    if terminal:
        b.task = None
        detail = " ".join(x for x in (info.state, info.reason or "", info.message or "") if x)
        if task.stopping or (info.state == TASK_KILLED and not broker.active):
            b.failover = broker.failover.reset()
            b.stickiness = dataclasses.replace(broker.stickiness, hostname=task.hostname, port=task.port,
                                               stop_time=now)
            return b.with_event(now, "stopped", detail), False
        failures = broker.failover.failures + 1
        b.failover = dataclasses.replace(broker.failover, failures=failures, failure_time=now, reason=detail)
        if broker.failover.failures == 0:
            b.stickiness = dataclasses.replace(broker.stickiness, hostname=task.hostname, port=task.port,
                                               stop_time=now)
        b = b.with_event(now, "failed", detail)
        if b.failover.exhausted():
            b.active = False
            b = b.with_event(now, "deactivated", "failure limit exceeded, deactivating broker")
        return b, False
    endpoint = task.endpoint
    if info.state == TASK_RUNNING and info.data:
        endpoint = info.data.decode("utf-8", "replace")
    running_since = task.running_since
    if info.state == TASK_RUNNING and running_since is None:
        running_since = now
    b.task = dataclasses.replace(task, state=info.state, reconciling=False, endpoint=endpoint,
                                 message=info.message or task.message, running_since=running_since)
    if info.state == TASK_RUNNING:
        b.failover = broker.failover.reset()
        b.stickiness = dataclasses.replace(broker.stickiness, hostname=task.hostname, port=task.port)
    if info.state != task.state:
        b = b.with_event(now, info.state.removeprefix("TASK_").lower(), info.message or "")
    return b, False
