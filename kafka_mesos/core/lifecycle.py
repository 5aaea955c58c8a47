"""Broker lifecycle: status updates, launches, start/stop requests, as pure functions.

``on_status`` maps a Mesos task status onto the broker's observed state and says what to do
(kill a task that must not run). Updates for a task id other than the broker's current task are
stale: a terminal one is ignored, a live one is killed (never two tasks for one broker).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from kafka_mesos.core.failover import DEFAULT_STABLE_AFTER, record_failure, record_stop
from kafka_mesos.core.matching import LaunchDecision
from kafka_mesos.core.model import (
    TASK_GONE,
    TASK_KILLING,
    TASK_LOST,
    TASK_RUNNING,
    TASK_STAGING,
    TASK_STARTING,
    TASK_UNKNOWN,
    TERMINAL_STATES,
    Broker,
    Task,
)

REASON_RECONCILIATION = "REASON_RECONCILIATION"


@dataclass(frozen=True)
class KillTask:
    task_id: str
    agent_id: str | None
    reason: str


Action = KillTask


def task_id_for(framework_name: str, broker_id: int, unique: str) -> str:
    """mesos/kafka's task id: ``<framework-name>-<broker id>-<uuid>``."""
    return f"{framework_name}-{broker_id}-{unique}"


def broker_id_of_task(task_id: str, framework_name: str) -> int | None:
    """Inverse of :func:`task_id_for`: the digits between the prefix and the next ``-``;
    None for a task id that is not ours."""
    prefix = f"{framework_name}-"
    if not task_id.startswith(prefix):
        return None
    rest = task_id[len(prefix):]
    number, dash, _ = rest.partition("-")
    if not dash or not number.isascii() or not number.isdigit():
        return None
    return int(number)


def _decode_endpoint(data: bytes | None) -> str | None:
    if not data:
        return None
    try:
        text = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        return None
    host, colon, port = text.rpartition(":")
    if not colon or not host or not port.isdigit():
        return None
    return text


def on_status(broker: Broker, task_id: str, state: str, reason: str | None, message: str | None,
              data: bytes | None, now: float, *, agent_id: str | None = None,
              stable_after: float = DEFAULT_STABLE_AFTER) -> tuple[Broker, list[Action]]:
    """Apply one status update for a task of ``broker``."""
    task = broker.task
    if task is None or task.task_id != task_id:
        if state in TERMINAL_STATES:
            return broker, []
        why = f"task {task_id} is not broker {broker.id}'s current task"
        return broker, [KillTask(task_id, agent_id, why)]

    actions: list[Action] = []
    if state in TERMINAL_STATES:
        # Ended on request, or the operator no longer wants it: not a failure.
        asked = task.stopping or not broker.active
        if asked:
            return record_stop(broker, now), actions
        if never_reached_mesos(task, state, reason):
            return launch_lost(broker, now, message), actions
        detail = _failure_text(state, reason, message)
        return record_failure(broker, now, detail, stable_after), actions

    updated_task = replace(task, state=state, reconciling=False,
                           message=message if message else task.message,
                           agent_id=agent_id or task.agent_id)
    updated = replace(broker, task=updated_task)
    if state == TASK_RUNNING:
        endpoint = _decode_endpoint(data) or task.endpoint
        if endpoint is None and task.port is not None:
            endpoint = f"{task.hostname}:{task.port}"
        running_since = task.running_since if task.running_since is not None else now
        updated_task = replace(updated_task, endpoint=endpoint, running_since=running_since)
        port = task.port if task.port is not None else broker.stickiness.port
        updated = replace(updated, task=updated_task, placement_reason=None,
                          stickiness=replace(broker.stickiness, hostname=task.hostname, port=port))
        if task.state != TASK_RUNNING:
            updated = updated.with_event(now, "running", endpoint or "")
        elif reason == REASON_RECONCILIATION and task.reconciling:
            updated = updated.with_event(now, "reconciled", "running")
    elif state == TASK_STARTING and task.state != TASK_STARTING:
        updated = updated.with_event(now, "starting", message or "")
    elif task.reconciling and reason == REASON_RECONCILIATION:
        updated = updated.with_event(now, "reconciled", state)

    if task.stopping and state in (TASK_STAGING, TASK_STARTING, TASK_RUNNING):
        actions.append(KillTask(task_id, updated_task.agent_id, "broker is stopping"))
    elif not broker.active and state in (TASK_STARTING, TASK_RUNNING) and not task.stopping:
        # Stopped while its state was unknown (e.g. reconciling): finish the stop now.
        updated = replace(updated, task=replace(updated_task, stopping=True))
        actions.append(KillTask(task_id, updated_task.agent_id, "broker is not active"))
    if state == TASK_KILLING and not task.stopping:
        updated = updated.with_event(now, "killing", message or "")
    return updated, actions


