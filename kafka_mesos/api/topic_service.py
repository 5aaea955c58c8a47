"""Topic operations behind `/api/topic/*`, `/api/topics/*` and `/api/brokers/rebalance`.

Decisions (placement, rebalance plans, status words) come from core; Kafka's metadata from a
`TopicBackend` (ZooKeeper today). A rebalance is one write of `/admin/reassign_partitions`; Kafka's
controller does the moving and deletes the znode when done.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kafka_mesos.api.cluster import ApiCluster
from kafka_mesos.api.errors import ApiError, conflict
from kafka_mesos.api.params import Params
from kafka_mesos.core.assignment import Assignment, assign_replicas
from kafka_mesos.core.durations import parse_duration
from kafka_mesos.core.errors import ValidationError
from kafka_mesos.core.expr import format_broker_ids, order_by_attributes, parse_broker_expr, select_topics
from kafka_mesos.core.maps import parse_map
from kafka_mesos.core.rebalance import (
    FOLLOWER_THROTTLED_REPLICAS,
    LEADER_THROTTLED_REPLICAS,
    THROTTLE_RATES,
    PartitionMove,
    check_brokers_and_replicas,
    moves_between,
    moves_per_broker,
    parse_g1_topics,
    partition_status,
    plan_topics,
    realign_topic,
    state_table,
    throttled_replicas,
)
from kafka_mesos.kafka.topics import (
    PartitionKey,
    ReassignmentRunning,
    Topic,
    TopicBackend,
    TopicExists,
    TopicMarkedForDeletion,
    check_topic_name,
)

Json = dict[str, Any]
log = logging.getLogger(__name__)


def topic_json(topic: Topic) -> Json:
    """mesos/kafka's topic shape plus replication factor and under-replicated partitions."""
    return {
        "name": topic.name,
        "partitions": {str(p): r for p, r in topic.partitions.items()},
        "options": topic.config,
        "replicationFactor": topic.replication_factor,
        "underReplicated": topic.under_replicated(),
    }


@dataclass
class _Rebalance:
    """The last reassignment this scheduler started (mesos/kafka kept it in memory too)."""

    moves: list[PartitionMove]
    realign: bool


