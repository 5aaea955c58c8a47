"""Task reconciliation bookkeeping (Mesos HTTP API §5.5; mesos/kafka §9.7 without its #306 hang).

After every SUBSCRIBED: one implicit reconcile plus an explicit one for every task the store knows;
while tasks are unanswered no launch happens (the gate). Unanswered tasks are asked again with
exponential backoff; after ``max_attempts`` rounds they are given up (declared lost, killed for
safety) and the gate opens, so a stuck reconciliation always ends. Periodic rounds do not gate.
Nothing here is persisted: a scheduler restart simply begins a new reconciliation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from kafka_mesos.core.lifecycle import Action, KillTask, on_status
from kafka_mesos.core.model import TASK_LOST, Broker


@dataclass(frozen=True)
class ReconcilePolicy:
    first_delay: float = 2.0  # seconds before the first re-ask
    max_delay: float = 60.0
    max_attempts: int = 6  # explicit rounds, the first one included
    interval: float = 300.0  # periodic explicit reconciliation

    def delay(self, attempt: int) -> float:
        """Wait after explicit round ``attempt`` (1-based) before the next one."""
        return float(min(self.first_delay * (2 ** min(attempt - 1, 30)), self.max_delay))


@dataclass(frozen=True)
class TaskRef:
    task_id: str
    agent_id: str | None


@dataclass(frozen=True)
class ReconcileRequest:
    """What to send now: RECONCILE with no tasks (implicit) and/or with these tasks (explicit)."""

    implicit: bool = False
    explicit: tuple[TaskRef, ...] = ()


@dataclass(frozen=True)
class Reconciliation:
    pending: Mapping[str, TaskRef] = field(default_factory=dict)  # task id -> ref, not yet answered
    attempts: int = 0
    started_at: float = 0.0
    next_round_at: float | None = None
    gating: bool = True  # launches wait until this reconciliation is finished
    given_up: tuple[TaskRef, ...] = ()

    @property
    def finished(self) -> bool:
        return not self.pending

    @property
    def gate_open(self) -> bool:
        return not self.gating or self.finished

    @property
    def outstanding(self) -> int:
        return len(self.pending)


def known_tasks(brokers: Iterable[Broker]) -> dict[str, TaskRef]:
    return {b.task.task_id: TaskRef(b.task.task_id, b.task.agent_id) for b in brokers if b.task is not None}


def begin(brokers: Iterable[Broker], now: float, policy: ReconcilePolicy, *,
          gating: bool = True, implicit: bool = True) -> tuple[Reconciliation, ReconcileRequest]:
    """Start a round over every task the store knows (after SUBSCRIBED, or periodically)."""
    pending = known_tasks(brokers)
    state = Reconciliation(pending=pending, attempts=1 if pending else 0, started_at=now,
                           next_round_at=now + policy.delay(1) if pending else None, gating=gating)
    return state, ReconcileRequest(implicit=implicit, explicit=tuple(pending.values()))


def mark_reconciling(broker: Broker) -> Broker:
    """Show the broker's task as ``reconciling`` until the master confirms its state."""
    if broker.task is None or broker.task.reconciling:
        return broker
    return replace(broker, task=replace(broker.task, reconciling=True))


def answered(state: Reconciliation, task_id: str) -> Reconciliation:
    """Any status update for a pending task answers it."""
    if task_id not in state.pending:
        return state
    pending = {k: v for k, v in state.pending.items() if k != task_id}
    return replace(state, pending=pending, next_round_at=state.next_round_at if pending else None)


def tick(state: Reconciliation, now: float,
         policy: ReconcilePolicy) -> tuple[Reconciliation, ReconcileRequest]:
    """Re-ask unanswered tasks when the backoff has passed; after the last attempt, give them up.

    Given-up tasks are in ``state.given_up``: the caller declares each lost (relaunch) and kills it.
    """
    if state.finished or state.next_round_at is None or now < state.next_round_at:
        return replace(state, given_up=()), ReconcileRequest()
    if state.attempts >= policy.max_attempts:
        return replace(state, pending={}, next_round_at=None, given_up=tuple(state.pending.values())), \
            ReconcileRequest()
    attempts = state.attempts + 1
    updated = replace(state, attempts=attempts, next_round_at=now + policy.delay(attempts), given_up=())
    return updated, ReconcileRequest(explicit=tuple(state.pending.values()))


def periodic_due(last_started_at: float | None, now: float, policy: ReconcilePolicy) -> bool:
    return last_started_at is None or now - last_started_at >= policy.interval


def classify_task(task_id: str, brokers: Mapping[int, Broker], broker_id: int | None) -> str:
    """``current`` (a broker's task), ``stale`` (its broker runs another task or none), or
    ``unknown`` (no such broker: e.g. launched before a crash for a since-removed broker)."""
    if broker_id is None or broker_id not in brokers:
        return "unknown"
    task = brokers[broker_id].task
    return "current" if task is not None and task.task_id == task_id else "stale"


def give_up(broker: Broker, ref: TaskRef, now: float, attempts: int) -> tuple[Broker, list[Action]]:
    """The master never answered for ``ref``: treat the task as lost (failover relaunches the
    broker) and kill it in case it still runs somewhere, so it can never come back as a duplicate."""
    message = f"no reconciliation answer after {attempts} attempts"
    updated, actions = on_status(broker, ref.task_id, TASK_LOST, "REASON_RECONCILIATION", message, None, now)
    return updated, [*actions, KillTask(ref.task_id, ref.agent_id, message)]
