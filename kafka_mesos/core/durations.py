"""Durations as mesos/kafka writes them (``500ms``, ``10s``, ``1m``, ``2h``, ``1d``, bare ``0``).

Values are seconds (float) in core. Mesos' own unit words (``secs``, ``mins``, ``hrs``, ``days``,
``weeks``) are accepted too, as are fractional numbers when they come to a whole millisecond.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from kafka_mesos.core.errors import ParseError

_UNIT_MS: dict[str, int] = {
    "ms": 1,
    "s": 1000, "sec": 1000, "secs": 1000,
    "m": 60_000, "min": 60_000, "mins": 60_000,
    "h": 3_600_000, "hr": 3_600_000, "hrs": 3_600_000,
    "d": 86_400_000, "day": 86_400_000, "days": 86_400_000,
    "w": 604_800_000, "week": 604_800_000, "weeks": 604_800_000,
}
_FORMAT_UNITS: tuple[tuple[str, int], ...] = (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000),
                                              ("s", 1000), ("ms", 1))
_DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*([a-z]+)")
# Ten years: anything larger is certainly a typo and would overflow timestamps downstream.
MAX_DURATION_MS = 10 * 365 * 86_400_000


def parse_duration_ms(text: str, field: str = "duration") -> int:
    """Parse a duration into whole milliseconds."""
    stripped = text.strip()
    if stripped == "0":
        return 0
    match = _DURATION.fullmatch(stripped)
    if match is None:
        raise ParseError(field, text, "expected a number and a unit (ms, s, m, h, d), e.g. 10s")
    number, unit = match.groups()
    if unit not in _UNIT_MS:
        raise ParseError(field, text, f"unknown unit {unit!r}; use ms, s, m, h or d")
    try:
        exact = Decimal(number) * _UNIT_MS[unit]
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only decimal numbers
        raise ParseError(field, text, "not a number") from exc
    if exact != exact.to_integral_value():
        raise ParseError(field, text, "finer than a millisecond")
    if exact > MAX_DURATION_MS:
        raise ParseError(field, text, "longer than ten years")
    return int(exact)


def parse_duration(text: str, field: str = "duration") -> float:
    """Parse a duration into seconds."""
    return parse_duration_ms(text, field) / 1000


def format_duration_ms(ms: int) -> str:
    """The shortest mesos/kafka text for a whole number of milliseconds (``60000`` → ``1m``)."""
    if ms < 0:
        raise ValueError(f"negative duration {ms} ms")
    if ms == 0:
        return "0"
    for unit, size in _FORMAT_UNITS:
        if ms % size == 0:
            return f"{ms // size}{unit}"
    raise AssertionError("unreachable: every integer is a whole number of ms")


def format_duration(seconds: float) -> str:
    """Format seconds, rounded to the millisecond."""
    return format_duration_ms(round(seconds * 1000))
