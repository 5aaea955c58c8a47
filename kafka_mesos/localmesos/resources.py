"""Resource arithmetic of the local Mesos: scalars, port ranges and sets, keyed by (name, role).

Mesos keeps scalars with three decimals; every result is rounded to 0.001 like Mesos does.
Parsing follows Mesos' agent flag syntax: `cpus:4;mem:8192;ports:[31000-32000];cpus(kafka):2`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from kafka_mesos.mesos.pb import mesos_pb2 as mpb

Range = tuple[int, int]
RangeList = tuple[Range, ...]
Value = float | RangeList | frozenset[str]
UNRESERVED = "*"
ALWAYS_FLATTENED = ("disk", "mem", "gpus", "cpus")
OFFER_ORDER = ("ports", "cpus", "mem", "disk")
# Resource bags repeat (identical agents); their protobuf form is built once. Callers copy
# (`extend`/`CopyFrom`) and never mutate the cached messages.
_PB_CACHE: dict[tuple[Resources, str | None, bool], list[mpb.Resource]] = {}


class ResourceParseError(ValueError):
    """A resource or attribute string that Mesos would refuse."""


def round_scalar(value: float) -> float:
    return round(value + 0.0, 3)


def normalize_ranges(ranges: Iterable[Range]) -> RangeList:
    merged: list[list[int]] = []
    for begin, end in sorted(ranges):
        if begin > end:
            raise ResourceParseError(f"range {begin}-{end} ends before it begins")
        if merged and begin <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([begin, end])
    return tuple((b, e) for b, e in merged)


def subtract_ranges(left: RangeList, right: RangeList) -> RangeList:
    result: list[Range] = []
    for begin, end in left:
        pieces = [(begin, end)]
        for rb, re_ in right:
            next_pieces: list[Range] = []
            for pb_, pe in pieces:
                if re_ < pb_ or rb > pe:
                    next_pieces.append((pb_, pe))
                    continue
                if rb > pb_:
                    next_pieces.append((pb_, rb - 1))
                if re_ < pe:
                    next_pieces.append((re_ + 1, pe))
            pieces = next_pieces
        result.extend(pieces)
    return normalize_ranges(result)


def ranges_contain(outer: RangeList, inner: RangeList) -> bool:
    return not subtract_ranges(inner, outer)


def format_ranges(ranges: RangeList) -> str:
    return "[" + ", ".join(f"{b}-{e}" for b, e in ranges) + "]"


@dataclass(frozen=True)
class Resources:
    """An immutable bag of resources; the (name, role) key is unique."""

    items: tuple[tuple[tuple[str, str], Value], ...] = ()

    @staticmethod
    def of(mapping: dict[tuple[str, str], Value]) -> Resources:
        kept = {k: v for k, v in mapping.items() if not _is_empty_value(v)}
        return Resources(tuple(sorted(kept.items(), key=lambda kv: _order_key(kv[0]))))

    def as_dict(self) -> dict[tuple[str, str], Value]:
        return dict(self.items)

    def __iter__(self) -> Iterator[tuple[tuple[str, str], Value]]:
        return iter(self.items)

    def is_empty(self) -> bool:
        return not self.items

    def scalar(self, name: str) -> float:
        return round_scalar(sum(v for (n, _), v in self.items if n == name and isinstance(v, float)))

    def roles(self) -> set[str]:
        return {role for (_, role), _ in self.items}

    def for_roles(self, roles: Iterable[str]) -> Resources:
        wanted = set(roles)
        return Resources.of({k: v for k, v in self.items if k[1] in wanted})

    def __add__(self, other: Resources) -> Resources:
        out = self.as_dict()
        for key, value in other.items:
            if key not in out:
                out[key] = value
            else:
                out[key] = _add_values(out[key], value)
        return Resources.of(out)

    def __sub__(self, other: Resources) -> Resources:
        out = self.as_dict()
        for key, value in other.items:
            if key in out:
                out[key] = _sub_values(out[key], value)
        return Resources.of(out)

    def contains(self, other: Resources) -> bool:
        mine = self.as_dict()
        for key, value in other.items:
            have = mine.get(key)
            if have is None or not _value_contains(have, value):
                return False
        return True

    def flatten(self) -> dict[str, float | str]:
        """The v0 `/state` rendering: role-less, cpus/gpus/mem/disk always present."""
        out: dict[str, float | str] = {name: 0.0 for name in ALWAYS_FLATTENED}
        merged: dict[str, Value] = {}
        for (name, _), value in self.items:
            merged[name] = _add_values(merged[name], value) if name in merged else value
        for name, value in merged.items():
            if isinstance(value, float):
                out[name] = round_scalar(value)
            elif isinstance(value, tuple):
                out[name] = format_ranges(value)
            else:
                out[name] = "{" + ", ".join(sorted(value)) + "}"
        return out

    def to_pb(self, *, allocation_role: str | None = None, agent_format: bool = False) -> list[mpb.Resource]:
        cached = _PB_CACHE.get((self, allocation_role, agent_format))
        if cached is None:
            cached = self._to_pb(allocation_role, agent_format)
            if len(_PB_CACHE) > 10000:
                _PB_CACHE.clear()
            _PB_CACHE[(self, allocation_role, agent_format)] = cached
        return cached

    def _to_pb(self, allocation_role: str | None, agent_format: bool) -> list[mpb.Resource]:
        """Protobuf resources.

        Offers (pre-reservation-refinement format) carry `role`; the agent's view carries
        `allocation_info` and static `reservations` instead, as seen in the captures.
        """
        out: list[mpb.Resource] = []
        for (name, role), value in self.items:
            res = mpb.Resource(name=name)
            if isinstance(value, float):
                res.type = mpb.Value.SCALAR
                res.scalar.value = round_scalar(value)
            elif isinstance(value, tuple):
                res.type = mpb.Value.RANGES
                for begin, end in value:
                    res.ranges.range.add(begin=begin, end=end)
            else:
                res.type = mpb.Value.SET
                res.set.item.extend(sorted(value))
            if agent_format:
                if role != UNRESERVED:
                    res.reservations.add(type=mpb.Resource.ReservationInfo.STATIC, role=role)
            else:
                res.role = role
            if allocation_role is not None:
                res.allocation_info.role = allocation_role
            out.append(res)
        return out

    @staticmethod
    def from_pb(resources: Iterable[mpb.Resource]) -> Resources:
        total = Resources()
        for res in resources:
            role = res.role if res.HasField("role") else UNRESERVED
            if len(res.reservations) > 0:
                role = res.reservations[-1].role
            value: Value
            if res.type == mpb.Value.SCALAR:
                if not res.HasField("scalar") or res.scalar.value < 0:
                    raise ResourceParseError(f"invalid scalar resource {res.name}")
                value = round_scalar(res.scalar.value)
            elif res.type == mpb.Value.RANGES:
                value = normalize_ranges((r.begin, r.end) for r in res.ranges.range)
            elif res.type == mpb.Value.SET:
                value = frozenset(res.set.item)
            else:
                raise ResourceParseError(f"unsupported resource type for {res.name}")
            total = total + Resources.of({(res.name, role): value})
        return total

    @staticmethod
    def parse(text: str) -> Resources:
        """Mesos' `--resources` syntax: `name[(role)]:value;...`."""
        total = Resources()
        for part in filter(None, (p.strip() for p in text.split(";"))):
            name_role, sep, raw = part.partition(":")
            if not sep or not raw.strip():
                raise ResourceParseError(f"bad resource '{part}': expected name:value")
            name, role = name_role.strip(), UNRESERVED
            if name.endswith(")") and "(" in name:
                name, _, role = name[:-1].partition("(")
            total = total + Resources.of({(name, role): parse_value(raw.strip(), part)})
        return total


