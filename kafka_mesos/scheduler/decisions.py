"""The scheduler's view of core's decisions: which brokers want offers, where they go, what a status means.

Every function here is pure and synchronous; the scheduler calls only these, so the rules live in one place.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from kafka_mesos.core.model import Broker


@dataclass(frozen=True)
class StatusInfo:
    """A Mesos TaskStatus in core's terms (enum names as text, no protobuf)."""

    task_id: str
    state: str
    agent_id: str | None = None
    reason: str | None = None
    source: str | None = None
    message: str | None = None
    data: bytes = b""
    has_uuid: bool = False

    @property
    def from_reconciliation(self) -> bool:
        return self.reason == "REASON_RECONCILIATION"


def wants_launch(broker: Broker, now: float) -> bool:
    """Active, nothing launched, and not waiting out a failover delay."""
    if not broker.active or broker.task is not None:
        return False
    next_attempt = broker.failover.next_attempt()
    return next_attempt is None or now >= next_attempt


def brokers_wanting_offers(brokers: Iterable[Broker], now: float) -> list[Broker]:
    return sorted((b for b in brokers if wants_launch(b, now)), key=lambda b: b.id)


def next_wakeup(brokers: Iterable[Broker], now: float) -> float | None:
    """The earliest future moment at which some broker's eligibility changes (failover delay, stickiness)."""
    moments: list[float] = []
    for broker in brokers:
        if not broker.active or broker.task is not None:
            continue
        next_attempt = broker.failover.next_attempt()
        if next_attempt is not None and next_attempt > now:
            moments.append(next_attempt)
        expires = broker.stickiness.expires()
        if expires is not None and expires > now:
            moments.append(expires)
    return min(moments, default=None)


def tasks_to_kill(brokers: Mapping[int, Broker]) -> list[Broker]:
    """Brokers the operator stopped whose task is still there and was not yet asked to stop."""
    return [b for b in brokers.values() if not b.active and b.task is not None and not b.task.stopping]
