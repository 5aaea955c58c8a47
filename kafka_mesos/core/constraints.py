"""Placement constraints (mesos/kafka §8.5): ``attr=cond`` per broker, several per broker.

Offer attributes are its text attributes plus ``hostname``. "Others" are the values of the attribute
on every other broker that currently has a task (any state, including one decided in this same
offer round). Conditions: ``like:R``/``unlike:R`` (full regex match), ``unique``, ``cluster``,
``cluster:V``, ``groupBy`` (= ``groupBy:1``) and ``groupBy:N``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from kafka_mesos.core.errors import ParseError
from kafka_mesos.core.maps import format_map, parse_map
from kafka_mesos.core.model import Broker

LIKE, UNLIKE, UNIQUE, CLUSTER, GROUP_BY = "like", "unlike", "unique", "cluster", "groupBy"
_NO_COUNTS: Counter[str] = Counter()  # shared and never modified


@dataclass(frozen=True)
class Constraint:
    kind: str
    value: str | None = None  # regex for like/unlike, the value for cluster:V
    groups: int = 1  # N of groupBy:N
    pattern: re.Pattern[str] | None = field(default=None, compare=False)

    def format(self) -> str:
        if self.kind in (LIKE, UNLIKE):
            return f"{self.kind}:{self.value}"
        if self.kind == CLUSTER and self.value is not None:
            return f"{CLUSTER}:{self.value}"
        if self.kind == GROUP_BY and self.groups != 1:
            return f"{GROUP_BY}:{self.groups}"
        return self.kind


def parse_constraint(text: str, field: str = "constraints") -> Constraint:
    stripped = text.strip()
    kind, colon, argument = stripped.partition(":")
    if kind in (LIKE, UNLIKE):
        if not colon:
            raise ParseError(field, text, f"{kind} needs a regex: {kind}:REGEX")
        try:
            pattern = re.compile(argument)
        except re.error as exc:
            raise ParseError(field, text, f"bad regex {argument!r}: {exc}") from exc
        return Constraint(kind, argument, pattern=pattern)
    if kind == UNIQUE and not colon:
        return Constraint(UNIQUE)
    if kind == CLUSTER:
        if colon and not argument:
            raise ParseError(field, text, "cluster: needs a value (or use plain cluster)")
        return Constraint(CLUSTER, argument if colon else None)
    if kind == GROUP_BY:
        if not colon:
            return Constraint(GROUP_BY)
        if not argument.isascii() or not argument.isdigit() or len(argument) > 9 or int(argument) < 1:
            raise ParseError(field, text, f"groupBy:N needs a positive integer, not {argument!r}")
        return Constraint(GROUP_BY, groups=int(argument))
    raise ParseError(field, text, "unsupported condition; use like:R, unlike:R, unique, cluster, "
                                  "cluster:V, groupBy or groupBy:N")


def parse_constraints(text: str, field: str = "constraints") -> dict[str, str]:
    """Parse ``attr=cond,...`` into attribute -> normalised condition text (validated)."""
    raw = parse_map(text, field, allow_null_values=False)
    out: dict[str, str] = {}
    for attribute, condition in raw.items():
        assert condition is not None
        try:
            out[attribute] = parse_constraint(condition, field).format()
        except ParseError as exc:
            raise ParseError(field, text, f"{attribute}={condition}: {exc.reason}") from exc
    return out


def format_constraints(constraints: Mapping[str, str]) -> str:
    return format_map(dict(constraints))


@dataclass(frozen=True)
class Placement:
    """Where one broker's task is (or is about to be): its host and the host's attributes."""

    broker_id: int
    hostname: str
    attributes: Mapping[str, str]

    def value(self, attribute: str) -> str | None:
        return self.hostname if attribute == "hostname" else self.attributes.get(attribute)


def placements_of(brokers: Iterable[Broker]) -> list[Placement]:
    return [Placement(b.id, b.task.hostname, b.task.attributes) for b in brokers if b.task is not None]


class PlacementIndex:
    """Counts of attribute values over the placed brokers, updated as a round places more.

    Only the attributes some constraint mentions are indexed, so checking a constraint costs
    O(distinct values) rather than O(brokers).
    """

    def __init__(self, placements: Iterable[Placement], attributes: Iterable[str]) -> None:
        self._attributes = set(attributes)
        self._counts: dict[str, Counter[str]] = {a: Counter() for a in self._attributes}
        # For ``cluster``: the value of the lowest-id placed broker, as mesos/kafka's "first other".
        self._first: dict[str, tuple[int, str]] = {}
        self._values: dict[int, dict[str, str]] = {}
        self._holders: dict[tuple[str, str], set[int]] = {}  # (attribute, value) -> broker ids
        for placement in placements:
            self.add(placement)

    def add(self, placement: Placement) -> None:
        if placement.broker_id in self._values:
            self.remove(placement.broker_id)
        recorded: dict[str, str] = {}
        for attribute in self._attributes:
            value = placement.value(attribute)
            if value is None:
                continue
            recorded[attribute] = value
            self._counts[attribute][value] += 1
            self._holders.setdefault((attribute, value), set()).add(placement.broker_id)
            first = self._first.get(attribute)
            if first is None or placement.broker_id < first[0]:
                self._first[attribute] = (placement.broker_id, value)
        self._values[placement.broker_id] = recorded

    def remove(self, broker_id: int) -> None:
        recorded = self._values.pop(broker_id, {})
        for attribute, value in recorded.items():
            counts = self._counts[attribute]
            counts[value] -= 1
            if counts[value] <= 0:
                del counts[value]
            self._holders.get((attribute, value), set()).discard(broker_id)
            if self._first.get(attribute, (None, None))[0] == broker_id:
                self._recompute_first(attribute)

    def _recompute_first(self, attribute: str) -> None:
        best: tuple[int, str] | None = None
        for broker_id, recorded in self._values.items():
            if attribute in recorded and (best is None or broker_id < best[0]):
                best = (broker_id, recorded[attribute])
        if best is None:
            self._first.pop(attribute, None)
        else:
            self._first[attribute] = best

    def holder(self, attribute: str, value: str, broker_id: int) -> int | None:
        """The lowest id of another broker placed where ``attribute`` is ``value`` (for reasons)."""
        ids = self._holders.get((attribute, value), set()) - {broker_id}
        return min(ids) if ids else None

    def others(self, attribute: str, broker_id: int) -> tuple[Counter[str], str | None]:
        """Counts of ``attribute``'s values on brokers other than ``broker_id``, and the first one."""
        counts = self._counts.get(attribute, _NO_COUNTS)
        first = self._first.get(attribute)
        own = self._values.get(broker_id, {}).get(attribute)
        if own is None:
            return counts, None if first is None else first[1]
        counts = counts.copy()
        counts[own] -= 1
        if counts[own] <= 0:
            del counts[own]
        others = {i: v for i, v in self._values.items() if i != broker_id and attribute in v}
        first_value = others[min(others)][attribute] if others else None
        return counts, first_value


