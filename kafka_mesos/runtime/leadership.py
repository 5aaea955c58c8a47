"""High availability for one scheduler process (`--ha`): leader election, a fenced store, the standby API.

Every scheduler sharing a ZooKeeper store joins the election under `<storage root>/leader`. All of them
serve the API; only the leader subscribes to Mesos, runs the scheduler's timers and writes the store:

- standby: reads from its own view (kept current by the store's change watch); other requests get a 307
  to the leader's API URL (the identifier of the leader's election node);
- takeover: reload the store, subscribe with the stored framework id, reconcile (the scheduler does);
- deposed (session SUSPENDED): at that instant the store refuses writes and the scheduler's Mesos calls
  fail; the Mesos session and timers are cancelled; if the same session comes back we lead again;
- LOST: leadership is gone for good, `run()` raises `LeadershipLost` and the process exits non-zero
  (Marathon starts it again, as a standby).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from typing import Any

from aiohttp import web

from kafka_mesos.api.control import SchedulerControl
from kafka_mesos.api.standby import standby_middleware
from kafka_mesos.state.election import LeaderElection
from kafka_mesos.state.fenced import FencedStore
from kafka_mesos.state.store import Store

log = logging.getLogger(__name__)

ELECTION_NODE = "leader"


class LeadershipLost(RuntimeError):
    """The ZooKeeper session that held leadership expired."""


class NotLeaderCaller:
    """Attached to the scheduler in place of the Mesos session the moment leadership is suspended."""

    async def call(self, call: Any) -> Any:
        raise RuntimeError("not the leader: Mesos call refused")


class HighAvailability:
    def __init__(self) -> None:
        self.election: LeaderElection | None = None
        self.store: FencedStore | None = None
        self.takeovers = 0

    # ------------------------------------------------------------------ wiring

    def fence(self, store: Store) -> FencedStore:
        """The store every component uses: writes only while this process leads."""
        self.store = FencedStore(store, lambda: self.is_leader)
        return self.store

    async def join(self, api_url: str) -> None:
        """Enter the election (after the store is open and the API URL is final)."""
        if self.store is None:
            raise RuntimeError("fence() the store before join()")
        inner: Any = self.store.inner
        bridge, root = getattr(inner, "bridge", None), getattr(inner, "root", None)
        if bridge is None or root is None:
            raise RuntimeError(f"leader election needs the ZooKeeper store, not {self.store.description}")
        self.election = LeaderElection(bridge, f"{root}/{ELECTION_NODE}", api_url)
        await self.election.start()

    def install(self, app: web.Application, own_url: str) -> None:
        """Standbys redirect what they must not do themselves (call before the app starts)."""
        app.middlewares.append(standby_middleware(self, own_url))

    def control(self, inner: SchedulerControl) -> SchedulerControl:
        return _ControlWithRole(inner, self)

    # ------------------------------------------------------------------ LeaderDirectory

    @property
    def is_leader(self) -> bool:
        return self.election is not None and self.election.is_leader

    async def leader(self) -> str | None:
        if self.election is None:
            return None
        if self.is_leader:
            return self.election.identifier
        return await self.election.leader()

    def status(self) -> dict[str, Any]:
        role = "leader" if self.is_leader else "standby"
        if self.election is not None and self.election.suspended:
            role = "suspended"
        if self.election is not None and self.election.lost:
            role = "deposed"
        leader = None
        if self.election is not None:
            leader = self.election.identifier if self.is_leader else self.election.current_leader
        refused = self.store.refused if self.store is not None else 0
        return {"role": role, "leader": leader, "takeovers": self.takeovers, "refusedWrites": refused}

    # ------------------------------------------------------------------ leading

    async def run(
        self,
        prepare: Callable[[], Awaitable[None]],
        work: Callable[[], Sequence[Coroutine[Any, Any, None]]],
        deposed: Callable[[], None],
        halt: Callable[[], Awaitable[None]],
    ) -> None:
        """Each time leadership is gained: `prepare()` (reload), then run `work()`'s coroutines until
        leadership ends. `deposed()` runs synchronously the moment it ends (before any other callback);
        `halt()` then winds the work down (closes the Mesos session) before its tasks are cancelled."""
        election = self.election
        if election is None:
            raise RuntimeError("join() first")
        election.add_listener(lambda leading: None if leading else deposed())
        while True:
            try:
                await election.wait_leading()
            except RuntimeError:
                raise LeadershipLost("ZooKeeper session expired while leading") from None
            await prepare()
            if not election.is_leader:
                continue
            self.takeovers += 1
            log.info("leading (term %d): subscribing to Mesos", self.takeovers)
            await self._lead(election, [asyncio.ensure_future(c) for c in work()], halt)
            if election.lost:
                raise LeadershipLost("ZooKeeper session expired while leading: exiting (restart as standby)")
            log.warning("leadership suspended (ZooKeeper connection lost): Mesos session and writes stopped")

    async def _lead(
        self, election: LeaderElection, tasks: list[asyncio.Future[None]], halt: Callable[[], Awaitable[None]]
    ) -> None:
        ended = asyncio.ensure_future(election.wait_not_leading())
        try:
            done, _ = await asyncio.wait([*tasks, ended], return_when=asyncio.FIRST_COMPLETED)
            # Whatever ended it (leadership, or the work itself, e.g. the scheduler stopping on SIGTERM):
            # the session winds down by itself first. Cancelling it mid-way could leave whoever waits for
            # it (the runtime's own stop) waiting for good.
            await halt()
        finally:
            for task in [*tasks, ended]:
                task.cancel()
            await asyncio.gather(*tasks, ended, return_exceptions=True)
        if ended not in done:  # the leader's work ended by itself: its outcome is the process' outcome
            finished = next(iter(done))
            finished.result()
            raise RuntimeError("the Mesos session ended while leading")

    async def stop(self) -> None:
        if self.election is not None:
            await self.election.stop()


class _ControlWithRole:
    """The scheduler's SchedulerControl, with the HA role in its status (shown by /health)."""

    def __init__(self, inner: SchedulerControl, ha: HighAvailability) -> None:
        self._inner = inner
        self._ha = ha

    def wake(self) -> None:
        self._inner.wake()

    def force_stop(self, broker_ids: Sequence[int]) -> None:
        self._inner.force_stop(broker_ids)

    def status(self) -> Mapping[str, Any]:
        return {**self._inner.status(), "ha": self._ha.status()}

    async def broker_log(self, broker_id: int, name: str, lines: int, timeout: float) -> str:  # noqa: ASYNC109
        return await self._inner.broker_log(broker_id, name, lines, timeout)
