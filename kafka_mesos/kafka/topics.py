"""Kafka's topics as Kafka (ZooKeeper mode) keeps them: JSON codecs and the backend the API uses.

`TopicBackend` is what the API needs; `ZkTopicBackend` implements it on Kafka's znodes (the paths and JSON
of `../shared/reference/kafka-znodes.md`, under the `--zk` chroot). A later backend on Kafka's Admin API
(Kafka 4 has no ZooKeeper) implements the same Protocol; core and the CLI do not change.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

from kazoo.exceptions import NodeExistsError, NoNodeError, UnimplementedError

from kafka_mesos.core.errors import ValidationError

TOPICS_PATH = "/brokers/topics"
BROKER_IDS_PATH = "/brokers/ids"
TOPIC_CONFIG_PATH = "/config/topics"
BROKER_CONFIG_PATH = "/config/brokers"
CONFIG_CHANGES_PATH = "/config/changes"
CONFIG_CHANGE_PREFIX = "/config/changes/config_change_"
REASSIGN_PATH = "/admin/reassign_partitions"
DELETE_TOPICS_PATH = "/admin/delete_topics"

PartitionKey = tuple[str, int]
"""(topic, partition)."""

_LEGAL_NAME = re.compile(r"[a-zA-Z0-9._-]+")
MAX_TOPIC_NAME = 249


def check_topic_name(name: str, field_name: str = "topic") -> None:
    """Kafka's rule: 1-249 of ``[a-zA-Z0-9._-]``, not ``.`` or ``..``."""
    if name in (".", "..") or len(name) > MAX_TOPIC_NAME or not _LEGAL_NAME.fullmatch(name):
        raise ValidationError(
            field_name,
            f"invalid topic name {name[:80]!r}: 1 to {MAX_TOPIC_NAME} of letters, digits, '.', '_', '-'",
        )


# ---- JSON, byte for byte as Kafka writes it (compact, Kafka's field order) -------------------------------


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def encode_topic_assignment(partitions: Mapping[int, Sequence[int]], version: int = 1,
                            extra: Mapping[str, Any] | None = None) -> bytes:
    """``/brokers/topics/<t>``: ``{"version":1,"partitions":{"0":[1,2]}}``; ``extra``: fields of newer
    versions to carry over (``topic_id``...)."""
    body: dict[str, Any] = {"version": version,
                            "partitions": {str(p): list(r) for p, r in sorted(partitions.items())}}
    body.update(extra or {})
    return _dumps(body)


def decode_topic_assignment(data: bytes) -> tuple[dict[int, list[int]], dict[str, Any]]:
    """Partition → replicas, and the other fields (``version``, ``topic_id``, ``adding_replicas``...)."""
    raw = json.loads(data.decode())
    partitions = {int(p): [int(b) for b in replicas] for p, replicas in (raw.get("partitions") or {}).items()}
    others = {k: v for k, v in raw.items() if k != "partitions"}
    return dict(sorted(partitions.items())), others


def encode_entity_config(config: Mapping[str, str]) -> bytes:
    """``/config/topics/<t>``: ``{"version":1,"config":{"k":"v"}}`` (all values strings)."""
    return _dumps({"version": 1, "config": {k: str(v) for k, v in config.items()}})


def decode_entity_config(data: bytes) -> dict[str, str]:
    if not data:
        return {}
    raw = json.loads(data.decode())
    return {str(k): str(v) for k, v in (raw.get("config") or {}).items()}


def encode_config_change(entity_path: str) -> bytes:
    """``/config/changes/config_change_<seq>``: ``{"version":2,"entity_path":"topics/<t>"}``."""
    return _dumps({"version": 2, "entity_path": entity_path})


def encode_reassignment(targets: Mapping[PartitionKey, Sequence[int]]) -> bytes:
    """``/admin/reassign_partitions``: ``{"version":1,"partitions":[{"topic":..,"partition":..,
    "replicas":[..]}]}``."""
    entries = [{"topic": t, "partition": p, "replicas": list(r)} for (t, p), r in targets.items()]
    return _dumps({"version": 1, "partitions": entries})


def decode_reassignment(data: bytes) -> dict[PartitionKey, list[int]]:
    raw = json.loads(data.decode()) if data else {}
    return {(str(e["topic"]), int(e["partition"])): [int(b) for b in e["replicas"]]
            for e in raw.get("partitions") or []}


@dataclass(frozen=True)
class PartitionState:
    """``/brokers/topics/<t>/partitions/<p>/state``, written by the controller."""

    leader: int
    isr: tuple[int, ...]
    leader_epoch: int = 0
    controller_epoch: int = 0

    def encode(self) -> bytes:
        return _dumps({"version": 1, "leader": self.leader, "leader_epoch": self.leader_epoch,
                       "isr": list(self.isr), "controller_epoch": self.controller_epoch})


def decode_partition_state(data: bytes) -> PartitionState:
    raw = json.loads(data.decode())
    return PartitionState(int(raw["leader"]), tuple(int(b) for b in raw.get("isr") or ()),
                          int(raw.get("leader_epoch", 0)), int(raw.get("controller_epoch", 0)))


