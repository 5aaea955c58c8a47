"""Which brokers want offers, and from where: a change here must clear earlier decline filters (REVIVE)."""

from __future__ import annotations

from collections.abc import Iterable

from kafka_mesos.core.failover import stickiness_window
from kafka_mesos.core.model import Broker
from kafka_mesos.scheduler.decisions import brokers_wanting_offers

Eligibility = frozenset[tuple[int, bool]]
"""(broker id, may run anywhere) of every broker wanting offers now."""


def offer_eligibility(brokers: Iterable[Broker], now: float) -> Eligibility:
    """A broker pinned to its old host declines other hosts' offers with a long filter; when its stickiness
    ends it becomes a new element here, so the scheduler revives and sees those hosts again."""
    return frozenset((b.id, stickiness_window(b, now) is None) for b in brokers_wanting_offers(brokers, now))
