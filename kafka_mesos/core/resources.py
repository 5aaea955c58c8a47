"""Resource arithmetic: scalars in Mesos' fixed point (0.001), port ranges, role-aware pools.

Scalars are kept as integer thousandths while matching so that subtracting many small tasks from
an offer never drifts (0.01 cpus times 100 is exactly 1 cpu, as Mesos counts it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from kafka_mesos.core.ranges import Range

UNRESERVED_ROLE = "*"


def to_milli(value: float) -> int:
    return round(value * 1000)


def from_milli(value: int) -> float:
    return value / 1000


def round_scalar(value: float) -> float:
    """Round to Mesos' scalar precision."""
    return from_milli(to_milli(value))


def merge_ranges(ranges: Iterable[Range]) -> tuple[Range, ...]:
    """Sorted, with overlapping and adjacent ranges joined."""
    out: list[Range] = []
    for current in sorted(ranges):
        if out and current.start <= out[-1].end + 1:
            if current.end > out[-1].end:
                out[-1] = Range(out[-1].start, current.end)
        else:
            out.append(current)
    return tuple(out)


def subtract_port(ranges: Sequence[Range], port: int) -> tuple[Range, ...]:
    out: list[Range] = []
    for current in ranges:
        if port not in current:
            out.append(current)
            continue
        if current.start < port:
            out.append(Range(current.start, port - 1))
        if port < current.end:
            out.append(Range(port + 1, current.end))
    return tuple(out)


def first_port(ranges: Sequence[Range], wanted: Range | None, preferred: int | None = None) -> int | None:
    """The port to take from ``ranges`` (sorted): ``preferred`` when available and wanted, else the
    lowest available port inside ``wanted`` (any when ``wanted`` is None); None if there is none."""
    if preferred is not None and (wanted is None or preferred in wanted):
        if any(preferred in r for r in ranges):
            return preferred
    for current in ranges:
        if wanted is None:
            return current.start
        overlap = current.intersection(wanted)
        if overlap is not None:
            return overlap.start
    return None


def format_ranges(ranges: Iterable[Range]) -> str:
    return ",".join(r.format() for r in ranges) or "none"


@dataclass(frozen=True)
class Resources:
    """One role's share of an offer (or of a task)."""

    cpus: float = 0.0
    mem: float = 0.0
    disk: float = 0.0
    ports: tuple[Range, ...] = ()


@dataclass
class RolePool:
    """A mutable working copy of one role's resources inside an offer, in thousandths."""

    role: str
    cpus: int
    mem: int
    ports: tuple[Range, ...]

    @classmethod
    def of(cls, role: str, resources: Resources) -> RolePool:
        return cls(role, to_milli(resources.cpus), to_milli(resources.mem), merge_ranges(resources.ports))


@dataclass(frozen=True)
class Taken:
    """What one task (or executor) takes from one role."""

    role: str
    cpus: float = 0.0
    mem: float = 0.0
    ports: tuple[int, ...] = ()


@dataclass
class OfferPool:
    """An offer's usable resources, role pools in preference order (the framework's role before ``*``)."""

    pools: list[RolePool] = field(default_factory=list)

    @classmethod
    def of(cls, resources_by_role: dict[str, Resources] | Iterable[tuple[str, Resources]],
           framework_role: str) -> OfferPool:
        items = dict(resources_by_role.items() if isinstance(resources_by_role, dict) else resources_by_role)
        order = [framework_role] if framework_role == UNRESERVED_ROLE else [framework_role, UNRESERVED_ROLE]
        return cls([RolePool.of(role, items[role]) for role in order if role in items])

    def cpus(self) -> int:
        total = 0
        for pool in self.pools:  # a loop, not sum(genexpr): this is matching's hottest line
            total += pool.cpus
        return total

    def mem(self) -> int:
        total = 0
        for pool in self.pools:
            total += pool.mem
        return total

    def ports(self) -> tuple[Range, ...]:
        return merge_ranges(r for p in self.pools for r in p.ports)

    def find_port(self, wanted: Range | None, preferred: int | None) -> tuple[int, str] | None:
        """(port, role) to take; reserved role ranges are searched before ``*``. The preferred
        (sticky) port wins over role order when it is offered at all."""
        if preferred is not None and (wanted is None or preferred in wanted):
            for pool in self.pools:
                if any(preferred in r for r in pool.ports):
                    return preferred, pool.role
        for pool in self.pools:
            port = first_port(pool.ports, wanted)
            if port is not None:
                return port, pool.role
        return None

    def take(self, cpus: int, mem: int, port: tuple[int, str] | None) -> tuple[Taken, ...]:
        """Subtract; the caller has checked there is enough. Returns what was taken, per role."""
        taken: list[Taken] = []
        for pool in self.pools:
            cpus_here, mem_here = min(cpus, pool.cpus), min(mem, pool.mem)
            pool.cpus -= cpus_here
            pool.mem -= mem_here
            cpus -= cpus_here
            mem -= mem_here
            ports_here: tuple[int, ...] = ()
            if port is not None and port[1] == pool.role:
                pool.ports = subtract_port(pool.ports, port[0])
                ports_here = (port[0],)
            if cpus_here or mem_here or ports_here:
                taken.append(Taken(pool.role, from_milli(cpus_here), from_milli(mem_here), ports_here))
        if cpus > 0 or mem > 0:
            raise ValueError("took more than the offer holds")
        return tuple(taken)