def check_constraint(attribute: str, constraint: Constraint, value: str | None,
                     others: Counter[str], first_other: str | None) -> str | None:
    """None when ``value`` satisfies the constraint, else the reason it does not."""
    if value is None:
        return f"no {attribute}"
    kind = constraint.kind
    if kind in (LIKE, UNLIKE):
        assert constraint.pattern is not None
        matched = constraint.pattern.fullmatch(value) is not None
        if kind == LIKE and not matched:
            return f"{attribute}={value} is not like {constraint.value}"
        if kind == UNLIKE and matched:
            return f"{attribute}={value} is like {constraint.value}"
        return None
    if kind == UNIQUE:
        if others.get(value, 0) > 0:
            return f"unique: {attribute}={value} already has a broker"
        return None
    if kind == CLUSTER:
        wanted = constraint.value if constraint.value is not None else first_other
        if wanted is not None and value != wanted:
            return f"cluster: {attribute}={value} is not {wanted}"
        return None
    # groupBy:N
    if len(others) < constraint.groups:
        if value in others:
            return f"groupBy:{constraint.groups}: {attribute}={value} is used while fewer than " \
                   f"{constraint.groups} groups exist"
        return None
    minimum = min(others.values())
    if others.get(value, 0) != minimum:
        return f"groupBy:{constraint.groups}: {attribute}={value} has {others.get(value, 0)} brokers, " \
               f"another group has {minimum}"
    return None


@dataclass(frozen=True)
class CompiledConstraints:
    """One broker's constraints, parsed once."""

    items: tuple[tuple[str, Constraint], ...]

    @classmethod
    def of(cls, broker: Broker) -> CompiledConstraints:
        return cls(tuple((a, parse_constraint(c)) for a, c in broker.constraints.items()))

    @property
    def monotone(self) -> bool:
        """True when an offer that fails these constraints keeps failing as more brokers are placed
        (like/unlike/cluster:V look only at the offer; unique only gets stricter)."""
        return all(c.kind in (LIKE, UNLIKE, UNIQUE) or (c.kind == CLUSTER and c.value is not None)
                   for _, c in self.items)

    def check(self, broker_id: int, hostname: str, attributes: Mapping[str, str],
              index: PlacementIndex) -> str | None:
        for attribute, constraint in self.items:
            value = hostname if attribute == "hostname" else attributes.get(attribute)
            others, first = index.others(attribute, broker_id)
            reason = check_constraint(attribute, constraint, value, others, first)
            if reason is not None:
                if constraint.kind == UNIQUE and value is not None:
                    holder = index.holder(attribute, value, broker_id)
                    if holder is not None:
                        reason = f"unique: {attribute}={value} already has broker {holder}"
                return reason
        return None
