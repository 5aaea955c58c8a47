"""Test doubles for the API: an in-memory cluster state and a scheduler that makes observed state
follow desired state when woken (so start/stop/restart can be waited for)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from aiohttp import web

from kafka_mesos.api.app import build_app
from kafka_mesos.api.cluster import Changes
from kafka_mesos.api.control import BrokerLogError, IdleControl
from kafka_mesos.core.model import TASK_RUNNING, Broker, Task


class MemoryCluster:
    """The ApiCluster contract over a dict, with the same all-or-nothing and locking behaviour."""

    def __init__(self) -> None:
        self.brokers: dict[int, Broker] = {}
        self.framework_id: str | None = "fw-test"
        self.writes = 0
        self._lock = asyncio.Lock()
        self._changed = asyncio.Event()

    def snapshot(self) -> Mapping[int, Broker]:
        return dict(self.brokers)

    async def transact(self, decide: Callable[[Mapping[int, Broker]], Changes]) -> Changes:
        async with self._lock:
            changes = decide(dict(self.brokers))
            await asyncio.sleep(0)  # a write takes time: let other requests interleave
            for broker_id, broker in changes.items():
                if broker is None:
                    self.brokers.pop(broker_id, None)
                else:
                    self.brokers[broker_id] = broker
            self.writes += 1
            self._notify()
            return changes

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_changed(self, timeout: float) -> None:  # noqa: ASYNC109
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout)

    async def healthy(self) -> bool:
        return True

    def dump(self) -> dict[int, dict[str, Any]]:
        return {i: b.to_dict() for i, b in sorted(self.brokers.items())}


def running_task(broker_id: int) -> Task:
    return Task(task_id=f"kafka-{broker_id}-t", agent_id="a1", executor_id=f"kafka-{broker_id}-t",
                hostname="agent1", port=31000 + broker_id, state=TASK_RUNNING,
                endpoint=f"agent1:{31000 + broker_id}", attributes={"rack": "r1"})


class FollowingScheduler(IdleControl):
    """On wake, after a moment, gives active brokers a running task and takes inactive brokers' away.
    `follow=False` never changes observed state (a scheduler that cannot place anything)."""

    def __init__(self, cluster: MemoryCluster | None = None, follow: bool = True) -> None:
        super().__init__()
        self.cluster = cluster
        self.follow = follow
        self.logs: dict[int, str] = {}
        self.log_delay = 0.0
        self._tasks: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        super().wake()
        if self.follow and self.cluster is not None:
            task = asyncio.get_running_loop().create_task(self._converge())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _converge(self) -> None:
        assert self.cluster is not None
        await asyncio.sleep(0.01)

        def decide(brokers: Mapping[int, Broker]) -> Changes:
            changes: dict[int, Broker | None] = {}
            for broker in brokers.values():
                if broker.active and broker.task is None:
                    changes[broker.id] = replace(broker, task=running_task(broker.id))
                elif not broker.active and broker.task is not None:
                    changes[broker.id] = replace(broker, task=None)
            return changes

        await self.cluster.transact(decide)

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks))

    def status(self) -> Mapping[str, Any]:
        return {"connected": True, "reconciling": 0}

    async def broker_log(self, broker_id: int, name: str, lines: int, timeout: float) -> str:  # noqa: ASYNC109
        if self.log_delay:
            await asyncio.sleep(self.log_delay)
        if broker_id not in self.logs or name not in ("stdout", "stderr", "server.log"):
            raise BrokerLogError(f"{name} doesn't exist")
        return "\n".join(self.logs[broker_id].splitlines()[-lines:]) + "\n"


def set_tasks(cluster: MemoryCluster, tasks: Mapping[int, Task | None], active: bool | None = None) -> None:
    for broker_id, task in tasks.items():
        broker = replace(cluster.brokers[broker_id], task=task)
        if active is not None:
            broker = replace(broker, active=active)
        cluster.brokers[broker_id] = broker


class ThreadedApi:
    """The API on a real 127.0.0.1 socket, served from a loop in a background thread (for the CLI)."""

    def __init__(self, files: Mapping[str, Path] | None = None, follow: bool = True) -> None:
        self.files = dict(files or {})
        self.follow = follow
        self.loop = asyncio.new_event_loop()
        self.url = ""
        self.cluster: MemoryCluster
        self.control: FollowingScheduler
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self.loop.run_forever, name="test-api", daemon=True)

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run `fn` on the server's loop (state must only be touched there)."""

        async def run() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(10)

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)

    async def _start(self) -> None:
        self.cluster = MemoryCluster()
        self.control = FollowingScheduler(self.cluster, follow=self.follow)
        app = build_app(self.cluster, self.control, files=self.files)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        sockets = self._runner.addresses
        self.url = f"http://127.0.0.1:{sockets[0][1]}"

    async def _stop(self) -> None:
        await self.control.drain()
        if self._runner is not None:
            await self._runner.cleanup()

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


@contextlib.contextmanager
def threaded_api(files: Mapping[str, Path] | None = None, follow: bool = True) -> Iterator[ThreadedApi]:
    api = ThreadedApi(files, follow)
    api.start()
    try:
        yield api
    finally:
        api.stop()


def ids_of(answer: Mapping[str, Any]) -> Sequence[str]:
    return [b["id"] for b in answer["brokers"]]