# ---- what the API sees -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Topic:
    name: str
    partitions: dict[int, list[int]]
    config: dict[str, str] = field(default_factory=dict)
    states: dict[int, PartitionState] = field(default_factory=dict)

    @property
    def replication_factor(self) -> int:
        return max((len(r) for r in self.partitions.values()), default=0)

    def under_replicated(self) -> list[int]:
        """Partitions whose ISR is smaller than the replica list (no state yet counts as under-replicated)."""
        out = []
        for p, replicas in self.partitions.items():
            state = self.states.get(p)
            if state is None or len(set(state.isr) & set(replicas)) < len(replicas):
                out.append(p)
        return out


class TopicExists(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(f"Topic {name} already exists")
        self.name = name


class TopicMarkedForDeletion(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(f"Topic {name} is already marked for deletion")
        self.name = name


class ReassignmentRunning(Exception):
    """A reassignment is in progress (the znode exists); ``pending`` is what it still moves."""

    def __init__(self, pending: Mapping[PartitionKey, Sequence[int]]) -> None:
        super().__init__("rebalance is in progress")
        self.pending = dict(pending)


class TopicBackend(Protocol):
    """Kafka's topic metadata. Implemented on ZooKeeper (`ZkTopicBackend`); an Admin API one can follow."""

    async def topic_names(self) -> list[str]: ...

    async def read_topics(self, names: Iterable[str]) -> dict[str, Topic]:
        """The named topics that exist (missing names are left out)."""
        ...

    async def live_brokers(self) -> dict[int, str | None]:
        """Registered broker id → its rack (None when the broker has none)."""
        ...

    async def create_topic(self, name: str, assignment: Mapping[int, Sequence[int]],
                           config: Mapping[str, str]) -> None:
        """Raises TopicExists."""
        ...

    async def set_config(self, name: str, config: Mapping[str, str]) -> None:
        """Replace the topic's whole override set and notify the brokers."""
        ...

    async def delete_topic(self, name: str) -> None:
        """Ask Kafka to delete the topic (its controller does it). Raises TopicMarkedForDeletion."""
        ...

    async def broker_configs(self) -> dict[int, dict[str, str]]:
        """Dynamic per-broker config overrides (``/config/brokers/<id>``), by broker id."""
        ...

    async def set_broker_config(self, broker_id: int, config: Mapping[str, str]) -> None:
        """Replace a broker's whole override set and notify the brokers."""
        ...

    async def reassignment(self) -> dict[PartitionKey, list[int]] | None:
        """Partitions still being reassigned, None when no reassignment runs."""
        ...

    async def start_reassignment(self, targets: Mapping[PartitionKey, Sequence[int]]) -> None:
        """Raises ReassignmentRunning when one is in progress already."""
        ...


class ZkAccess(Protocol):
    """The part of `kafka_mesos.state.zkbridge.ZkBridge` used here (runtime passes the bridge in)."""

    @property
    def client(self) -> Any: ...

    async def run(self, start: Callable[[], Any]) -> Any: ...

    async def get_many(self, paths: list[str]) -> list[Any]: ...

    async def run_many(self, starts: list[Callable[[], Any]]) -> list[Any]: ...


class ZkTopicBackend:
    """`TopicBackend` on Kafka's znodes below ``chroot`` (``""`` or ``/kafka``)."""

    def __init__(self, zk: ZkAccess, chroot: str = "") -> None:
        self.zk = zk
        self.chroot = chroot.rstrip("/")
        self._single_reads = False

    def _path(self, path: str) -> str:
        return self.chroot + path

    async def _get_many(self, paths: list[str]) -> list[Any]:
        """Bulk reads with multiRead (ZooKeeper >= 3.6); older servers get pipelined single reads."""
        if not self._single_reads:
            try:
                return await self.zk.get_many(paths)
            except UnimplementedError:
                self._single_reads = True
        client = self.zk.client
        return await self.zk.run_many([partial(client.get_async, path) for path in paths])

    async def _children(self, path: str) -> list[str]:
        try:
            children: list[str] = await self.zk.run(
                lambda: self.zk.client.get_children_async(self._path(path)))
        except NoNodeError:
            return []
        return sorted(children)

    async def topic_names(self) -> list[str]:
        return await self._children(TOPICS_PATH)

    async def read_topics(self, names: Iterable[str]) -> dict[str, Topic]:
        wanted = list(dict.fromkeys(names))
        if not wanted:
            return {}
        paths = [self._path(f"{TOPICS_PATH}/{n}") for n in wanted]
        paths += [self._path(f"{TOPIC_CONFIG_PATH}/{n}") for n in wanted]
        results = await self._get_many(paths)
        assignments: dict[str, dict[int, list[int]]] = {}
        configs: dict[str, dict[str, str]] = {}
        for name, topic_result, config_result in zip(wanted, results, results[len(wanted):], strict=False):
            if isinstance(topic_result, Exception):
                continue
            assignments[name] = decode_topic_assignment(topic_result[0])[0]
            missing_config = isinstance(config_result, Exception)
            configs[name] = {} if missing_config else decode_entity_config(config_result[0])
        state_keys = [(n, p) for n, parts in assignments.items() for p in parts]
        state_paths = [self._path(f"{TOPICS_PATH}/{n}/partitions/{p}/state") for n, p in state_keys]
        states: dict[str, dict[int, PartitionState]] = {n: {} for n in assignments}
        for (name, p), result in zip(state_keys, await self._get_many(state_paths), strict=True):
            if not isinstance(result, Exception):
                states[name][p] = decode_partition_state(result[0])
        return {n: Topic(n, assignments[n], configs[n], states[n]) for n in wanted if n in assignments}

    async def live_brokers(self) -> dict[int, str | None]:
        ids = [int(i) for i in await self._children(BROKER_IDS_PATH) if i.isdigit()]
        results = await self._get_many([self._path(f"{BROKER_IDS_PATH}/{i}") for i in ids])
        out: dict[int, str | None] = {}
        for broker_id, result in zip(ids, results, strict=True):
            if isinstance(result, Exception):
                continue  # went away between the listing and the read
            try:
                rack = json.loads(result[0].decode()).get("rack")
            except ValueError:
                rack = None
            out[broker_id] = str(rack) if rack is not None else None
        return dict(sorted(out.items()))

    async def _ensure(self, path: str) -> None:
        await self.zk.run(lambda: self.zk.client.ensure_path_async(self._path(path)))

    async def create_topic(self, name: str, assignment: Mapping[int, Sequence[int]],
                           config: Mapping[str, str]) -> None:
        client = self.zk.client
        topic_path = self._path(f"{TOPICS_PATH}/{name}")
        if await self.zk.run(lambda: client.exists_async(topic_path)) is not None:
            raise TopicExists(name)
        await self._ensure(TOPIC_CONFIG_PATH)
        await self._ensure(TOPICS_PATH)
        await self._write_config(name, config)  # Kafka writes the config before the topic node
        try:
            await self.zk.run(partial(client.create_async, topic_path, encode_topic_assignment(assignment)))
        except NodeExistsError:
            raise TopicExists(name) from None

    async def _write_config(self, name: str, config: Mapping[str, str]) -> None:
        client = self.zk.client
        path = self._path(f"{TOPIC_CONFIG_PATH}/{name}")
        data = encode_entity_config(config)
        try:
            await self.zk.run(partial(client.set_async, path, data))
        except NoNodeError:
            await self.zk.run(partial(client.create_async, path, data))

    async def set_config(self, name: str, config: Mapping[str, str]) -> None:
        await self._write_config(name, config)
        await self._notify(f"topics/{name}")

    async def _notify(self, entity_path: str) -> None:
        await self._ensure(CONFIG_CHANGES_PATH)
        await self.zk.run(partial(self.zk.client.create_async, self._path(CONFIG_CHANGE_PREFIX),
                                  encode_config_change(entity_path), sequence=True))

    async def broker_configs(self) -> dict[int, dict[str, str]]:
        ids = [int(i) for i in await self._children(BROKER_CONFIG_PATH) if i.isdigit()]
        results = await self._get_many([self._path(f"{BROKER_CONFIG_PATH}/{i}") for i in ids])
        return {i: decode_entity_config(r[0]) for i, r in zip(ids, results, strict=True)
                if not isinstance(r, Exception)}

    async def set_broker_config(self, broker_id: int, config: Mapping[str, str]) -> None:
        client = self.zk.client
        path = self._path(f"{BROKER_CONFIG_PATH}/{broker_id}")
        data = encode_entity_config(config)
        await self._ensure(BROKER_CONFIG_PATH)
        try:
            await self.zk.run(partial(client.set_async, path, data))
        except NoNodeError:
            await self.zk.run(partial(client.create_async, path, data))
        await self._notify(f"brokers/{broker_id}")

    async def delete_topic(self, name: str) -> None:
        await self._ensure(DELETE_TOPICS_PATH)
        try:
            marker = self._path(f"{DELETE_TOPICS_PATH}/{name}")
            await self.zk.run(partial(self.zk.client.create_async, marker))
        except NodeExistsError:
            raise TopicMarkedForDeletion(name) from None

    async def reassignment(self) -> dict[PartitionKey, list[int]] | None:
        try:
            data, _ = await self.zk.run(lambda: self.zk.client.get_async(self._path(REASSIGN_PATH)))
        except NoNodeError:
            return None
        return decode_reassignment(data)

    async def start_reassignment(self, targets: Mapping[PartitionKey, Sequence[int]]) -> None:
        await self._ensure("/admin")
        try:
            await self.zk.run(partial(self.zk.client.create_async, self._path(REASSIGN_PATH),
                                      encode_reassignment(targets)))
        except NodeExistsError:
            raise ReassignmentRunning(await self.reassignment() or {}) from None
