"""Agents of one local Mesos share 127.0.0.1, so they must not offer the same ports.

`--local-resources "...;ports:[31000-32000]"` with three agents gives each agent a disjoint third of the
range. A resources text whose ports already depend on the agent number (`{n}`) is left alone.
"""

from __future__ import annotations

import re

_PORTS = re.compile(r"(ports(?:\([^)]*\))?):\[([^\]]*)\]")


def _slice(ranges: list[tuple[int, int]], start: int, count: int) -> list[tuple[int, int]]:
    """`count` ports from position `start` of the concatenated ranges."""
    out: list[tuple[int, int]] = []
    for begin, end in ranges:
        size = end - begin + 1
        if start >= size:
            start -= size
            continue
        first = begin + start
        last = min(end, first + count - 1)
        out.append((first, last))
        count -= last - first + 1
        start = 0
        if count == 0:
            break
    return out


def per_agent_resources(resources: str, agents: int) -> dict[int, str]:
    """Agent index → its resources text with a disjoint share of the ports (empty: nothing to split)."""
    match = _PORTS.search(resources)
    if agents < 2 or match is None or "{n}" in match.group(0):
        return {}
    try:
        ranges = []
        for part in match.group(2).split(","):
            begin, _, end = part.strip().partition("-")
            ranges.append((int(begin), int(end or begin)))
    except ValueError:
        return {}  # not ours to validate: the local Mesos reports bad resources itself
    share = sum(end - begin + 1 for begin, end in ranges) // agents
    if share < 1:
        return {}
    out = {}
    for index in range(agents):
        text = ",".join(f"{a}-{b}" for a, b in _slice(ranges, index * share, share))
        out[index] = f"{resources[:match.start()]}{match.group(1)}:[{text}]{resources[match.end():]}"
    return out
