"""Inclusive integer ranges as mesos/kafka writes them: ``N`` or ``A..B``."""

from __future__ import annotations

from dataclasses import dataclass

from kafka_mesos.core.errors import ParseError


@dataclass(frozen=True, order=True)
class Range:
    """An inclusive range ``start..end`` (``start <= end``)."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise ValueError(f"range start {self.start} > end {self.end}")

    @classmethod
    def single(cls, value: int) -> Range:
        return cls(value, value)

    def __len__(self) -> int:
        return self.end - self.start + 1

    def __contains__(self, value: object) -> bool:
        return isinstance(value, int) and self.start <= value <= self.end

    def overlaps(self, other: Range) -> bool:
        return self.start <= other.end and other.start <= self.end

    def intersection(self, other: Range) -> Range | None:
        if not self.overlaps(other):
            return None
        return Range(max(self.start, other.start), min(self.end, other.end))

    def format(self) -> str:
        return str(self.start) if self.start == self.end else f"{self.start}..{self.end}"

    def __str__(self) -> str:
        return self.format()


# A broker's port wish: a fixed port is a one-value range; None (outside this type) means "any".
PortSpec = Range


MAX_DIGITS = 18  # beyond any id or port; also keeps int() away from its 4300-digit limit


def _parse_int(field: str, whole: str, part: str) -> int:
    part = part.strip()
    digits = part[1:] if part[:1] in ("+", "-") else part
    if not digits or not digits.isascii() or not digits.isdigit():
        raise ParseError(field, whole, f"{_short(part)!r} is not an integer")
    if len(digits) > MAX_DIGITS:
        raise ParseError(field, whole, "number too large")
    return int(part)


def _short(text: str) -> str:
    return text if len(text) <= 20 else text[:20] + "..."


def parse_range(text: str, field: str = "range", *, minimum: int | None = None,
                maximum: int | None = None) -> Range:
    """Parse ``N`` or ``A..B`` (inclusive, ``A <= B``), optionally bounded."""
    stripped = text.strip()
    if not stripped:
        raise ParseError(field, text, "empty range")
    if ".." in stripped:
        left, _, right = stripped.partition("..")
        start, end = _parse_int(field, text, left), _parse_int(field, text, right)
    else:
        start = end = _parse_int(field, text, stripped)
    if start > end:
        raise ParseError(field, text, f"start {start} is greater than end {end}")
    if minimum is not None and start < minimum:
        raise ParseError(field, text, f"{start} is below {minimum}")
    if maximum is not None and end > maximum:
        raise ParseError(field, text, f"{end} is above {maximum}")
    return Range(start, end)


def parse_port_spec(text: str, field: str = "port") -> PortSpec | None:
    """A broker's port: ``""`` = any offered port, ``31092`` or ``31090..31100``; ports are 1..65535."""
    if not text.strip():
        return None
    return parse_range(text, field, minimum=1, maximum=65535)


def format_port_spec(port: PortSpec | None) -> str:
    return "" if port is None else port.format()