def parse_value(raw: str, context: str) -> Value:
    try:
        if raw.startswith("["):
            if not raw.endswith("]"):
                raise ValueError(raw)
            ranges: list[Range] = []
            for piece in filter(None, (p.strip() for p in raw[1:-1].split(","))):
                begin, _, end = piece.partition("-")
                ranges.append((int(begin), int(end or begin)))
            return normalize_ranges(ranges)
        if raw.startswith("{"):
            if not raw.endswith("}"):
                raise ValueError(raw)
            return frozenset(i.strip() for i in raw[1:-1].split(",") if i.strip())
        value = float(raw)
    except ValueError as exc:
        raise ResourceParseError(f"bad value in '{context}'") from exc
    if value < 0:
        raise ResourceParseError(f"negative value in '{context}'")
    return round_scalar(value)


def parse_attributes(text: str) -> list[mpb.Attribute]:
    """Mesos' `--attributes` syntax: numbers are SCALAR, `[a-b]` RANGES, `{a,b}` SET, else TEXT."""
    out: list[mpb.Attribute] = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, sep, raw = part.partition(":")
        if not sep or not name.strip():
            raise ResourceParseError(f"bad attribute '{part}': expected name:value")
        attr = mpb.Attribute(name=name.strip())
        raw = raw.strip()
        if raw.startswith("[") or raw.startswith("{"):
            value = parse_value(raw, part)
            if isinstance(value, tuple):
                attr.type = mpb.Value.RANGES
                for begin, end in value:
                    attr.ranges.range.add(begin=begin, end=end)
            elif isinstance(value, frozenset):
                attr.type = mpb.Value.SET
                attr.set.item.extend(sorted(value))
        else:
            try:
                number = float(raw)
            except ValueError:
                attr.type = mpb.Value.TEXT
                attr.text.value = raw
            else:
                attr.type = mpb.Value.SCALAR
                attr.scalar.value = number
        out.append(attr)
    return out


