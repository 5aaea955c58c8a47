"""Kafka's replica placement for new topics (Kafka's ``AdminUtils``, ZooKeeper mode), rack-aware or not.

The caller chooses the random start index and shift (core reads no randomness): Kafka draws each as
``random(len(brokers))`` when the request says -1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from kafka_mesos.core.errors import ValidationError

Assignment = dict[int, list[int]]
"""partition id → ordered replica list (first = preferred leader)."""


def check_request(broker_count: int, partitions: int, replicas: int) -> None:
    """Kafka's errors for an impossible placement, naming the request field."""
    if broker_count <= 0:
        raise ValidationError("broker", "no brokers selected: the broker expression matches no broker")
    if partitions <= 0:
        raise ValidationError("partitions", f"invalid partitions {partitions}: must be at least 1")
    if replicas <= 0:
        raise ValidationError("replicas", f"invalid replicas {replicas}: must be at least 1")
    if replicas > broker_count:
        raise ValidationError(
            "replicas",
            f"replication factor {replicas} larger than the {broker_count} available brokers",
        )


def assign_replicas(
    brokers: Sequence[int],
    partitions: int,
    replicas: int,
    *,
    start_index: int,
    shift: int,
    start_partition_id: int = 0,
    racks: Mapping[int, str] | None = None,
) -> Assignment:
    """Kafka's placement. ``racks``: broker → rack; used (rack-aware placement) only when every broker has
    one, as Kafka does with ``rack.aware.mode=safe``. ``start_index``/``shift`` ≥ 0 (caller draws them)."""
    check_request(len(brokers), partitions, replicas)
    if len(set(brokers)) != len(brokers):
        raise ValidationError("broker", "duplicate broker ids")
    if racks is not None and brokers and all(b in racks for b in brokers):
        return _rack_aware(brokers, racks, partitions, replicas, start_index, shift, start_partition_id)
    return _rack_unaware(brokers, partitions, replicas, start_index, shift, start_partition_id)


def _rack_unaware(
    brokers: Sequence[int], partitions: int, replicas: int, start_index: int, shift: int, first_pid: int
) -> Assignment:
    n = len(brokers)
    result: Assignment = {}
    pid = max(0, first_pid)
    for _ in range(partitions):
        if pid > 0 and pid % n == 0:
            shift += 1
        first = (pid + start_index) % n
        chosen = [brokers[first]]
        for j in range(replicas - 1):
            chosen.append(brokers[_replica_index(first, shift, j, n)])
        result[pid] = chosen
        pid += 1
    return result


def _replica_index(first: int, second_shift: int, index: int, n: int) -> int:
    return (first + 1 + (second_shift + index) % (n - 1)) % n


def rack_alternated(racks: Mapping[int, str], brokers: Sequence[int]) -> list[int]:
    """Brokers ordered by taking, in turn, the next broker (by id) of each rack (racks sorted)."""
    by_rack: dict[str, list[int]] = {}
    for broker in sorted(brokers):
        by_rack.setdefault(racks[broker], []).append(broker)
    ordered = [by_rack[rack] for rack in sorted(by_rack)]
    out: list[int] = []
    depth = 0
    while len(out) < len(brokers):
        out.extend(group[depth] for group in ordered if depth < len(group))
        depth += 1
    return out


def _rack_aware(
    brokers: Sequence[int], racks: Mapping[int, str], partitions: int, replicas: int, start_index: int,
    shift: int, first_pid: int,
) -> Assignment:
    arranged = rack_alternated(racks, brokers)
    n = len(arranged)
    rack_count = len({racks[b] for b in arranged})
    result: Assignment = {}
    pid = max(0, first_pid)
    for _ in range(partitions):
        if pid > 0 and pid % n == 0:
            shift += 1
        first = (pid + start_index) % n
        leader = arranged[first]
        chosen = [leader]
        racks_used = {racks[leader]}
        k = 0
        for _ in range(replicas - 1):
            while True:
                broker = arranged[_replica_index(first, shift * rack_count, k, n)]
                k += 1
                rack_ok = racks[broker] not in racks_used or len(racks_used) == rack_count
                broker_ok = broker not in chosen or len(chosen) == n
                if rack_ok and broker_ok:
                    chosen.append(broker)
                    racks_used.add(racks[broker])
                    break
        result[pid] = chosen
        pid += 1
    return result


def check_assignment(assignment: Mapping[int, Sequence[int]], field: str = "partitions") -> None:
    """Kafka's admin validation: partitions 0..n-1, same replica count everywhere, no duplicate broker."""
    if not assignment:
        raise ValidationError(field, "no partitions")
    if sorted(assignment) != list(range(len(assignment))):
        raise ValidationError(field, "partition ids must be exactly 0..n-1")
    sizes = {len(replicas) for replicas in assignment.values()}
    if len(sizes) != 1:
        raise ValidationError(field, "all partitions must have the same number of replicas")
    for partition, replicas in assignment.items():
        if len(set(replicas)) != len(replicas):
            raise ValidationError(field, f"partition {partition} lists a broker twice: {list(replicas)}")
