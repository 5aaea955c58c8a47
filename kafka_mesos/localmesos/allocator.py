"""Offer allocation: one offer per agent x role from unallocated resources, refusal filters,
suppression, Mesos' minimum allocatable resources."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from kafka_mesos.localmesos.records import (
    MAX_REFUSE_SECONDS,
    AgentRecord,
    FrameworkRecord,
    OfferRecord,
    RefusalFilter,
)
from kafka_mesos.localmesos.resources import UNRESERVED, Resources
from kafka_mesos.mesos.pb import mesos_pb2 as mpb

DEFAULT_REFUSE_SECONDS = 5.0


def refuse_seconds(filters: mpb.Filters | None) -> float:
    """Mesos' reading of `Filters.refuse_seconds`: default 5, negative = default, capped at 365 days."""
    if filters is None or not filters.HasField("refuse_seconds"):
        return DEFAULT_REFUSE_SECONDS
    value = filters.refuse_seconds
    if value < 0:
        return DEFAULT_REFUSE_SECONDS
    return min(value, MAX_REFUSE_SECONDS)


def add_filter(
    framework: FrameworkRecord,
    agent_id: str,
    role: str,
    resources: Resources,
    seconds: float,
    now: float,
    allocation_interval: float,
) -> None:
    """A refusal filter never expires before the next allocation (Mesos rounds it up)."""
    if seconds <= 0 or resources.is_empty():
        return
    expires_at = now + max(seconds, allocation_interval)
    key = (agent_id, role)
    existing = framework.filters.get(key)
    if existing is not None and existing.expires_at > now:
        resources = existing.resources + resources
        expires_at = max(expires_at, existing.expires_at)
    framework.filters[key] = RefusalFilter(resources, expires_at)


def is_filtered(
    framework: FrameworkRecord, agent_id: str, role: str, resources: Resources, now: float
) -> bool:
    refusal = framework.filters.get((agent_id, role))
    if refusal is None:
        return False
    if refusal.expires_at <= now:
        del framework.filters[(agent_id, role)]
        return False
    return refusal.resources.contains(resources)


def allocatable(resources: Resources, min_cpus: float, min_mem: float) -> bool:
    """Mesos' default `--min_allocatable_resources=cpus:0.01|mem:32`."""
    return resources.scalar("cpus") >= min_cpus or resources.scalar("mem") >= min_mem


def allocate(
    frameworks: list[FrameworkRecord],
    agents: Iterable[AgentRecord],
    now: float,
    make_offer: Callable[[FrameworkRecord, AgentRecord, str, Resources], OfferRecord],
    min_cpus: float,
    min_mem: float,
) -> dict[str, list[OfferRecord]]:
    """Give every agent's unallocated resources to the frameworks in turn; returns new offers per
    framework id. Resources reserved for a role go only to frameworks of that role."""
    made: dict[str, list[OfferRecord]] = {}
    if not frameworks:
        return made
    for agent in agents:
        if not agent.active:
            continue
        available = agent.available()
        if available.is_empty():
            continue
        for framework in frameworks:
            for role in framework.roles():
                if role in framework.suppressed_roles:
                    continue
                candidate = available.for_roles({role, UNRESERVED})
                if candidate.is_empty() or not allocatable(candidate, min_cpus, min_mem):
                    continue
                if is_filtered(framework, agent.id, role, candidate, now):
                    continue
                offer = make_offer(framework, agent, role, candidate)
                made.setdefault(framework.id, []).append(offer)
                available = Resources() if candidate == available else available - candidate
            if available.is_empty():
                break
    return made
