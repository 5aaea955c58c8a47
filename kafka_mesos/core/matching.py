"""Offer matching: brokers that want to run + offers + current placements + now -> launch decisions.

Brokers are tried in id order; several may land on one offer (resources are subtracted as they are
placed), but each broker's search starts at the offer after the previous placement, so a round spreads
brokers over the offers (agents) round-robin instead of filling the first one: what an SRE expects for
fault tolerance, and it lets the agents start their executors in parallel. Per offer the checks run
in mesos/kafka's order: cpus, mem, port, volume, constraints; before that, per broker, the failover
delay and the stickiness window. A broker that is not placed gets the reasons (a bounded list) so
that "why is my broker not starting?" has an answer.

Cost: brokers with the same resource needs and no constraints share the list of offers that may
still fit (capacity only shrinks during a round, so an offer that did not fit one of them fits none of
the later ones); a constrained broker's failure is reused by identical brokers while no placement has
happened in between. So a round is roughly O(brokers + offers) in the common case.

Executors: with one executor per broker, every placement also takes the executor's cpus/mem. With
one shared executor per agent (``shared_executor``), only the first broker placed on an agent that
has no executor of ours yet takes them; brokers on that agent later (this round, or agents listed in
``agents_with_executor`` whose executor runs already, its resources outside the offers) take none.
That keeps failures monotone per offer (what an offer lacks only grows), except when one agent sends
several offers: an offer that failed for lack of the executor's share is not retried in the same
round after another offer of the same agent started the executor (conservative, never wrong).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence, Set
from dataclasses import dataclass, field

from kafka_mesos.core.constraints import CompiledConstraints, Placement, PlacementIndex
from kafka_mesos.core.model import Broker, format_date
from kafka_mesos.core.offers import Offer
from kafka_mesos.core.ranges import Range
from kafka_mesos.core.resources import (
    UNRESERVED_ROLE,
    OfferPool,
    Taken,
    format_ranges,
    from_milli,
    to_milli,
)

MAX_REASONS = 10


@dataclass(frozen=True)
class LaunchDecision:
    broker_id: int
    offer_id: str
    agent_id: str
    hostname: str
    attributes: Mapping[str, str]
    cpus: float
    mem: float
    port: int
    role: str  # the role the port (and the bulk of the resources) came from
    task_resources: tuple[Taken, ...]  # per role: cpus, mem and the port of the broker's task
    executor_resources: tuple[Taken, ...]  # per role: the executor's own cpus/mem (none: it runs already)
    volume: str | None = None
    volume_role: str | None = None
    new_executor: bool = True  # False: the agent's shared executor (running or placed this round) hosts it


@dataclass
class MatchResult:
    launches: list[LaunchDecision] = field(default_factory=list)
    reasons: dict[int, list[str]] = field(default_factory=dict)  # broker id -> why it was not placed
    unused_offer_ids: list[str] = field(default_factory=list)
    # Earliest time a broker held back by its failover delay or stickiness may be placed anywhere.
    retry_at: float | None = None

    def decline_seconds(self, now: float, *, idle: float = 3600.0, minimum: float = 1.0) -> float:
        """``refuse_seconds`` for the offers not used: until the earliest held-back broker may be
        placed (failover delay or stickiness ending), else ``idle`` (new work REVIVEs anyway)."""
        if self.retry_at is None:
            return idle
        return max(minimum, min(idle, self.retry_at - now))

    def reason_text(self, broker_id: int) -> str | None:
        reasons = self.reasons.get(broker_id)
        return None if not reasons else "; ".join(reasons)


@dataclass
class _Slot:
    offer: Offer
    pool: OfferPool
    used: bool = False


@dataclass
class _Need:
    cpus: int
    mem: int
    executor_cpus: int
    executor_mem: int
    port: Range | None
    volume: str | None


class _Reasons:
    """A bounded reason list for one broker or one class of identical brokers."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.more = 0

    def add(self, text: str) -> None:
        if len(self.items) < MAX_REASONS:
            self.items.append(text)
        else:
            self.more += 1

    def render(self) -> list[str]:
        if self.more:
            return [*self.items, f"... and {self.more} more offers"]
        return list(self.items)


class _Executors:
    """Which agents need no executor resources for the next broker placed there."""

    def __init__(self, shared: bool, running_on: Set[str]) -> None:
        self.shared = shared
        self.hosting = set(running_on) if shared else set()

    def needed(self, slot: _Slot) -> bool:
        return slot.offer.agent_id not in self.hosting

    def placed(self, slot: _Slot) -> None:
        if self.shared:
            self.hosting.add(slot.offer.agent_id)


