"""Rebalance and realign planning: new replica lists for topics over a set of brokers.

Rebalance (``plan_topic``): every broker ends with ⌊R/n⌋ or ⌈R/n⌉ of a topic's R replicas and leads at
most ⌈P/n⌉ of its P partitions; replicas already in a good place stay (a balanced topic is left as it is);
no partition gets a broker twice or more than ⌈RF/racks⌉ replicas in one rack (when brokers have racks);
the replication factor can go up or down. Realign (``realign_topic``) is mesos/kafka's: only partitions
with replicas outside the brokers change. Status and progress of a running reassignment are here too.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kafka_mesos.core.assignment import Assignment
from kafka_mesos.core.errors import ValidationError


@dataclass(frozen=True)
class PartitionMove:
    topic: str
    partition: int
    old: tuple[int, ...]
    new: tuple[int, ...]

    @property
    def moved_replicas(self) -> int:
        """Replicas that must be copied to a new broker (a reordering copies nothing)."""
        return len(set(self.new) - set(self.old))


def check_brokers_and_replicas(broker_count: int, replicas: int | None) -> None:
    if broker_count == 0:
        raise ValidationError("broker", "no brokers selected: the broker expression matches no broker")
    if replicas is not None:
        if replicas <= 0:
            raise ValidationError("replicas", f"invalid replicas {replicas}: must be at least 1")
        if replicas > broker_count:
            raise ValidationError(
                "replicas", f"replication factor {replicas} larger than the {broker_count} selected brokers"
            )


def _quotas(
    total: int, brokers: Sequence[int], held: Mapping[int, int], load: Mapping[int, int], cap: int | None,
    rack_of: Mapping[int, str],
) -> dict[int, int]:
    """⌊total/n⌋ each; the remainder goes first to brokers that stay within their fair share of all topics
    planned so far (and within ``cap``), among them to those holding most already (fewest moves), then to
    the least loaded."""
    n = len(brokers)
    base, extra = divmod(total, n)
    fair = math.ceil((sum(load.values()) + total) / n)
    if cap is not None:
        fair = min(fair, cap)

    def key(i: int) -> tuple[bool, int, int, int]:
        b = brokers[i]
        ahead = bool(load) and load.get(b, 0) + base + 1 > fair
        return ahead, -held.get(b, 0), load.get(b, 0), i

    order = sorted(range(n), key=key)
    quotas = {b: base for b in brokers}
    # With racks, the remainder is spread evenly over the racks too (else a rack may lack room).
    per_rack = math.ceil(extra / len(set(rack_of.values()))) if rack_of else extra
    given: dict[str, int] = {}
    for i in order:
        if extra == 0:
            break
        rack = rack_of.get(brokers[i], "")
        if given.get(rack, 0) < per_rack:
            given[rack] = given.get(rack, 0) + 1
            quotas[brokers[i]] += 1
            extra -= 1
    for i in order:
        if extra == 0:
            break
        if quotas[brokers[i]] == base:
            quotas[brokers[i]] += 1
            extra -= 1
    return quotas


def plan_topic(
    current: Mapping[int, Sequence[int]],
    brokers: Sequence[int],
    replicas: int | None = None,
    racks: Mapping[int, str] | None = None,
    load: dict[int, int] | None = None,
    cap: int | None = None,
) -> Assignment:
    """The balanced assignment closest to ``current``. ``replicas``: new replication factor (None: keep
    the topic's). Many topics: ``load`` = replicas per broker of the topics planned before (updated), and
    ``cap`` = ⌈all replicas / brokers⌉ (see ``plan_topics``) keep the brokers' totals even too."""
    if not current:
        return {}
    target_rf = replicas if replicas is not None else max(len(r) for r in current.values())
    check_brokers_and_replicas(len(brokers), target_rf)
    selected = set(brokers)
    rack_of = dict(racks) if racks and all(b in racks for b in brokers) else {}
    rack_cap = math.ceil(target_rf / len(set(rack_of.values()))) if rack_of else target_rf
    load = load if load is not None else {}
    partitions = sorted(current)

    # Keep phase: current replicas on selected brokers, in order, up to the RF and the rack cap ...
    kept: dict[int, list[int]] = {}
    where: dict[int, list[int]] = {}  # broker → partitions keeping it
    for p in partitions:
        chosen: list[int] = []
        for b in current[p]:
            if (b in selected and b not in chosen and len(chosen) < target_rf
                    and (not rack_of or _rack_room(chosen, b, rack_of, rack_cap))):
                chosen.append(b)
                where.setdefault(b, []).append(p)
        kept[p] = chosen
    held = {b: len(ps) for b, ps in where.items()}
    quota = _quotas(len(partitions) * target_rf, brokers, held, load, cap, rack_of)
    # ... then brokers over their quota give up replicas where partitions are fullest, so that the holes
    # spread over many partitions (a hole is filled by a broker not in its partition yet).
    for b in sorted((b for b in held if held[b] > quota[b]), key=lambda b: (quota[b] - held[b], b)):
        holders = sorted(where[b], key=lambda p: (-len(kept[p]), kept[p][0] == b, p))
        for p in holders[: held[b] - quota[b]]:
            kept[p].remove(b)
            held[b] -= 1
    totals = dict(quota)
    for b, count in held.items():
        quota[b] -= count

    # Fill phase: each open slot to a broker with quota left (most left first); when every such broker is
    # in the partition already, an augmenting path re-routes earlier fills (kept replicas never move).
    order = {b: i for i, b in enumerate(brokers)}
    filler = _Filler(kept, quota, order, rack_of, rack_cap)
    base = len(partitions) * target_rf // len(brokers)
    for p in sorted(partitions, key=lambda q: (len(kept[q]), q)):
        while len(kept[p]) < target_rf:
            if (filler.fill(p, set(), True) or filler.move_extra(p, totals, base) or filler.swap(p, True)
                    or filler.fill(p, set(), False) or filler.swap(p, False)):
                continue
            raise ValidationError("replicas", f"cannot place {target_rf} replicas of partition {p} on these "
                                  "brokers")

    for p in partitions:
        for b in kept[p]:
            load[b] = load.get(b, 0) + 1
    return _order_leaders(current, kept, brokers)


def plan_topics(
    current: Mapping[str, Mapping[int, Sequence[int]]],
    brokers: Sequence[int],
    replicas: Mapping[str, int | None],
    racks: Mapping[int, str] | None = None,
) -> dict[str, Assignment]:
    """``plan_topic`` for each topic, sharing the load so that every broker's total stays near even."""
    check_brokers_and_replicas(len(brokers), None)
    total = 0
    for name, assignment in current.items():
        rf = replicas.get(name) or max((len(r) for r in assignment.values()), default=0)
        total += len(assignment) * rf
    cap = math.ceil(total / len(brokers))
    load: dict[int, int] = {}
    return {name: plan_topic(assignment, brokers, replicas.get(name), racks, load, cap)
            for name, assignment in current.items()}


def _rack_room(chosen: Sequence[int], broker: int, rack_of: Mapping[int, str], cap: int) -> bool:
    if not rack_of:
        return True
    rack = rack_of[broker]
    return sum(1 for b in chosen if rack_of[b] == rack) < cap


class _Filler:
    """Slots to brokers as a b-matching: brokers have quotas, partitions open slots; a broker may not
    appear twice in a partition (and, when ``racks`` applies, not break the rack cap)."""

    def __init__(self, kept: dict[int, list[int]], quota: dict[int, int], order: Mapping[int, int],
                 rack_of: Mapping[int, str], rack_cap: int) -> None:
        self.kept, self.quota, self.order = kept, quota, order
        self.rack_of, self.rack_cap = rack_of, rack_cap
        self.filled: dict[int, list[int]] = {}
        """broker → partitions it was given in this phase (the only ones an augmenting path may undo)."""
        self.buckets: dict[int, list[int]] = {}
        """quota left (> 0) → brokers with that much left, in broker order: the best direct pick is the
        first fitting broker of the highest bucket."""
        for b in sorted(quota, key=order.__getitem__):
            if quota[b] > 0:
                self.buckets.setdefault(quota[b], []).append(b)
        self.racks_apply = bool(rack_of)

    def _allowed(self, p: int, b: int, racks: bool) -> bool:
        members = self.kept[p]
        if b in members:
            return False
        return not (racks and self.racks_apply) or _rack_room(members, b, self.rack_of, self.rack_cap)

    def fill(self, p: int, seen: set[int], racks: bool) -> bool:
        members = self.kept[p]
        check_racks = racks and self.racks_apply
        for left in sorted(self.buckets, reverse=True):
            for b in self.buckets[left]:
                if b in seen or b in members or (check_racks and not self._allowed(p, b, racks)):
                    continue
                self._give(p, b)
                return True
        candidates = sorted((b for b in self.filled if b not in seen and self._allowed(p, b, racks)),
                            key=lambda b: self.order[b])
        for b in candidates:
            seen.add(b)
            for q in list(self.filled.get(b, ())):
                self.kept[q].remove(b)  # b leaves q if q can get someone else
                if self.fill(q, seen, racks):
                    self.filled[b].remove(q)
                    self._add_quota(b, 1)
                    self._give(p, b)
                    return True
                self.kept[q].append(b)
        return False

    def move_extra(self, p: int, totals: dict[int, int], base: int) -> bool:
        """Racks only: no broker with quota left fits p's racks; hand one unused +1 of the remainder to a
        broker that fits (both stay at ⌊R/n⌋ or ⌈R/n⌉) and give it the slot."""
        if not self.racks_apply:
            return False
        by_order = self.order.__getitem__
        donor = next((b for b in sorted(self._open(), key=by_order) if totals[b] == base + 1), None)
        taker = next((b for b in sorted(totals, key=by_order)
                      if totals[b] == base and self.quota[b] == 0 and self._allowed(p, b, True)), None)
        if donor is None or taker is None:
            return False
        totals[donor] -= 1
        self._add_quota(donor, -1)
        totals[taker] += 1
        self._add_quota(taker, 1)
        self._give(p, taker)
        return True

    def swap(self, p: int, racks: bool) -> bool:
        """Every broker with quota left is unfit for p: one of them (b) takes the place of a replica x of
        another partition q, and x comes to p."""
        check = racks and self.racks_apply
        for b in sorted(self._open(), key=self.order.__getitem__):
            for q, members in self.kept.items():
                if q == p or b in members:
                    continue
                for i, x in enumerate(members):
                    if x in self.kept[p]:
                        continue
                    others = members[:i] + members[i + 1:]
                    if check and not (_rack_room(self.kept[p], x, self.rack_of, self.rack_cap)
                                      and _rack_room(others, b, self.rack_of, self.rack_cap)):
                        continue
                    members[i] = b
                    self._add_quota(b, -1)
                    self.kept[p].append(x)
                    return True
        return False

    def _open(self) -> list[int]:
        return [b for brokers in self.buckets.values() for b in brokers]

    def _add_quota(self, b: int, delta: int) -> None:
        old = self.quota[b]
        new = old + delta
        self.quota[b] = new
        if old > 0:
            bucket = self.buckets[old]
            bucket.remove(b)
            if not bucket:
                del self.buckets[old]
        if new > 0:
            bucket = self.buckets.setdefault(new, [])
            rank = self.order[b]
            at = next((i for i, other in enumerate(bucket) if self.order[other] > rank), len(bucket))
            bucket.insert(at, b)

    def _give(self, p: int, b: int) -> None:
        self.kept[p].append(b)
        self._add_quota(b, -1)
        self.filled.setdefault(b, []).append(p)


def _order_leaders(
    current: Mapping[int, Sequence[int]], chosen: Mapping[int, list[int]], brokers: Sequence[int]
) -> Assignment:
    """First replica = preferred leader: at most ⌈P/n⌉ partitions per broker, current leaders kept where
    possible (a matching with capacities, augmented one partition at a time)."""
    partitions = sorted(chosen)
    cap = math.ceil(len(partitions) / len(brokers))
    leader: dict[int, int] = {}
    led: dict[int, list[int]] = {}
    for p in partitions:
        old = current[p][0] if current[p] else None
        if old in chosen[p] and len(led.get(old, [])) < cap:
            leader[p] = old
            led.setdefault(old, []).append(p)
    for p in partitions:
        if p in leader:
            continue
        if not _augment(p, chosen, leader, led, cap, set()):
            fallback = min(chosen[p], key=lambda b: len(led.get(b, [])))
            leader[p] = fallback
            led.setdefault(fallback, []).append(p)
    result: Assignment = {}
    for p in partitions:
        head = leader[p]
        rest = [b for b in chosen[p] if b != head]
        old_rest = [b for b in current[p] if b in rest]
        result[p] = [head, *old_rest, *(b for b in rest if b not in old_rest)]
    return result


def _augment(
    p: int, chosen: Mapping[int, list[int]], leader: dict[int, int], led: dict[int, list[int]], cap: int,
    seen: set[int],
) -> bool:
    for b in chosen[p]:
        if b in seen:
            continue
        seen.add(b)
        holders = led.setdefault(b, [])
        if len(holders) < cap:
            holders.append(p)
            leader[p] = b
            return True
        for q in list(holders):
            if _augment(q, chosen, leader, led, cap, seen):
                holders.remove(q)
                holders.append(p)
                leader[p] = b
                return True
    return False


def realign_topic(
    current: Mapping[int, Sequence[int]], brokers: Sequence[int], replicas: int | None = None,
    start_index: int = 0,
) -> Assignment:
    """mesos/kafka's realign: keep each partition's replicas that are in ``brokers`` (in order, up to the
    RF), fill the missing ones from ``brokers`` going round from ``start_index``; other partitions stay."""
    if not current:
        return {}
    target_rf = replicas if replicas is not None else max(len(r) for r in current.values())
    check_brokers_and_replicas(len(brokers), target_rf)
    selected = set(brokers)
    n = len(brokers)
    index = start_index % n
    result: Assignment = {}
    for p in sorted(current):
        kept = [b for b in dict.fromkeys(current[p]) if b in selected][:target_rf]
        if kept == list(current[p]):
            result[p] = kept
            continue
        while len(kept) < target_rf:
            candidate = brokers[index]
            index = (index + 1) % n
            if candidate not in kept:
                kept.append(candidate)
        result[p] = kept
    return result


def moves_between(
    current: Mapping[str, Mapping[int, Sequence[int]]], planned: Mapping[str, Mapping[int, Sequence[int]]]
) -> list[PartitionMove]:
    """Partitions whose replica list changes (order included: a new preferred leader is a change)."""
    out: list[PartitionMove] = []
    for topic in planned:
        for p, new in sorted(planned[topic].items()):
            old = tuple(current[topic].get(p, ()))
            if tuple(new) != old:
                out.append(PartitionMove(topic, p, old, tuple(new)))
    return out


def moves_per_broker(moves: Sequence[PartitionMove]) -> dict[int, dict[str, int]]:
    """broker → {"in": replicas it receives, "out": replicas it gives up} (for ``--dry-run``)."""
    summary: dict[int, dict[str, int]] = {}
    for move in moves:
        for b in set(move.new) - set(move.old):
            summary.setdefault(b, {"in": 0, "out": 0})["in"] += 1
        for b in set(move.old) - set(move.new):
            summary.setdefault(b, {"in": 0, "out": 0})["out"] += 1
    return dict(sorted(summary.items()))


LEADER_THROTTLED_REPLICAS = "leader.replication.throttled.replicas"
FOLLOWER_THROTTLED_REPLICAS = "follower.replication.throttled.replicas"
THROTTLE_RATES = ("leader.replication.throttled.rate", "follower.replication.throttled.rate")


def throttled_replicas(moves: Sequence[PartitionMove]) -> dict[str, dict[str, str]]:
    """Topic config entries that throttle a reassignment as Kafka's own tool does: the current replicas of
    moving partitions lead (``p:b``), the new ones follow."""
    leaders: dict[str, list[str]] = {}
    followers: dict[str, list[str]] = {}
    for move in moves:
        added = [b for b in move.new if b not in move.old]
        if not added:
            continue
        leaders.setdefault(move.topic, []).extend(f"{move.partition}:{b}" for b in move.old)
        followers.setdefault(move.topic, []).extend(f"{move.partition}:{b}" for b in added)
    return {topic: {LEADER_THROTTLED_REPLICAS: ",".join(leaders[topic]),
                    FOLLOWER_THROTTLED_REPLICAS: ",".join(followers[topic])} for topic in leaders}


def is_balanced(assignment: Mapping[int, Sequence[int]], brokers: Sequence[int]) -> bool:
    """Every replica on ``brokers``, each broker holding ⌊R/n⌋ or ⌈R/n⌉ replicas and leading at most
    ⌈P/n⌉ partitions: what ``plan_topic`` produces and leaves unchanged."""
    if not assignment:
        return True
    n = len(brokers)
    counts = dict.fromkeys(brokers, 0)
    leaders = dict.fromkeys(brokers, 0)
    total = 0
    for replicas in assignment.values():
        if len(set(replicas)) != len(replicas) or not replicas:
            return False
        for b in replicas:
            if b not in counts:
                return False
            counts[b] += 1
            total += 1
        leaders[replicas[0]] += 1
    low, high = total // n, math.ceil(total / n)
    lead_cap = math.ceil(len(assignment) / n)
    return all(low <= c <= high for c in counts.values()) and all(c <= lead_cap for c in leaders.values())


# ---- status of a running reassignment -----------------------------------------------------------------


def partition_status(move: PartitionMove, pending: bool, replicas_now: Sequence[int] | None) -> str:
    """mesos/kafka's words: listed in the znode → running; current set equals the target → done; else
    error."""
    if pending:
        return "running"
    if replicas_now is not None and set(replicas_now) == set(move.new):
        return "done"
    return "error"


def state_table(moves: Sequence[PartitionMove], statuses: Mapping[tuple[str, int], str]) -> str:
    """Per topic a line with its name, then ``  <p>: <old> -> <new> - <status>`` (mesos/kafka's form)."""
    lines: list[str] = []
    topic: str | None = None
    for move in moves:
        if move.topic != topic:
            topic = move.topic
            lines.append(topic)
        status = statuses.get((move.topic, move.partition), "")
        old, new = ",".join(map(str, move.old)), ",".join(map(str, move.new))
        lines.append(f"  {move.partition}: {old} -> {new}" + (f" - {status}" if status else ""))
    return "\n".join(lines)


def parse_g1_topics(text: str, field: str = "topics") -> list[tuple[str, int | None]]:
    """mesos/kafka's first topic expression: ``t0``, ``t0,t1:2``, ``*:2``, ``t0:1,*:2``; a ``:N`` suffix
    sets the replication factor of the names before it back to the previous ``:N``."""
    out: list[tuple[str, int | None]] = []
    group: list[str] = []
    for part in text.split(","):
        name, colon, rf_text = part.strip().partition(":")
        name = name.strip()
        if not name:
            if colon:
                raise ValidationError(field, f"invalid {field} {text!r}: a replication factor without name")
            continue
        group.append(name)
        if colon:
            try:
                rf = int(rf_text.strip())
            except ValueError:
                message = f"invalid {field} {text!r}: {rf_text!r} is not a number"
                raise ValidationError(field, message) from None
            if rf <= 0:
                raise ValidationError(field, f"invalid {field} {text!r}: replication factor must be >= 1")
            out.extend((g, rf) for g in group)
            group = []
    out.extend((g, None) for g in group)
    if not out:
        raise ValidationError(field, f"invalid {field} {text!r}: no topic names")
    return out
