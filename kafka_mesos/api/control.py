"""What the API needs from the scheduler. `runtime` wires the real scheduler in; tests use a fake.

The API never talks to Mesos: it changes desired state in `ClusterState` and wakes the scheduler.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable


class BrokerLogError(RuntimeError):
    """The broker's log could not be fetched (not running, executor did not answer, ...).

    The scheduler must not import the API (they are sibling layers): it may raise any RuntimeError (or
    LookupError) whose message is for the operator; the API answers `{"status": "failure", ...}` with it."""


@runtime_checkable
class SchedulerControl(Protocol):
    def wake(self) -> None:
        """Desired state changed: look at the brokers again (revive offers, kill tasks)."""

    def force_stop(self, broker_ids: Sequence[int]) -> None:
        """`stop --force`: the brokers were just deactivated; end their tasks at once (no graceful stop)."""

    def status(self) -> Mapping[str, Any]:
        """JSON-able scheduler status for `/health`, e.g. `{"connected": true, "reconciling": 0}`."""

    async def broker_log(self, broker_id: int, name: str, lines: int, timeout: float) -> str:  # noqa: ASYNC109
        """The last `lines` lines of log `name` (stdout, stderr, server.log...) from the broker's executor.
        Raises RuntimeError or LookupError with a message for the operator, TimeoutError after `timeout`
        seconds."""


class IdleControl:
    """A scheduler that is not there: for running the API alone (and tests)."""

    def __init__(self) -> None:
        self.wakes = 0
        self.force_stopped: list[int] = []

    def wake(self) -> None:
        self.wakes += 1

    def force_stop(self, broker_ids: Sequence[int]) -> None:
        self.force_stopped.extend(broker_ids)

    def status(self) -> Mapping[str, Any]:
        return {"connected": False, "reconciling": 0}

    async def broker_log(self, broker_id: int, name: str, lines: int, timeout: float) -> str:  # noqa: ASYNC109
        raise BrokerLogError(f"broker {broker_id} is not running (no scheduler)")
