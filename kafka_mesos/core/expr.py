"""Broker and topic expressions (mesos/kafka §8.1, §8.2).

Broker expressions: ``0``, ``0,1``, ``0..2``, ``0,1..2``, ``*`` (every existing broker), with an optional
attribute filter suffix ``[rack=r1,zone=z*]`` that keeps only existing brokers with a task whose
attributes (plus ``hostname``) match: ``k=v`` exact, ``*`` in ``v`` a wildcard, bare ``k`` = has it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from kafka_mesos.core.errors import ParseError
from kafka_mesos.core.maps import parse_map
from kafka_mesos.core.model import Broker
from kafka_mesos.core.ranges import parse_range

# An expression such as 0..1000000000 must not allocate a billion ints.
MAX_EXPR_IDS = 100_000


@dataclass(frozen=True)
class BrokerExpr:
    """A parsed broker expression; ``select`` resolves it against the existing brokers."""

    ids: tuple[int, ...]  # explicit ids (de-duplicated, sorted)
    all_existing: bool  # ``*`` was given
    filters: Mapping[str, str | None]  # attribute -> pattern (None: attribute must exist)
    text: str

    def select(self, brokers: Iterable[Broker]) -> list[int]:
        if self.all_existing and not self.ids and not self.filters:  # plain `*`: no sets needed
            return sorted(broker.id for broker in brokers)
        by_id = {broker.id: broker for broker in brokers}
        chosen = set(self.ids)
        if self.all_existing:
            chosen.update(by_id)
        if self.filters:
            chosen = {i for i in chosen if i in by_id and matches_attributes(by_id[i], self.filters)}
        return sorted(chosen)


def parse_broker_expr(text: str, field: str = "broker") -> BrokerExpr:
    stripped = text.strip()
    if not stripped:
        raise ParseError(field, text, "empty broker expression")
    filters: dict[str, str | None] = {}
    ids_part = stripped
    if stripped.endswith("]"):
        opening = stripped.find("[")
        if opening < 0:
            raise ParseError(field, text, "']' without '['")
        ids_part = stripped[:opening]
        inner = stripped[opening + 1:-1]
        if not inner.strip():
            raise ParseError(field, text, "empty attribute filter []")
        try:
            filters = parse_map(inner, field)
        except ParseError as exc:
            raise ParseError(field, text, f"attribute filter: {exc.reason}") from exc
    elif "[" in stripped or "]" in stripped:
        raise ParseError(field, text, "the attribute filter [...] must come last")
    ids: set[int] = set()
    all_existing = False
    for part in ids_part.split(","):
        part = part.strip()
        if not part:
            raise ParseError(field, text, "empty element (two commas in a row, or a trailing comma)")
        if part == "*":
            all_existing = True
            continue
        try:
            id_range = parse_range(part, field, minimum=0)
        except ParseError as exc:
            raise ParseError(field, text, f"{part!r}: {exc.reason}") from exc
        if len(id_range) + len(ids) > MAX_EXPR_IDS:
            raise ParseError(field, text, f"more than {MAX_EXPR_IDS} broker ids")
        ids.update(range(id_range.start, id_range.end + 1))
    return BrokerExpr(tuple(sorted(ids)), all_existing, filters, text)


def select_brokers(text: str, brokers: Iterable[Broker], field: str = "broker") -> list[int]:
    """Resolve an expression to sorted broker ids (explicit ids need not exist; ``*`` means existing)."""
    return parse_broker_expr(text, field).select(brokers)


def parse_broker_ids(text: str, field: str = "broker") -> list[int]:
    """Ids of an expression that must not depend on existing brokers (e.g. ``add 0..2``)."""
    expr = parse_broker_expr(text, field)
    if expr.all_existing or expr.filters:
        raise ParseError(field, text, "'*' and attribute filters select existing brokers only")
    return list(expr.ids)


def format_broker_ids(ids: Iterable[int]) -> str:
    """Compact form: ``0..2,5,7..8``."""
    out: list[str] = []
    ordered = sorted(set(ids))
    index = 0
    while index < len(ordered):
        start = end = ordered[index]
        while index + 1 < len(ordered) and ordered[index + 1] == end + 1:
            index += 1
            end = ordered[index]
        out.append(str(start) if start == end else f"{start}..{end}")
        index += 1
    return ",".join(out)


def broker_attributes(broker: Broker) -> dict[str, str] | None:
    """The task's attributes plus ``hostname``; None when the broker has no task."""
    if broker.task is None:
        return None
    attributes = dict(broker.task.attributes)
    attributes["hostname"] = broker.task.hostname
    return attributes


def matches_attributes(broker: Broker, filters: Mapping[str, str | None]) -> bool:
    attributes = broker_attributes(broker)
    if attributes is None:
        return False
    for name, pattern in filters.items():
        if name not in attributes:
            return False
        if pattern is not None and not wildcard_match(pattern, attributes[name]):
            return False
    return True


def _wildcard_regex(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(piece) for piece in pattern.split("*")), re.DOTALL)


def wildcard_match(pattern: str, value: str) -> bool:
    """Full match where ``*`` stands for any run of characters."""
    if "*" not in pattern:
        return pattern == value
    return _wildcard_regex(pattern).fullmatch(value) is not None


def order_by_attributes(brokers: Sequence[Broker], names: Sequence[str]) -> list[int]:
    """mesos/kafka's ordering for ``topic add --broker 'expr[rack]'``: group by the attributes' values
    (groups sorted), then take one from each group in turn, so consecutive ids alternate racks."""
    groups: dict[tuple[str, ...], list[int]] = {}
    for broker in sorted(brokers, key=lambda b: b.id):
        attributes = broker_attributes(broker) or {}
        key = tuple(attributes.get(name, "") for name in names)
        groups.setdefault(key, []).append(broker.id)
    ordered_groups = [groups[key] for key in sorted(groups)]
    out: list[int] = []
    depth = 0
    while len(out) < len(brokers):
        for group in ordered_groups:
            if depth < len(group):
                out.append(group[depth])
        depth += 1
    return out


def select_topics(text: str, topics: Iterable[str], field: str = "topic") -> list[str]:
    """Comma list of names; ``*`` = every topic; a name with ``*`` is a wildcard over existing topics;
    other names are taken literally (they need not exist). Result keeps first-seen order, no repeats."""
    stripped = text.strip()
    if not stripped:
        raise ParseError(field, text, "empty topic expression")
    existing = sorted(set(topics))
    out: dict[str, None] = {}
    for part in stripped.split(","):
        name = part.strip()
        if not name:
            continue
        if "*" in name:
            regex = _wildcard_regex(name)
            for topic in existing:
                if regex.fullmatch(topic):
                    out[topic] = None
        else:
            out[name] = None
    if not out and "*" not in stripped:
        raise ParseError(field, text, "no topic names")
    return list(out)