def _check(slot: _Slot, need: _Need, executors: _Executors) -> tuple[str | None, tuple[int, str] | None]:
    """(reason it does not fit, None) or (None, port to take)."""
    pool, host = slot.pool, slot.offer.hostname
    cpus, mem = need.cpus, need.mem
    if executors.needed(slot):
        cpus, mem = cpus + need.executor_cpus, mem + need.executor_mem
    if pool.cpus() < cpus:
        return f"{host}: cpus {from_milli(pool.cpus()):g} < {from_milli(cpus):g}", None
    if pool.mem() < mem:
        return f"{host}: mem {from_milli(pool.mem()):g} < {from_milli(mem):g}", None
    port = pool.find_port(need.port, None)
    if port is None:
        wanted = "any" if need.port is None else need.port.format()
        return f"{host}: no port {wanted} among offered ports {format_ranges(pool.ports())}", None
    if need.volume is not None and need.volume not in slot.offer.volumes:
        return f"{host}: no volume {need.volume}", None
    return None, port


def match(brokers: Iterable[Broker], offers: Sequence[Offer], placements: Iterable[Placement],
          now: float, *, framework_role: str = UNRESERVED_ROLE, executor_cpus: float = 0.0,
          executor_mem: float = 0.0, shared_executor: bool = False,
          agents_with_executor: Set[str] = frozenset()) -> MatchResult:
    """Decide which of ``brokers`` (those active without a task are considered) launch on which offer."""
    result = MatchResult()
    executors = _Executors(shared_executor, agents_with_executor)
    slots = [_Slot(offer, OfferPool.of(dict(offer.resources), framework_role)) for offer in offers]
    by_host: dict[str, list[int]] = {}
    for position, slot in enumerate(slots):
        by_host.setdefault(slot.offer.hostname, []).append(position)

    candidates = sorted((b for b in brokers if b.active and b.task is None), key=lambda b: b.id)
    compiled_by_text: dict[tuple[tuple[str, str], ...], CompiledConstraints] = {}
    compiled: dict[int, CompiledConstraints] = {}
    for candidate in candidates:
        if candidate.constraints:
            text = tuple(candidate.constraints.items())
            if text not in compiled_by_text:
                compiled_by_text[text] = CompiledConstraints.of(candidate)
            compiled[candidate.id] = compiled_by_text[text]
    attributes = {a for c in compiled.values() for a, _ in c.items}
    index = PlacementIndex(placements, attributes)

    monotone_alive: dict[tuple[object, ...], list[int]] = {}  # need -> offers that may still fit, sorted
    class_reasons: dict[tuple[object, ...], _Reasons] = {}
    alive_for: dict[tuple[object, ...], dict[int, None]] = {}  # need -> offers that may still fit
    dead_reasons: dict[tuple[object, ...], _Reasons] = {}
    failed_at_version: dict[tuple[object, ...], tuple[int, list[str]]] = {}
    version = 0  # launches so far: a constrained failure stays valid while this does not move
    next_start = 0  # round-robin: the offer after the previous placement is tried first
    ex_cpus, ex_mem = to_milli(executor_cpus), to_milli(executor_mem)

    for broker in candidates:
        waiting = _held_back(broker, now)
        if waiting is not None:
            hold_reason, until = waiting
            result.reasons[broker.id] = [hold_reason]
            result.retry_at = until if result.retry_at is None else min(result.retry_at, until)
            continue
        need = _Need(to_milli(broker.cpus), to_milli(broker.mem), ex_cpus, ex_mem, broker.port, broker.volume)
        key: tuple[object, ...] = (need.cpus, need.mem, need.port, need.volume)
        sticky_host = _sticky_host(broker, now)
        constraints = compiled.get(broker.id)

        if sticky_host is None and (constraints is None or constraints.monotone):
            # Failures are monotone here: later brokers with the same needs skip the offers that
            # failed for this one, so a round costs about O(brokers + offers), not O(brokers x offers).
            if constraints is not None:
                key = (*key, tuple(sorted(broker.constraints.items())))
            fitting = monotone_alive.get(key)
            if fitting is None:
                fitting = monotone_alive[key] = list(range(len(slots)))
            reasons = class_reasons.setdefault(key, _Reasons())
            placed = None
            failed: list[int] = []
            for position in _rotated(fitting, next_start):
                slot = slots[position]
                reason, port = _check(slot, need, executors)
                if reason is None and constraints is not None:
                    reason = _constraint_reason(constraints, broker.id, slot, index)
                if reason is None:
                    placed = (position, port)
                    break
                reasons.add(reason)
                failed.append(position)
            if failed:
                gone = set(failed)
                monotone_alive[key] = [p for p in fitting if p not in gone]
            if placed is None:
                result.reasons[broker.id] = reasons.render() or ["no offers"]
                continue
            placed_at = placed[0]
            decision: LaunchDecision | None = _launch(broker, slots[placed_at], need, placed[1], executors)
        else:
            full_key = (*key, sticky_host, tuple(sorted(broker.constraints.items())))
            cached = failed_at_version.get(full_key)
            if cached is not None and cached[0] == version:
                result.reasons[broker.id] = cached[1]
                continue
            own = _Reasons()
            # Offers too small for these needs stay too small: skip them for every later broker.
            alive = alive_for.get(key)
            if alive is None:
                alive = alive_for[key] = dict.fromkeys(range(len(slots)))
            dead = dead_reasons.setdefault(key, _Reasons())
            positions: Iterable[int] = (_rotated(list(alive), next_start) if sticky_host is None
                                        else by_host.get(sticky_host, []))
            newly_dead: list[int] = []
            if sticky_host is not None:
                expires = broker.stickiness.expires()
                assert expires is not None
                own.add(f"stickiness: only host {sticky_host} until {format_date(expires)}")
                result.retry_at = expires if result.retry_at is None else min(result.retry_at, expires)
            decision = None
            for position in positions:
                slot = slots[position]
                if position not in alive:
                    continue
                reason, port = _check(slot, need, executors)
                if reason is not None:
                    newly_dead.append(position)  # removed after the loop: it iterates ``alive``
                    dead.add(reason)
                    continue
                if constraints is not None:
                    reason = _constraint_reason(constraints, broker.id, slot, index)
                if reason is None:
                    decision = _launch(broker, slot, need, port, executors)
                    placed_at = position
                    break
                own.add(reason)
            for position in newly_dead:
                del alive[position]
            if decision is None:
                rendered = [*own.render(), *dead.render()] or ["no offers"]
                failed_at_version[full_key] = (version, rendered)
                result.reasons[broker.id] = rendered
                continue

        assert decision is not None
        result.launches.append(decision)
        version += 1
        next_start = placed_at + 1
        if attributes:
            index.add(Placement(broker.id, decision.hostname, decision.attributes))

    result.unused_offer_ids = [slot.offer.id for slot in slots if not slot.used]
    return result


