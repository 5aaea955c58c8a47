"""The scheduler subscription's decisions, without I/O.

:class:`Subscription` tracks one framework's subscription to the master: which state it is
in, the stream id and framework id to put on calls, how long the stream may stay silent
(the heartbeat watchdog), and what to do after each outcome: reconnect now, reconnect
after an exponential backoff with jitter, or stop. ``scheduler_session`` does the I/O.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass

from . import errors

DEFAULT_HEARTBEAT_SECONDS = 15.0  # Mesos' fixed interval; SUBSCRIBED carries it too
DEFAULT_MISSED_HEARTBEATS = 5  # silence of 5 intervals (75 s) = partition
MAX_IMMEDIATE_REDIRECTS = 3


class State(enum.Enum):
    IDLE = "idle"  # not started
    CONNECTING = "connecting"  # SUBSCRIBE sent, SUBSCRIBED not yet received
    SUBSCRIBED = "subscribed"
    BACKING_OFF = "backing-off"  # waiting before the next SUBSCRIBE
    STOPPED = "stopped"


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with "equal jitter": attempt n waits in [c/2, c] where
    c = min(maximum, initial * multiplier**n)."""

    initial: float = 0.5
    maximum: float = 15.0
    multiplier: float = 2.0

    def __post_init__(self) -> None:
        if self.initial < 0 or self.maximum < self.initial or self.multiplier < 1:
            raise ValueError(f"invalid backoff {self}")

    def ceiling(self, attempt: int) -> float:
        return min(self.maximum, self.initial * self.multiplier ** min(attempt, 64))

    def delay(self, attempt: int, rng: random.Random) -> float:
        ceiling = self.ceiling(attempt)
        return ceiling / 2 + rng.random() * ceiling / 2


@dataclass(frozen=True)
class Reconnect:
    """Subscribe again after ``delay`` seconds (0 = at once)."""

    delay: float
    reason: errors.MesosError


@dataclass(frozen=True)
class Stop:
    """Stop for good; ``error`` is None after a requested stop or a teardown."""

    error: errors.MesosError | None


Action = Reconnect | Stop


class Subscription:
    def __init__(
        self,
        framework_id: str | None = None,
        *,
        backoff: Backoff | None = None,
        missed_heartbeats: int = DEFAULT_MISSED_HEARTBEATS,
        default_heartbeat: float = DEFAULT_HEARTBEAT_SECONDS,
        rng: random.Random | None = None,
    ) -> None:
        if missed_heartbeats < 1 or default_heartbeat <= 0:
            raise ValueError("missed_heartbeats must be >= 1 and default_heartbeat > 0")
        self.framework_id = framework_id
        self.backoff = backoff or Backoff()
        self.missed_heartbeats = missed_heartbeats
        self.default_heartbeat = default_heartbeat
        self._rng = rng or random.Random()
        self.state = State.IDLE
        self.stream_id: str | None = None
        self.heartbeat_interval = default_heartbeat
        self.failed_attempts = 0  # consecutive failures since the last SUBSCRIBED
        self.redirects = 0  # consecutive 307s
        self.stop_requested = False
        self.torn_down = False

    @property
    def connected(self) -> bool:
        return self.state is State.SUBSCRIBED

    # ---------------------------------------------------------------- inputs

    def connecting(self) -> None:
        if self.state is State.STOPPED:
            raise RuntimeError("subscription is stopped")
        self.state = State.CONNECTING
        self.stream_id = None

    def subscribed(self, stream_id: str | None, framework_id: str, heartbeat_interval: float | None) -> None:
        """SUBSCRIBED arrived on the stream whose response carried ``stream_id``."""
        self.state = State.SUBSCRIBED
        self.stream_id = stream_id
        self.framework_id = framework_id
        self.heartbeat_interval = (
            heartbeat_interval if heartbeat_interval and heartbeat_interval > 0 else self.default_heartbeat
        )
        self.failed_attempts = 0
        self.redirects = 0

    def read_timeout(self) -> float:
        """How long the stream may stay silent before it is considered dead."""
        return self.heartbeat_interval * self.missed_heartbeats

    def teardown_sent(self) -> None:
        """TEARDOWN was accepted: the stream's end is the end."""
        self.torn_down = True

    def stop(self) -> Stop:
        self.stop_requested = True
        return self._stopped(None)

    def failed(self, error: errors.MesosError) -> Action:
        """The stream ended, or a SUBSCRIBE attempt failed, with ``error``."""
        self.stream_id = None
        if self.stop_requested or self.torn_down:
            return self._stopped(None)
        if isinstance(error, errors.NotLeader):
            self.redirects += 1
            if self.redirects <= MAX_IMMEDIATE_REDIRECTS:
                self.state = State.BACKING_OFF
                return Reconnect(0.0, error)
            return self._back_off(error)
        self.redirects = 0
        if isinstance(error, errors.FrameworkRemoved):
            self.framework_id = None  # dead id: never re-use it
            return self._stopped(error)
        if isinstance(error, errors.LeaderChanged):
            self.failed_attempts = 0
            self.state = State.BACKING_OFF
            return Reconnect(0.0, error)
        if error.retryable:
            return self._back_off(error)
        return self._stopped(error)

    # ---------------------------------------------------------------- helpers

    def _back_off(self, error: errors.MesosError) -> Reconnect:
        delay = self.backoff.delay(self.failed_attempts, self._rng)
        self.failed_attempts += 1
        self.state = State.BACKING_OFF
        return Reconnect(delay, error)

    def _stopped(self, error: errors.MesosError | None) -> Stop:
        self.state = State.STOPPED
        self.stream_id = None
        return Stop(error)
