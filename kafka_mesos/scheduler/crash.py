"""Deterministic crash points for tests of the scheduler's persistence order.

``KM_TEST_CRASH_AT=<point>:<n>`` makes the scheduler process exit at once (``os._exit(137)``, as if it had
been sent SIGKILL) the n-th time it reaches ``<point>``. Unset (always, outside tests) nothing happens.
The environment is read here and nowhere else.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping

log = logging.getLogger(__name__)

CRASH_ENV = "KM_TEST_CRASH_AT"
AFTER_PERSIST_BEFORE_ACCEPT = "after-persist-before-accept"
AFTER_PERSIST_BEFORE_ACK = "after-persist-before-ack"
POINTS = frozenset({AFTER_PERSIST_BEFORE_ACCEPT, AFTER_PERSIST_BEFORE_ACK})
KILLED_EXIT_CODE = 137


class CrashPoints:
    """Counts arrivals at the named point; exits the process at the configured arrival."""

    def __init__(self, point: str | None = None, at: int = 1) -> None:
        if point is not None and point not in POINTS:
            known = ", ".join(sorted(POINTS))
            raise ValueError(f"{CRASH_ENV}: unknown crash point {point!r}; known: {known}")
        if at < 1:
            raise ValueError(f"{CRASH_ENV}: the arrival to crash at must be >= 1, not {at}")
        self.point = point
        self.at = at
        self.arrivals = 0

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> CrashPoints:
        spec = environ.get(CRASH_ENV, "").strip()
        if not spec:
            return cls()
        point, _, count = spec.partition(":")
        if count and not count.isdigit():
            raise ValueError(f"{CRASH_ENV}: expected <point>:<n>, got {spec!r}")
        return cls(point, int(count) if count else 1)

    def reached(self, point: str) -> None:
        if point != self.point:
            return
        self.arrivals += 1
        if self.arrivals >= self.at:
            log.critical("test crash point %s reached (arrival %d): exiting", point, self.arrivals)
            for handler in logging.getLogger().handlers:
                handler.flush()
            sys.stderr.flush()
            os._exit(KILLED_EXIT_CODE)
