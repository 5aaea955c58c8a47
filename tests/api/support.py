"""Test helpers for the API: the real ClusterState over a file store, a scheduler double that makes
observed state follow desired state when woken, and the API served from a background thread."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from kafka_mesos.api.app import build_app
from kafka_mesos.api.control import BrokerLogError, IdleControl
from kafka_mesos.core.model import TASK_RUNNING, Broker, Task
from kafka_mesos.state import ClusterState, FileStore, Store

T = TypeVar("T")


async def open_cluster(path: Path) -> ClusterState:
    return await ClusterState.open(FileStore(path, fsync=False))


async def open_cluster_on(store: Store) -> ClusterState:
    return await ClusterState.open(store)


def dump(cluster: ClusterState) -> dict[int, dict[str, Any]]:
    return {i: b.to_dict() for i, b in sorted(cluster.snapshot().items())}


def running_task(broker_id: int) -> Task:
    return Task(task_id=f"kafka-{broker_id}-t", agent_id="a1", executor_id=f"kafka-{broker_id}-t",
                hostname="agent1", port=31000 + broker_id, state=TASK_RUNNING,
                endpoint=f"agent1:{31000 + broker_id}", attributes={"rack": "r1"})


async def observe(cluster: ClusterState, tasks: Mapping[int, Task | None], active: bool | None = None,
                  **fields: Any) -> None:
    """What the scheduler would record: observed tasks (and, for set-up, desired state)."""

    def change(broker: Broker) -> Broker:
        changed = replace(broker, task=tasks[broker.id], **fields)
        return changed if active is None else replace(changed, active=active)

    await cluster.mutate(list(tasks), change)


class FollowingScheduler(IdleControl):
    """On wake, a moment later, gives active brokers a running task and takes inactive brokers' away.
    With `follow = False` observed state never changes (a scheduler that cannot place anything)."""

    def __init__(self, cluster: ClusterState | None = None, follow: bool = True) -> None:
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

        def decide(brokers: Mapping[int, Broker]) -> dict[int, Broker | None]:
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


class ThreadedApi:
    """The API on a real 127.0.0.1 socket, served from a loop in a background thread (for the CLI)."""

    def __init__(self, state_file: Path, files: Mapping[str, Path] | None = None) -> None:
        self.state_file = state_file
        self.files = dict(files or {})
        self.loop = asyncio.new_event_loop()
        self.url = ""
        self.cluster: ClusterState
        self.control: FollowingScheduler
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self.loop.run_forever, name="test-api", daemon=True)

    def run(self, coroutine: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run a coroutine on the server's loop (state must only be touched there)."""
        return asyncio.run_coroutine_threadsafe(coroutine(), self.loop).result(10)

    def call(self, fn: Callable[[], T]) -> T:
        async def run() -> T:
            return fn()

        return self.run(run)

    def brokers(self) -> Mapping[int, Broker]:
        return self.call(lambda: dict(self.cluster.snapshot()))

    def start(self) -> None:
        self._thread.start()
        self.run(self._start)

    async def _start(self) -> None:
        self.cluster = await open_cluster(self.state_file)
        self.control = FollowingScheduler(self.cluster)
        app = build_app(self.cluster, self.control, files=self.files)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def _stop(self) -> None:
        await self.control.drain()
        if self._runner is not None:
            await self._runner.cleanup()
        await self.cluster.close()

    def stop(self) -> None:
        self.run(self._stop)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


@contextlib.contextmanager
def threaded_api(state_file: Path, files: Mapping[str, Path] | None = None) -> Iterator[ThreadedApi]:
    api = ThreadedApi(state_file, files)
    api.start()
    try:
        yield api
    finally:
        api.stop()


def ids_of(answer: Mapping[str, Any]) -> Sequence[str]:
    return [b["id"] for b in answer["brokers"]]
