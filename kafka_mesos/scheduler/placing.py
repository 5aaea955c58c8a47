"""Bridges Mesos offers and status updates to core's decisions (pure; protobuf in, core types out)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

from kafka_mesos.core.model import TASK_KILLED, TASK_RUNNING, TERMINAL_STATES, Broker
from kafka_mesos.mesos.pb import mesos_pb2
from kafka_mesos.scheduler.decisions import StatusInfo


@dataclass(frozen=True)
class OfferPlacement:
    broker_id: int
    offer_id: str
    agent_id: str
    hostname: str
    port: int
    role: str


@dataclass
class PlacementResult:
    placements: list[OfferPlacement] = field(default_factory=list)
    reasons: dict[int, str] = field(default_factory=dict)


@dataclass
class _Room:
    offer_id: str
    agent_id: str
    hostname: str
    role: str
    cpus: float
    mem: float
    ports: list[tuple[int, int]]


def _room(offer: mesos_pb2.Offer) -> _Room:
    cpus = mem = 0.0
    ports: list[tuple[int, int]] = []
    role = "*"
    for resource in offer.resources:
        if resource.HasField("reservation") or len(resource.reservations) > 0:
            continue  # dynamically reserved resources are not ours to use here
        if resource.role and resource.role != "*":
            role = resource.role
        if resource.name == "cpus":
            cpus += resource.scalar.value
        elif resource.name == "mem":
            mem += resource.scalar.value
        elif resource.name == "ports":
            ports.extend((r.begin, r.end) for r in resource.ranges.range)
    return _Room(offer.id.value, offer.agent_id.value, offer.hostname, role, cpus, mem, sorted(ports))


def _take_port(room: _Room, broker: Broker) -> int | None:
    wanted = broker.port
    preferred = broker.stickiness.port
    candidates: list[int] = []
    if preferred is not None:
        candidates.append(preferred)
    for begin, end in room.ports:
        if wanted is None:
            candidates.append(begin)
        elif wanted.start <= end and begin <= wanted.end:
            candidates.append(max(begin, wanted.start))
    for port in candidates:
        if wanted is not None and not wanted.start <= port <= wanted.end:
            continue
        for i, (begin, end) in enumerate(room.ports):
            if begin <= port <= end:
                pieces = [(begin, port - 1)] if begin < port else []
                pieces += [(port + 1, end)] if port < end else []
                room.ports[i:i + 1] = pieces
                return port
    return None


def place_brokers(
    wanting: list[Broker], brokers: Mapping[int, Broker], offers: list[mesos_pb2.Offer], now: float,
    *, executor_cpus: float, executor_mem: float,
) -> PlacementResult:
    """Several brokers per offer when it has room; brokers tried in id order, offers round-robin."""
    rooms = [_room(o) for o in offers]
    result = PlacementResult()
    start = 0
    for broker in wanting:
        why: list[str] = []
        placed = False
        for k in range(len(rooms)):
            room = rooms[(start + k) % len(rooms)]
            need_cpus, need_mem = broker.cpus + executor_cpus, broker.mem + executor_mem
            if room.cpus + 1e-9 < need_cpus:
                why.append(f"{room.hostname}: cpus {room.cpus:g} < {need_cpus:g}")
                continue
            if room.mem + 1e-9 < need_mem:
                why.append(f"{room.hostname}: mem {room.mem:g} < {need_mem:g}")
                continue
            if not broker.stickiness.allows(room.hostname, now):
                why.append(f"{room.hostname}: sticky to {broker.stickiness.hostname}")
                continue
            port = _take_port(room, broker)
            if port is None:
                why.append(f"{room.hostname}: no suitable port")
                continue
            room.cpus -= need_cpus
            room.mem -= need_mem
            result.placements.append(OfferPlacement(broker.id, room.offer_id, room.agent_id, room.hostname,
                                                    port, room.role))
            placed = True
            start = (start + k + 1) % len(rooms)
            break
        if not placed:
            result.reasons[broker.id] = "; ".join(why) if why else "no offers"
    return result


def apply_status(broker: Broker, info: StatusInfo, now: float) -> tuple[Broker, bool]:
    """The broker after this status update, and whether the task must be killed (a stale duplicate)."""
    task = broker.task
    terminal = info.state in TERMINAL_STATES
    if task is None or task.task_id != info.task_id:
        return broker, not terminal
    b = broker.copy()
    if terminal:
        b.task = None
        detail = " ".join(x for x in (info.state, info.reason or "", info.message or "") if x)
        if task.stopping or (info.state == TASK_KILLED and not broker.active):
            b.failover = broker.failover.reset()
            b.stickiness = dataclasses.replace(broker.stickiness, hostname=task.hostname, port=task.port,
                                               stop_time=now)
            return b.with_event(now, "stopped", detail), False
        failures = broker.failover.failures + 1
        b.failover = dataclasses.replace(broker.failover, failures=failures, failure_time=now, reason=detail)
        if broker.failover.failures == 0:
            b.stickiness = dataclasses.replace(broker.stickiness, hostname=task.hostname, port=task.port,
                                               stop_time=now)
        b = b.with_event(now, "failed", detail)
        if b.failover.exhausted():
            b.active = False
            b = b.with_event(now, "deactivated", "failure limit exceeded, deactivating broker")
        return b, False
    endpoint = task.endpoint
    if info.state == TASK_RUNNING and info.data:
        endpoint = info.data.decode("utf-8", "replace")
    running_since = task.running_since
    if info.state == TASK_RUNNING and running_since is None:
        running_since = now
    b.task = dataclasses.replace(task, state=info.state, reconciling=False, endpoint=endpoint,
                                 message=info.message or task.message, running_since=running_since)
    if info.state == TASK_RUNNING:
        b.failover = broker.failover.reset()
        b.stickiness = dataclasses.replace(broker.stickiness, hostname=task.hostname, port=task.port)
    if info.state != task.state:
        b = b.with_event(now, info.state.removeprefix("TASK_").lower(), info.message or "")
    return b, False