def _rotated(positions: list[int], start: int) -> Iterator[int]:
    """``positions`` (sorted) from the first one at or after ``start``, wrapping around (lazily: a
    search usually stops at the first offer)."""
    low, high = 0, len(positions)
    while low < high:  # binary search for the first position >= start
        middle = (low + high) // 2
        if positions[middle] < start:
            low = middle + 1
        else:
            high = middle
    for index in range(low, len(positions)):
        yield positions[index]
    for index in range(low):
        yield positions[index]


def _constraint_reason(constraints: CompiledConstraints, broker_id: int, slot: _Slot,
                       index: PlacementIndex) -> str | None:
    reason = constraints.check(broker_id, slot.offer.hostname, slot.offer.attributes, index)
    return None if reason is None else f"{slot.offer.hostname}: {reason}"


def _held_back(broker: Broker, now: float) -> tuple[str, float] | None:
    next_attempt = broker.failover.next_attempt()
    if next_attempt is not None and now < next_attempt:
        return (f"failover: {broker.failover.failures} failure(s), next attempt at "
                f"{format_date(next_attempt)}", next_attempt)
    return None


def _sticky_host(broker: Broker, now: float) -> str | None:
    expires = broker.stickiness.expires()
    if expires is not None and now < expires:
        return broker.stickiness.hostname
    return None


def _launch(broker: Broker, slot: _Slot, need: _Need, port: tuple[int, str] | None,
            executors: _Executors) -> LaunchDecision:
    if broker.stickiness.port is not None:  # reuse the previous port when this offer has it
        port = slot.pool.find_port(need.port, broker.stickiness.port) or port
    assert port is not None
    task_taken = slot.pool.take(need.cpus, need.mem, port)
    new_executor = executors.needed(slot)
    executor_taken = slot.pool.take(need.executor_cpus, need.executor_mem, None) if new_executor else ()
    executors.placed(slot)
    slot.used = True
    return LaunchDecision(
        broker_id=broker.id, offer_id=slot.offer.id, agent_id=slot.offer.agent_id,
        hostname=slot.offer.hostname, attributes=dict(slot.offer.attributes),
        cpus=from_milli(need.cpus), mem=from_milli(need.mem), port=port[0], role=port[1],
        task_resources=task_taken, executor_resources=executor_taken, volume=need.volume,
        volume_role=None if need.volume is None else slot.offer.volumes.get(need.volume),
        new_executor=new_executor,
    )