UNKNOWN_TO_MESOS = frozenset({TASK_LOST, TASK_GONE, TASK_UNKNOWN})


def never_reached_mesos(task: Task, state: str, reason: str | None) -> bool:
    """Reconciliation says Mesos does not know a task we only ever saw as STAGING: its launch was persisted
    but the ACCEPT never reached Mesos (the scheduler died in between, or the master lost it)."""
    return (reason == REASON_RECONCILIATION and state in UNKNOWN_TO_MESOS and task.state == TASK_STAGING
            and task.running_since is None)


def launch_lost(broker: Broker, now: float, message: str | None) -> Broker:
    """Forget a task that never reached Mesos and launch again at once: nothing ran, so no failure is
    counted and stickiness does not change."""
    assert broker.task is not None
    updated = replace(broker, task=None, last_task_id=broker.task.task_id)
    return updated.with_event(now, "launch-lost", message or "unknown to Mesos")


def _failure_text(state: str, reason: str | None, message: str | None) -> str:
    parts = [state]
    if reason:
        parts.append(reason)
    text = " ".join(parts)
    if message:
        text += f": {message}"
    return text


def on_launch(broker: Broker, decision: LaunchDecision, task_id: str, executor_id: str,
              now: float) -> Broker:
    """Record the task about to be launched (persist this before ACCEPT goes out)."""
    task = Task(task_id=task_id, agent_id=decision.agent_id, executor_id=executor_id,
                hostname=decision.hostname, port=decision.port, state=TASK_STAGING,
                attributes=dict(decision.attributes), launched_at=now, role=decision.role,
                cpus=decision.cpus, mem=decision.mem)
    updated = replace(broker, task=task, last_task_id=task_id, needs_restart=False, placement_reason=None)
    where = f"on {decision.hostname}:{decision.port} (offer {decision.offer_id})"
    return updated.with_event(now, "launched", where)


def on_placement_failed(broker: Broker, reason: str) -> Broker:
    """Remember why the last offer round could not place the broker (unchanged if it is the same)."""
    if broker.placement_reason == reason:
        return broker
    return replace(broker, placement_reason=reason)


def request_start(broker: Broker, now: float) -> Broker:
    """Operator start: desired state active; failover counters reset (mesos/kafka)."""
    if broker.active and broker.failover.failures == 0:
        return broker
    updated = replace(broker, active=True, failover=broker.failover.reset(), placement_reason=None)
    return updated.with_event(now, "start-requested")


def request_stop(broker: Broker, now: float) -> tuple[Broker, list[Action]]:
    """Operator stop: desired state inactive, counters reset, the task (if any) killed.

    (``stop --force`` is the same plus a KILL with a zero grace period, sent by the scheduler: never an
    executor SHUTDOWN, which would end every broker of a shared executor.)
    """
    updated = replace(broker, active=False, failover=broker.failover.reset(), placement_reason=None)
    actions: list[Action] = []
    task = broker.task
    if task is not None:
        updated = replace(updated, task=replace(task, stopping=True))
        actions.append(KillTask(task.task_id, task.agent_id, "stop requested"))
    return updated.with_event(now, "stop-requested"), actions


def request_restart(broker: Broker, now: float) -> tuple[Broker, list[Action]]:
    """Kill the current task and keep the broker active, so it is relaunched (rolling restart step)."""
    task = broker.task
    if task is None:
        return request_start(broker, now), []
    updated = replace(broker, active=True, task=replace(task, stopping=True))
    return updated.with_event(now, "restart-requested"), [KillTask(task.task_id, task.agent_id, "restart")]


def wants_to_run(broker: Broker) -> bool:
    return broker.active and broker.task is None


def wants_offers(brokers: Iterable[Broker], now: float) -> bool:
    """True while some active broker has no task (offers needed now or once its delay passes)."""
    del now  # the failover delay is handled by decline filters, not by suppressing
    return any(wants_to_run(b) for b in brokers)


def is_steady(broker: Broker) -> bool:
    """mesos/kafka's steady: inactive without a task, or active with a running task."""
    if broker.task is None:
        return not broker.active
    return broker.active and broker.task.state == TASK_RUNNING and not broker.task.stopping
