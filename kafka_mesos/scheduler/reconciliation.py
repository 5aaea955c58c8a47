"""Reconciliation bookkeeping after every SUBSCRIBED: what to ask again, when, and when to give up.

Pure and clock-free (`now` is passed in). The launch gate is closed while any task the store knows is still
unanswered; it always opens again, at the latest after `max_attempts` rounds (a stuck reconciliation must
never block launches forever — mesos/kafka #306).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ReconcileStep:
    attempt: int = 0
    retry: Mapping[str, str] = field(default_factory=dict)  # task id → agent id to ask again now
    give_up: Mapping[str, str] = field(default_factory=dict)  # never answered: treat as lost


class Reconciliation:
    def __init__(self, first_wait: float, max_attempts: int) -> None:
        self.first_wait = first_wait
        self.max_attempts = max_attempts
        self._pending: dict[str, str] = {}
        self._attempt = 0
        self._next_at = 0.0

    def start(self, tasks: Mapping[str, str], now: float) -> None:
        """A new round for every task the store knows (explicit attempt 1 is being sent by the caller)."""
        self._pending = dict(tasks)
        self._attempt = 1
        self._next_at = now + self.first_wait

    def answered(self, task_id: str) -> None:
        self._pending.pop(task_id, None)

    @property
    def active(self) -> bool:
        return bool(self._pending)

    @property
    def gate_closed(self) -> bool:
        return bool(self._pending)

    @property
    def outstanding(self) -> int:
        return len(self._pending)

    def next_at(self) -> float | None:
        return self._next_at if self._pending else None

    def tick(self, now: float) -> ReconcileStep:
        if not self._pending or now < self._next_at:
            return ReconcileStep(attempt=self._attempt)
        if self._attempt >= self.max_attempts:
            lost, self._pending = self._pending, {}
            return ReconcileStep(attempt=self._attempt, give_up=lost)
        self._attempt += 1
        self._next_at = now + self.first_wait * 2 ** (self._attempt - 1)
        return ReconcileStep(attempt=self._attempt, retry=dict(self._pending))
