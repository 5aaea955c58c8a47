"""When to SUPPRESS and when to REVIVE: a small state machine, rate-limited, clock passed in."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class OfferCall(Enum):
    REVIVE = "revive"
    SUPPRESS = "suppress"


@dataclass
class OfferInterest:
    """Tracks whether Mesos is sending us offers and decides the next REVIVE/SUPPRESS.

    After every SUBSCRIBED, offers flow (we never subscribe with suppressed roles), so `reset()` marks
    the state unsuppressed. A REVIVE is sent at most once per `revive_interval`; a pending REVIVE that
    was held back is reported by `revive_due_at` so a timer can come back for it.
    """

    revive_interval: float
    suppressed: bool = False
    last_revive: float = float("-inf")
    revive_wanted: bool = False

    def reset(self) -> None:
        self.suppressed = False
        self.revive_wanted = False

    def decide(self, wants_offers: bool, now: float, force_revive: bool = False) -> OfferCall | None:
        """The call to make now, if any. `force_revive`: new work appeared (start, relaunch due) so the
        refuse filters installed by earlier declines must be cleared even if offers are not suppressed."""
        if not wants_offers:
            self.revive_wanted = False
            return None if self.suppressed else OfferCall.SUPPRESS
        if self.suppressed or force_revive or self.revive_wanted:
            if now - self.last_revive >= self.revive_interval:
                return OfferCall.REVIVE
            self.revive_wanted = True
        return None

    def revive_due_at(self) -> float | None:
        return self.last_revive + self.revive_interval if self.revive_wanted else None

    def done(self, call: OfferCall, now: float) -> None:
        if call is OfferCall.REVIVE:
            self.suppressed = False
            self.revive_wanted = False
            self.last_revive = now
        else:
            self.suppressed = True
