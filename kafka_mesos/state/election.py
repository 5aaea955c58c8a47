"""Leader election among schedulers sharing a ZooKeeper store: kazoo's lock recipe, bridged to asyncio.

Every contender holds an ephemeral sequential node `<path>/<uuid>__lock__<seq>` whose data is its
identifier (the scheduler's public API URL); the lowest sequence number is the leader (kazoo's
`Election` is the same recipe, so `Election(client, path).contenders()` lists us too). The blocking
`Lock.acquire` runs in one worker thread; everything else here happens on the event loop.

Leadership needs a live session: `is_leader` turns False the moment the connection is SUSPENDED (the
session may be expiring and another contender may take over), back to True when the same session
reconnects (our node is still there), and for good when the session is LOST.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable
from functools import partial

from kazoo.exceptions import KazooException, NoNodeError
from kazoo.protocol.states import KazooState
from kazoo.recipe.lock import CancelledError as LockCancelled
from kazoo.recipe.lock import Lock
from kazoo.retry import KazooRetry

from kafka_mesos.state.zkbridge import ZkBridge

log = logging.getLogger(__name__)

STOP_WAIT = 5.0
"""How long leaving the election waits for ZooKeeper; closing the session then removes our node anyway."""

_CONTENDER = re.compile(r"__lock__(-?\d{10})$")

LeadershipListener = Callable[[bool], None]
"""Called on the loop, synchronously with the state change, with the new `is_leader`."""


def leader_node(children: list[str]) -> str | None:
    """The contender node with the lowest sequence number (the leader), None without contenders."""
    numbered = [(int(m.group(1)), child) for child in children if (m := _CONTENDER.search(child))]
    return min(numbered)[1] if numbered else None


class LeaderElection:
    def __init__(self, bridge: ZkBridge, path: str, identifier: str) -> None:
        self.bridge = bridge
        self.path = path.rstrip("/")
        self.identifier = identifier
        self._stopped = False
        self._lock = Lock(bridge.client, self.path, identifier)
        # kazoo's default retry sleeps up to 60 s between attempts while ZooKeeper is away: a standby would
        # rejoin late, and leaving the election would wait for the sleep. Shorter, and interruptible.
        self._lock._retry = KazooRetry(
            max_tries=None, max_delay=2.0, sleep_func=bridge.client.handler.sleep_func,
            interrupt=lambda: self._stopped,
        )
        self._acquired = False
        self._connected = bridge.connected
        self._lost = False
        self._changed = asyncio.Event()
        self._listeners: list[LeadershipListener] = []
        self._campaign: asyncio.Task[None] | None = None
        self._lookups: set[asyncio.Task[None]] = set()
        self.current_leader: str | None = None
        """The leader's identifier as last seen (kept current by a watch on the contenders)."""
        self.terms = 0
        """How many times this process became leader (a reconnect of the same session is not a new term)."""

    # ------------------------------------------------------------------ state

    @property
    def is_leader(self) -> bool:
        return self._acquired and self._connected and not self._lost

    @property
    def suspended(self) -> bool:
        """We hold the leader's node but the connection is down: not leading until it is back."""
        return self._acquired and not self._connected and not self._lost

    @property
    def lost(self) -> bool:
        """Leadership ended for good: the session that held it expired."""
        return self._lost

    @property
    def node(self) -> str | None:
        node: str | None = self._lock.node
        return node

    def add_listener(self, listener: LeadershipListener) -> None:
        self._listeners.append(listener)

    def _set(
        self, *, acquired: bool | None = None, connected: bool | None = None, lost: bool = False
    ) -> None:
        before = self.is_leader
        if acquired is not None:
            self._acquired = acquired
        if connected is not None:
            self._connected = connected
        self._lost = self._lost or lost
        after = self.is_leader
        if before == after and not lost:
            return
        event, self._changed = self._changed, asyncio.Event()
        event.set()
        if before != after:
            log.info("leadership %s (%s)", "gained" if after else "suspended or lost", self.identifier)
            for listener in list(self._listeners):
                listener(after)

    async def wait_leading(self) -> None:
        while not self.is_leader:
            if self._lost:
                raise RuntimeError("leadership was lost for good")
            await self._changed.wait()

    async def wait_not_leading(self) -> None:
        while self.is_leader:
            await self._changed.wait()

    # ------------------------------------------------------------------ campaign

    async def start(self) -> None:
        """Join the election (returns at once; watch `is_leader` / `wait_leading()`)."""
        self.bridge.add_state_listener(self._on_state)
        await self.bridge.run(partial(self.bridge.client.ensure_path_async, self.path))
        self.bridge.watch_children(self.path, self._on_contenders)
        self.current_leader = await self.leader()  # known before start() returns; the watch keeps it
        self._campaign = asyncio.get_running_loop().create_task(self._run(), name="leader-election")

    async def _run(self) -> None:
        try:
            await asyncio.to_thread(self._lock.acquire)
        except LockCancelled:
            return
        except KazooException as e:  # interrupted because we leave, or ZooKeeper closed under it
            if not self._stopped:
                log.error("leader election failed: %r", e)
                self._set(lost=True)
            return
        if self._lost:
            return
        self.terms += 1
        log.info("elected leader under %s as %s", self.path, self._lock.node)
        self._set(acquired=True, connected=self.bridge.connected)

    def _on_contenders(self, children: list[str]) -> None:
        if self._stopped:
            return
        task = asyncio.get_running_loop().create_task(self._look_up_leader(), name="leader-lookup")
        self._lookups.add(task)
        task.add_done_callback(self._lookups.discard)

    async def _look_up_leader(self) -> None:
        self.current_leader = await self.leader()

    def _on_state(self, state: KazooState) -> None:
        if not self._acquired:
            self._connected = state == KazooState.CONNECTED
            return
        if state == KazooState.SUSPENDED:
            self._set(connected=False)
        elif state == KazooState.LOST:
            self._set(connected=False, lost=True)
        elif state == KazooState.CONNECTED and not self._lost:
            # The same session is back (an expiry is always reported as LOST first): check our node anyway.
            asyncio.get_running_loop().create_task(self._confirm_node(), name="leader-election-confirm")

    async def _confirm_node(self) -> None:
        node = self._lock.node
        try:
            stat = await self.bridge.run(partial(self.bridge.client.exists_async, f"{self.path}/{node}"))
        except KazooException as e:
            log.warning("cannot confirm leadership after reconnecting: %s", e)
            return
        if stat is None or stat.ephemeralOwner != self.bridge.client.client_id[0]:
            self._set(connected=False, lost=True)
        elif self.bridge.connected:
            self._set(connected=True)

    async def leader(self) -> str | None:
        """The identifier (API URL) of the current leader, None when there is none or ZooKeeper is away."""
        client = self.bridge.client
        try:
            children = await self.bridge.run(partial(client.get_children_async, self.path))
            first = leader_node(children)
            if first is None:
                return None
            data, _ = await self.bridge.run(partial(client.get_async, f"{self.path}/{first}"))
        except NoNodeError:
            return None
        except KazooException as e:
            log.warning("cannot read the leader under %s: %s", self.path, e)
            return None
        return bytes(data).decode("utf-8") or None

    async def stop(self) -> None:
        """Leave the election: stop waiting, give up leadership (the node goes)."""
        self._stopped = True
        self._lock.cancel()
        for lookup in list(self._lookups):
            lookup.cancel()
        await asyncio.gather(*self._lookups, return_exceptions=True)
        task, self._campaign = self._campaign, None
        if task is not None:  # the acquiring thread ends for good when the store closes the session
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(task), STOP_WAIT)
        node = self._lock.node
        if self._acquired and not self._lost and node and self.bridge.connected:
            client = self.bridge.client
            with contextlib.suppress(KazooException, TimeoutError):
                await asyncio.wait_for(self.bridge.run(partial(client.delete_async, f"{self.path}/{node}")),
                                       STOP_WAIT)
            self._lock.is_acquired = False
        self._set(acquired=False)