def attribute_value(attr: mpb.Attribute) -> float | str:
    """The v0 `/state` rendering of one attribute."""
    if attr.type == mpb.Value.SCALAR:
        return attr.scalar.value
    if attr.type == mpb.Value.RANGES:
        return format_ranges(tuple((r.begin, r.end) for r in attr.ranges.range))
    if attr.type == mpb.Value.SET:
        return "{" + ",".join(attr.set.item) + "}"
    return attr.text.value


def _order_key(key: tuple[str, str]) -> tuple[int, str, str]:
    name, role = key
    rank = OFFER_ORDER.index(name) if name in OFFER_ORDER else len(OFFER_ORDER)
    return (rank, name, role)


def _is_empty_value(value: Value) -> bool:
    if isinstance(value, float):
        return value <= 0.0
    return len(value) == 0


def _add_values(left: Value, right: Value) -> Value:
    if isinstance(left, float) and isinstance(right, float):
        return round_scalar(left + right)
    if isinstance(left, tuple) and isinstance(right, tuple):
        return normalize_ranges(left + right)
    if isinstance(left, frozenset) and isinstance(right, frozenset):
        return left | right
    raise ResourceParseError("resources of one name must have one type")


def _sub_values(left: Value, right: Value) -> Value:
    if isinstance(left, float) and isinstance(right, float):
        return round_scalar(max(0.0, left - right))
    if isinstance(left, tuple) and isinstance(right, tuple):
        return subtract_ranges(left, right)
    if isinstance(left, frozenset) and isinstance(right, frozenset):
        return left - right
    raise ResourceParseError("resources of one name must have one type")


def _value_contains(have: Value, want: Value) -> bool:
    if isinstance(have, float) and isinstance(want, float):
        return round_scalar(have - want) >= 0.0
    if isinstance(have, tuple) and isinstance(want, tuple):
        return ranges_contain(have, want)
    if isinstance(have, frozenset) and isinstance(want, frozenset):
        return want <= have
    return False
