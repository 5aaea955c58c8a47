"""Failure counters of brokers that have been RUNNING long enough are reset (core's `settle`)."""

from __future__ import annotations

from collections.abc import Mapping

from kafka_mesos.core.failover import settle
from kafka_mesos.core.model import Broker


def brokers_to_settle(brokers: Mapping[int, Broker], now: float, stable_after: float) -> list[int]:
    """Ids of brokers whose failure counter `settle` would reset now."""
    return [b.id for b in brokers.values() if settle(b, now, stable_after) is not b]
