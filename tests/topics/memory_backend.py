"""An in-memory `TopicBackend` with a controller stepped by the test (no ZooKeeper): shows that the API
needs nothing ZooKeeper-specific, and makes status paths (timeout, error, foreign reassignment) exact."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from aiohttp import web

from kafka_mesos.api.app import build_app
from kafka_mesos.api.control import IdleControl
from kafka_mesos.kafka.topics import (
    PartitionKey,
    PartitionState,
    ReassignmentRunning,
    Topic,
    TopicExists,
    TopicMarkedForDeletion,
)
from tests.api.support import open_cluster


class MemoryTopics:
    def __init__(self, brokers: Mapping[int, str | None]) -> None:
        self.brokers = dict(brokers)
        self.topics: dict[str, Topic] = {}
        self.pending: dict[PartitionKey, list[int]] | None = None
        self.steps_per_read = 1
        """Partitions the "controller" completes each time the reassignment is read (0: it is stuck)."""
        self.misplace = False
        """Complete partitions onto other brokers than asked (Kafka would report them as errors)."""
        self.config_changes: list[str] = []
        self.deleted: list[str] = []
        """Topics marked for deletion (nothing deletes them here)."""
        self.broker_config: dict[int, dict[str, str]] = {}

    async def topic_names(self) -> list[str]:
        return sorted(self.topics)

    async def read_topics(self, names: Iterable[str]) -> dict[str, Topic]:
        return {n: self.topics[n] for n in names if n in self.topics}

    async def live_brokers(self) -> dict[int, str | None]:
        return dict(self.brokers)

    async def create_topic(self, name: str, assignment: Mapping[int, Sequence[int]],
                           config: Mapping[str, str]) -> None:
        if name in self.topics:
            raise TopicExists(name)
        partitions = {p: list(r) for p, r in assignment.items()}
        states = {p: PartitionState(r[0], tuple(r)) for p, r in partitions.items()}
        self.topics[name] = Topic(name, partitions, dict(config), states)

    async def set_config(self, name: str, config: Mapping[str, str]) -> None:
        self.topics[name] = replace(self.topics[name], config=dict(config))
        self.config_changes.append(f"topics/{name}")

    async def delete_topic(self, name: str) -> None:
        if name in self.deleted:
            raise TopicMarkedForDeletion(name)
        self.deleted.append(name)

    async def broker_configs(self) -> dict[int, dict[str, str]]:
        return {b: dict(c) for b, c in self.broker_config.items()}

    async def set_broker_config(self, broker_id: int, config: Mapping[str, str]) -> None:
        self.broker_config[broker_id] = dict(config)
        self.config_changes.append(f"brokers/{broker_id}")

    async def reassignment(self) -> dict[PartitionKey, list[int]] | None:
        if self.pending is not None:
            for key in list(self.pending)[: self.steps_per_read]:
                self._apply(key, self.pending.pop(key))
            if not self.pending:
                self.pending = None
        return None if self.pending is None else dict(self.pending)

    def _apply(self, key: PartitionKey, replicas: list[int]) -> None:
        topic, partition = key
        if self.misplace:
            replicas = [b for b in self.brokers if b not in replicas][: len(replicas)]
        current = self.topics[topic]
        partitions = {**current.partitions, partition: replicas}
        states = {**current.states, partition: PartitionState(replicas[0], tuple(replicas))}
        self.topics[topic] = replace(current, partitions=partitions, states=states)

    async def start_reassignment(self, targets: Mapping[PartitionKey, Sequence[int]]) -> None:
        if self.pending is not None:
            raise ReassignmentRunning(self.pending)
        self.pending = {k: list(v) for k, v in targets.items()}


class ServedTopics:
    """The API with a MemoryTopics backend on 127.0.0.1, served from a loop in a thread (for the CLI)."""

    def __init__(self, state_file: Path, backend: MemoryTopics) -> None:
        self.state_file = state_file
        self.backend = backend
        self.loop = asyncio.new_event_loop()
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._cluster: object = None
        self._thread = threading.Thread(target=self.loop.run_forever, name="topics-api", daemon=True)

    def _run(self, coroutine: object) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(30)  # type: ignore[arg-type]

    async def _start(self) -> None:
        cluster = await open_cluster(self.state_file)
        self._cluster = cluster
        self._runner = web.AppRunner(build_app(cluster, IdleControl(), topics=self.backend))
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        await self._cluster.close()  # type: ignore[attr-defined]


@contextlib.contextmanager
def served_topics(state_file: Path, backend: MemoryTopics) -> Iterator[ServedTopics]:
    server = ServedTopics(state_file, backend)
    server._thread.start()
    try:
        server._run(server._start())
        yield server
    finally:
        server._run(server._stop())
        server.loop.call_soon_threadsafe(server.loop.stop)
        server._thread.join(10)
        server.loop.close()