class TopicService:
    def __init__(self, backend: TopicBackend, cluster: ApiCluster, *, poll_interval: float = 0.1,
                 throttle_check_interval: float = 5.0, rng: random.Random | None = None) -> None:
        self.backend = backend
        self.cluster = cluster
        self.poll_interval = poll_interval
        self.throttle_check_interval = throttle_check_interval
        self.rng = rng or random.Random()
        self._last: _Rebalance | None = None
        self._throttle_topics: set[str] = set()
        """Topics of reassignments seen running (ours or not): when none runs any more, the replication
        throttles are taken off them and off every broker, as Kafka's `--verify` does."""
        self._lock = asyncio.Lock()

    # ---- helpers ---------------------------------------------------------------------------------------

    async def _existing(self, expr: str, field: str = "topic") -> list[Topic]:
        names = select_topics(expr, await self.backend.topic_names(), field)
        topics = await self.backend.read_topics(names)
        missing = [n for n in names if n not in topics]
        if missing:
            raise ApiError(f"topic{'s' if len(missing) > 1 else ''} not found: {','.join(missing)}", field)
        return [topics[n] for n in names]

    async def _brokers(self, text: str | None) -> tuple[list[int], dict[int, str]]:
        """Ordered broker ids and their racks. ``*`` = brokers registered in Kafka (plus the scheduler's
        running ones); explicit ids must be registered (a reassignment onto a dead broker never ends)."""
        expr = parse_broker_expr(text if text and text.strip() else "*", "broker")
        live = await self.backend.live_brokers()
        known = self.cluster.snapshot()
        chosen = set(expr.select(known.values()))
        if expr.all_existing and not expr.filters:
            chosen |= set(live)
        explicit = set(expr.ids)
        dead = sorted(b for b in chosen if b not in live and b in explicit)
        if dead:
            raise ApiError(f"brokers not running in Kafka (not registered): {format_broker_ids(dead)}",
                           "broker")
        ids = sorted(b for b in chosen if b in live)
        if not ids:
            raise ApiError(f"no running brokers match {expr.text!r}", "broker")
        racks: dict[int, str] = {}
        for b in ids:
            rack = live.get(b)
            task = known[b].task if b in known else None
            if rack is None and task is not None:
                rack = task.attributes.get("rack")
            if rack is not None:
                racks[b] = rack
        if expr.filters and all(b in known for b in ids):
            ids = order_by_attributes([known[b] for b in ids], list(expr.filters))
        return ids, racks

    @staticmethod
    def _config(params: Params) -> dict[str, str]:
        options = parse_map(params.get("options") or "", "options", allow_null_values=False)
        return {k: v for k, v in options.items() if v is not None}

    def _draw(self, value: int, n: int) -> int:
        return value if value >= 0 else self.rng.randrange(n)

    # ---- topics ----------------------------------------------------------------------------------------

    async def list_topics(self, params: Params) -> Json:
        expr = params.get("topic") or "*"
        names = select_topics(expr, await self.backend.topic_names())
        topics = await self.backend.read_topics(names)
        return {"topics": [topic_json(topics[n]) for n in names if n in topics]}

    async def add(self, params: Params) -> Json:
        names = select_topics(params.require("topic"), await self.backend.topic_names())
        for name in names:
            check_topic_name(name)
        partitions = params.integer("partitions", 1)
        replicas = params.integer("replicas", 1)
        fixed_start = params.integer("fixedStartIndex", -1, minimum=-1)
        start_partition = params.integer("startPartitionId", -1, minimum=-1)
        if start_partition > 0:  # Kafka's admin check: a topic's partitions are exactly 0..n-1
            raise ApiError("startPartitionId must be 0 or -1 for a new topic (partitions are 0..n-1)",
                           "startPartitionId")
        config = self._config(params)
        brokers, racks = await self._brokers(params.get("broker"))
        existing = await self.backend.read_topics(names)
        if existing:
            raise ApiError(f"Topic {next(iter(existing))} already exists", "topic")
        created: list[Topic] = []
        for name in names:
            assignment = assign_replicas(
                brokers, partitions, replicas, start_index=self._draw(fixed_start, len(brokers)),
                shift=self._draw(fixed_start, len(brokers)), start_partition_id=start_partition, racks=racks,
            )
            try:
                await self.backend.create_topic(name, assignment, config)
            except TopicExists as e:
                raise ApiError(str(e), "topic") from None
            created.append(Topic(name, assignment, config))
        return {"topics": [topic_json(t) for t in created]}

    async def update(self, params: Params) -> Json:
        topics = await self._existing(params.require("topic"))
        if params.get("options") is None:
            raise ApiError("options required", "options")
        config = self._config(params)
        for topic in topics:
            await self.backend.set_config(topic.name, config)
        return {"topics": [topic_json(Topic(t.name, t.partitions, config, t.states)) for t in topics]}

    async def delete(self, params: Params) -> Json:
        """Mark topics for deletion; Kafka's controller deletes them (brokers need delete.topic.enable)."""
        topics = await self._existing(params.require("topic"))
        for topic in topics:
            try:
                await self.backend.delete_topic(topic.name)
            except TopicMarkedForDeletion as e:
                raise ApiError(str(e), "topic") from None
        return {"topics": [topic_json(t) for t in topics]}

    async def partitions(self, params: Params) -> Json:
        """mesos/kafka's partition list: per topic, each partition's replicas, ISR, leader and expected
        (preferred) leader; -1 when there is no leader or no state yet."""
        topics = await self._existing(params.require("topic"))
        answer: Json = {}
        for topic in topics:
            rows = []
            for p, replicas in sorted(topic.partitions.items()):
                state = topic.states.get(p)
                rows.append({"id": p, "replicas": replicas, "isr": list(state.isr) if state else [],
                             "leader": state.leader if state else -1,
                             "expectedLeader": replicas[0] if replicas else -1})
            answer[topic.name] = rows
        return answer

    # ---- rebalance -------------------------------------------------------------------------------------

    async def rebalance(self, params: Params, *, realign: bool = False) -> Json:
        realign = realign or params.flag("realign")
        text = params.get("topic")
        if text is None or not text.strip() or text.strip() == "status":
            return await self.status()
        if realign and params.get("startPartitionId") not in (None, "", "-1"):
            raise ApiError("startPartitionId is incompatible with realign", "startPartitionId")
        replicas = params.integer("replicas", -1, minimum=-1)
        topics = await self._existing(text)
        wanted = {t.name: (replicas if replicas > 0 else None) for t in topics}
        return await self._run(topics, wanted, params, realign)

    async def g1_rebalance(self, params: Params) -> Json:
        """`/api/brokers/rebalance`: brokers in ``id``; topics in mesos/kafka's first syntax ``t0:3,*:2``."""
        broker_text = params.get("broker")
        if broker_text is None or not broker_text.strip() or broker_text.strip() == "status":
            return await self.status()
        existing = await self.backend.topic_names()
        wanted: dict[str, int | None] = {}
        for name, rf in parse_g1_topics(params.get("topics") or "*"):
            for match in select_topics(name, existing, "topics"):
                if match in existing:  # mesos/kafka drops unknown names here
                    wanted.setdefault(match, rf)
        replicas = params.integer("replicas", -1, minimum=-1)
        if replicas > 0:
            wanted = dict.fromkeys(wanted, replicas)
        if not wanted:
            raise ApiError(f"no topics match {params.get('topics') or '*'!r}", "topics")
        topics = list((await self.backend.read_topics(wanted)).values())
        return await self._run(topics, wanted, params, realign=False)

    async def _run(self, topics: Sequence[Topic], replicas: Mapping[str, int | None], params: Params,
                   realign: bool) -> Json:
        timeout = parse_duration(params.get("timeout") or "0", "timeout")
        dry_run = params.flag("dryRun")
        fixed_start = params.integer("fixedStartIndex", -1, minimum=-1)
        throttle = params.integer("throttle", 0, minimum=0)
        async with self._lock:
            pending = await self.backend.reassignment()
            if pending is not None and not dry_run:
                raise self._in_progress(pending)
            brokers, racks = await self._brokers(params.get("broker"))
            for name, rf in replicas.items():
                try:
                    check_brokers_and_replicas(len(brokers), rf)
                except ValidationError as e:
                    raise ApiError(f"topic {name}: {e.message}", e.field) from None
            current = {t.name: t.partitions for t in topics}
            planned = self._plan(current, brokers, racks, replicas, realign, fixed_start)
            moves = moves_between(current, planned)
            if not moves:
                return {"status": "idle (no-op)", "state": "", "moves": {}, "progress": _progress(0, 0)}
            answer: Json = {"state": state_table(moves, {}), "moves": _moves_json(moves)}
            if dry_run:
                return {"status": "planned", **answer, "progress": _progress(0, len(moves))}
            self._throttle_topics |= {m.topic for m in moves}
            if throttle > 0:  # before the reassignment, as Kafka's tool does
                await self._set_throttles(moves, throttle)
            try:
                await self.backend.start_reassignment({(m.topic, m.partition): m.new for m in moves})
            except ReassignmentRunning as e:
                await self._clear_throttles()
                raise self._in_progress(e.pending) from None
            self._last = _Rebalance(moves, realign)
        if timeout <= 0:
            return {**(await self._state()), "status": "started"}
        deadline = asyncio.get_running_loop().time() + timeout
        while await self.backend.reassignment() is not None:
            if asyncio.get_running_loop().time() >= deadline:
                return {**(await self._state()), "status": "timeout"}
            await asyncio.sleep(self.poll_interval)
        state = await self._state()
        failed = state["progress"]["error"] > 0
        return {**state, "status": "failed" if failed else "completed"}

    def _plan(self, current: Mapping[str, Mapping[int, Sequence[int]]], brokers: Sequence[int],
              racks: dict[int, str], replicas: Mapping[str, int | None], realign: bool,
              fixed_start: int) -> dict[str, Assignment]:
        if not realign:
            return plan_topics(current, brokers, replicas, racks)
        return {name: realign_topic(assignment, brokers, replicas[name],
                                    self._draw(fixed_start, len(brokers)))
                for name, assignment in current.items()}

    async def watch_throttles(self, app: object = None) -> AsyncIterator[None]:
        """aiohttp cleanup context: while the API runs, take throttles off soon after a reassignment ends,
        even when nobody asks for its status."""
        task = asyncio.get_running_loop().create_task(self._throttle_watch(), name="topic-throttle-watch")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _throttle_watch(self) -> None:
        while True:
            await asyncio.sleep(self.throttle_check_interval)
            try:
                async with self._lock:
                    pending = await self.backend.reassignment()
                    if pending is None:
                        await self._clear_throttles()
                    else:  # also one that runs across a scheduler restart
                        self._throttle_topics |= {t for t, _ in pending}
            except Exception:  # ZooKeeper away for a moment: try again next round
                log.exception("taking replication throttles off failed")

    async def _set_throttles(self, moves: Sequence[PartitionMove], rate: int) -> None:
        entries = throttled_replicas(moves)
        topics = await self.backend.read_topics(entries)
        for name, throttled in entries.items():
            if name in topics:
                await self.backend.set_config(name, {**topics[name].config, **throttled})
        configs = await self.backend.broker_configs()
        for broker in sorted({b for m in moves for b in (*m.old, *m.new)}):
            rates = dict.fromkeys(THROTTLE_RATES, str(rate))
            await self.backend.set_broker_config(broker, {**configs.get(broker, {}), **rates})

    async def _clear_throttles(self) -> None:
        if not self._throttle_topics:
            return
        names, self._throttle_topics = self._throttle_topics, set()
        replica_keys = (LEADER_THROTTLED_REPLICAS, FOLLOWER_THROTTLED_REPLICAS)
        for topic in (await self.backend.read_topics(sorted(names))).values():
            if any(k in topic.config for k in replica_keys):
                await self.backend.set_config(
                    topic.name, {k: v for k, v in topic.config.items() if k not in replica_keys})
        for broker, config in sorted((await self.backend.broker_configs()).items()):
            if any(k in config for k in THROTTLE_RATES):
                await self.backend.set_broker_config(
                    broker, {k: v for k, v in config.items() if k not in THROTTLE_RATES})

    @staticmethod
    def _in_progress(pending: Mapping[PartitionKey, Sequence[int]]) -> ApiError:
        topics = sorted({t for t, _ in pending})
        return conflict(f"rebalance is in progress: {len(pending)} partitions of {','.join(topics)} pending",
                        "topic")

    async def _state(self) -> Json:
        """Status table and progress of the last rebalance (or the one running if another started it)."""
        pending = await self.backend.reassignment()
        if pending is None:
            await self._clear_throttles()
        else:
            self._throttle_topics |= {t for t, _ in pending}
        last = self._last
        if last is None:
            if pending is None:
                return {"status": "idle", "state": "", "progress": _progress(0, 0)}
            topics = await self.backend.read_topics({t for t, _ in pending})
            moves = [PartitionMove(t, p, tuple(topics[t].partitions.get(p, ()) if t in topics else ()),
                                   tuple(r)) for (t, p), r in sorted(pending.items())]
            last = _Rebalance(moves, False)
        topics = await self.backend.read_topics({m.topic for m in last.moves})
        statuses: dict[tuple[str, int], str] = {}
        for move in last.moves:
            key = (move.topic, move.partition)
            now = topics[move.topic].partitions.get(move.partition) if move.topic in topics else None
            statuses[key] = partition_status(move, pending is not None and key in pending, now)
        counts = {w: sum(1 for s in statuses.values() if s == w) for w in ("done", "running", "error")}
        return {
            "status": "running" if pending is not None else "idle",
            "state": state_table(last.moves, statuses),
            "moves": _moves_json(last.moves),
            "progress": {"done": counts["done"], "total": len(last.moves), "running": counts["running"],
                         "error": counts["error"]},
        }

    async def status(self) -> Json:
        return await self._state()


def _progress(done: int, total: int) -> Json:
    return {"done": done, "total": total, "running": 0, "error": 0}


def _moves_json(moves: Sequence[PartitionMove]) -> Json:
    return {str(b): counts for b, counts in moves_per_broker(moves).items()}
