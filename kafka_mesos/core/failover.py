"""Failover policy and stickiness windows (mesos/kafka §9.5, §9.6), as pure functions of ``now``.

After an unasked terminal state the next launch waits ``delay * 2**(failures-1)``, capped at
``max_delay``; at ``max_tries`` consecutive failures the broker is deactivated with the reason kept.
A broker that has been RUNNING for ``stable_after`` seconds starts a fresh series (counter reset):
a crash loop (RUNNING, then dead seconds later) keeps backing off instead of resetting each time.
"""

from __future__ import annotations

from dataclasses import replace

from kafka_mesos.core.model import Broker, Stickiness, Task, format_date

DEFAULT_STABLE_AFTER = 60.0
FAILURE_LIMIT_REASON = "failure limit exceeded, deactivating broker"


def ran_long_enough(task: Task | None, now: float, stable_after: float = DEFAULT_STABLE_AFTER) -> bool:
    return task is not None and task.running_since is not None and now - task.running_since >= stable_after


def settle(broker: Broker, now: float, stable_after: float = DEFAULT_STABLE_AFTER) -> Broker:
    """Reset the failure counter of a broker that has been running long enough (else unchanged)."""
    if broker.failover.failures and ran_long_enough(broker.task, now, stable_after):
        return replace(broker.with_event(now, "failures-reset", "running steadily"),
                       failover=broker.failover.reset())
    return broker


def record_failure(broker: Broker, now: float, reason: str,
                   stable_after: float = DEFAULT_STABLE_AFTER) -> Broker:
    """The broker's task ended without being asked: count it, schedule the relaunch or deactivate.

    The task is detached; stickiness remembers the host (and port) and, on the first failure of a
    series, the stop time.
    """
    previous = broker.failover
    if ran_long_enough(broker.task, now, stable_after):
        previous = previous.reset()
    failover = replace(previous, failures=previous.failures + 1, failure_time=now, reason=reason)
    stickiness = _remember_host(broker.stickiness, broker.task)
    if previous.failures == 0 or stickiness.stop_time is None:
        stickiness = replace(stickiness, stop_time=now)
    updated = replace(broker, task=None, failover=failover, stickiness=stickiness,
                      last_task_id=broker.task.task_id if broker.task else broker.last_task_id)
    updated = updated.with_event(now, "failed", reason)
    if not updated.active:
        return updated
    if failover.exhausted():
        updated = replace(updated, active=False)
        detail = f"{FAILURE_LIMIT_REASON} ({failover.failures} failures)"
        return updated.with_event(now, "deactivated", detail)
    next_attempt = failover.next_attempt()
    assert next_attempt is not None
    return updated.with_event(now, "relaunch-scheduled", f"not before {format_date(next_attempt)}")


def record_stop(broker: Broker, now: float) -> Broker:
    """The broker's task ended because it was asked to (stop, restart)."""
    task = broker.task
    stickiness = replace(_remember_host(broker.stickiness, task), stop_time=now)
    updated = replace(broker, task=None, stickiness=stickiness,
                      last_task_id=task.task_id if task else broker.last_task_id)
    return updated.with_event(now, "stopped")


def _remember_host(stickiness: Stickiness, task: Task | None) -> Stickiness:
    """Stick to the host the broker last *ran* on: a task that died before RUNNING (say, on a host
    that cannot fetch the distribution) must not pin the broker to that host."""
    if task is None or task.running_since is None:
        return stickiness
    port = task.port if task.port is not None else stickiness.port
    return replace(stickiness, hostname=task.hostname, port=port)


def stickiness_window(broker: Broker, now: float) -> tuple[str, float] | None:
    """(host, until) while the broker may only run on its previous host; None when it may go anywhere."""
    expires = broker.stickiness.expires()
    if expires is None or now >= expires or broker.stickiness.hostname is None:
        return None
    return broker.stickiness.hostname, expires


def launch_allowed_at(broker: Broker) -> float | None:
    """When the failover delay lets the broker launch again; None when there is nothing to wait for."""
    return broker.failover.next_attempt()
