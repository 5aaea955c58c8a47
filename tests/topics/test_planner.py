"""The rebalance planner: balance, minimal moves, replication factor, rack spread, realign (hypothesis)."""

from __future__ import annotations

import math
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kafka_mesos.core.assignment import Assignment, assign_replicas
from kafka_mesos.core.errors import ValidationError
from kafka_mesos.core.rebalance import (
    PartitionMove,
    is_balanced,
    moves_between,
    moves_per_broker,
    parse_g1_topics,
    partition_status,
    plan_topic,
    plan_topics,
    realign_topic,
    state_table,
)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Assignment, list[int], int]:
    """A current assignment over some brokers (not necessarily the selected ones), selected brokers, RF."""
    universe = list(range(draw(st.integers(1, 12))))
    partitions = draw(st.integers(1, 30))
    old_rf = draw(st.integers(1, len(universe)))
    current = {p: draw(st.permutations(universe))[:old_rf] for p in range(partitions)}
    selected = sorted(draw(st.sets(st.integers(0, 14), min_size=1, max_size=12)))
    rf = draw(st.integers(1, len(selected)))
    return current, selected, rf


def counts(assignment: Assignment) -> Counter[int]:
    return Counter(b for replicas in assignment.values() for b in replicas)


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_plan_is_balanced_honours_rf_and_has_no_duplicates(case: tuple[Assignment, list[int], int]) -> None:
    current, brokers, rf = case
    plan = plan_topic(current, brokers, rf)
    assert sorted(plan) == sorted(current)
    for replicas in plan.values():
        assert len(replicas) == rf
        assert len(set(replicas)) == rf
        assert set(replicas) <= set(brokers)
    total = len(plan) * rf
    per_broker = counts(plan)
    assert max(per_broker.values()) <= math.ceil(total / len(brokers))
    assert all(per_broker.get(b, 0) >= total // len(brokers) for b in brokers)
    leaders = Counter(replicas[0] for replicas in plan.values())
    assert max(leaders.values()) <= math.ceil(len(plan) / len(brokers))
    assert is_balanced(plan, brokers)


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_a_balanced_assignment_is_left_unchanged(case: tuple[Assignment, list[int], int]) -> None:
    current, brokers, rf = case
    plan = plan_topic(current, brokers, rf)
    assert plan_topic(plan, brokers, rf) == plan
    assert plan_topic(plan, brokers) == plan  # RF kept when not given


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_moves_are_minimal_for_the_counts_reached(case: tuple[Assignment, list[int], int]) -> None:
    """Same RF, all replicas on selected brokers: a broker only receives replicas if it ends with more
    than it had, so the replicas moved are exactly what the balance requires."""
    current, brokers, rf = case
    current = plan_topic(current, list(range(rf, rf + len(brokers))), rf)  # some balanced starting point
    selected = sorted(set(brokers) | {b for r in current.values() for b in r})
    plan = plan_topic(current, selected, rf)
    moved = sum(m.moved_replicas for m in moves_between({"t": current}, {"t": plan}))
    before, after = counts(current), counts(plan)
    assert moved == sum(max(0, after[b] - before[b]) for b in selected)


def test_adding_brokers_moves_only_what_the_new_ones_take() -> None:
    current = assign_replicas([0, 1, 2], 12, 2, start_index=0, shift=0)
    plan = plan_topic(current, list(range(6)))
    assert max(counts(plan).values()) <= math.ceil(24 / 6)
    assert set(counts(plan)) == set(range(6))
    moved = sum(m.moved_replicas for m in moves_between({"t": current}, {"t": plan}))
    assert moved == 12  # the three new brokers take 4 replicas each; nothing moves between old ones


def test_raise_and_lower_the_replication_factor() -> None:
    current = assign_replicas(list(range(6)), 12, 2, start_index=0, shift=0)
    raised = plan_topic(current, list(range(6)), 3)
    assert all(len(r) == 3 for r in raised.values())
    assert all(set(current[p]) <= set(raised[p]) for p in current)  # raising only adds
    lowered = plan_topic(raised, list(range(6)), 1)
    assert all(len(r) == 1 and r[0] in raised[p] for p, r in lowered.items())  # lowering only drops
    assert is_balanced(lowered, list(range(6)))


def test_rack_spread_when_brokers_have_racks() -> None:
    racks = {0: "a", 1: "a", 2: "b", 3: "b", 4: "c", 5: "c"}
    current = {p: [0, 1] for p in range(6)}  # both replicas in rack a
    plan = plan_topic(current, list(racks), 2, racks)
    for replicas in plan.values():
        assert len({racks[b] for b in replicas}) == 2
    assert is_balanced(plan, list(racks))


def test_bad_inputs_name_the_field() -> None:
    with pytest.raises(ValidationError) as error:
        plan_topic({0: [1]}, [], None)
    assert error.value.field == "broker"
    with pytest.raises(ValidationError) as error:
        plan_topic({0: [1]}, [1, 2], 3)
    assert error.value.field == "replicas"


def test_realign_touches_only_partitions_outside_the_brokers() -> None:
    current = {0: [0, 1], 1: [1, 2], 2: [2, 3], 3: [3, 0]}
    realigned = realign_topic(current, [0, 1, 2], start_index=0)
    assert realigned[0] == [0, 1] and realigned[1] == [1, 2]
    assert realigned[2][0] == 2 and 3 not in realigned[2] and len(realigned[2]) == 2
    assert realigned[3][0] == 0 and 3 not in realigned[3]
    assert [m.partition for m in moves_between({"t": current}, {"t": realigned})] == [2, 3]


def test_status_words_and_state_table() -> None:
    move = PartitionMove("t1", 0, (0, 1), (2, 1))
    assert partition_status(move, True, [0, 1]) == "running"
    assert partition_status(move, False, [1, 2]) == "done"
    assert partition_status(move, False, [0, 1]) == "error"
    table = state_table([move, PartitionMove("t1", 3, (1,), (0,))], {("t1", 0): "done", ("t1", 3): "running"})
    assert table == "t1\n  0: 0,1 -> 2,1 - done\n  3: 1 -> 0 - running"
    assert moves_per_broker([move]) == {0: {"in": 0, "out": 1}, 2: {"in": 1, "out": 0}}


def test_g1_topic_expression_with_replication_factors() -> None:
    assert parse_g1_topics("t0") == [("t0", None)]
    assert parse_g1_topics("t0,t1:2") == [("t0", 2), ("t1", 2)]
    assert parse_g1_topics("t0:1,*:2") == [("t0", 1), ("*", 2)]
    for bad in ("t0:x", ":2", "t0:0", ""):
        with pytest.raises(ValidationError):
            parse_g1_topics(bad)


@st.composite
def many_topics(draw: st.DrawFn) -> tuple[dict[str, Assignment], list[int], int]:
    universe = list(range(draw(st.integers(1, 10))))
    rf = draw(st.integers(1, len(universe)))
    topics = {}
    for i in range(draw(st.integers(1, 8))):
        partitions = draw(st.integers(1, 12))
        topics[f"t{i}"] = {p: draw(st.permutations(universe))[:rf] for p in range(partitions)}
    selected = sorted(draw(st.sets(st.integers(0, 12), min_size=rf, max_size=12)))
    return topics, selected, rf


@settings(max_examples=150, deadline=None)
@given(many_topics())
def test_many_topics_each_balanced_and_totals_even(
    case: tuple[dict[str, Assignment], list[int], int],
) -> None:
    current, brokers, rf = case
    plan = plan_topics(current, brokers, {})
    assert all(is_balanced(plan[t], brokers) for t in current)
    totals = Counter(b for assignment in plan.values() for r in assignment.values() for b in r)
    total = sum(len(a) * rf for a in current.values())
    assert max(totals.values()) <= math.ceil(total / len(brokers)) + 1
    assert plan_topics(plan, brokers, {}) == plan  # a balanced cluster is left alone


@st.composite
def racked(draw: st.DrawFn) -> tuple[Assignment, list[int], dict[int, str], int]:
    rack_count = draw(st.integers(2, 4))
    per_rack = draw(st.integers(1, 3))
    brokers = list(range(rack_count * per_rack))
    racks = {b: f"r{b % rack_count}" for b in brokers}
    rf = draw(st.integers(1, min(rack_count, len(brokers))))
    current = {p: draw(st.permutations(brokers))[:rf] for p in range(draw(st.integers(1, 20)))}
    return current, brokers, racks, rf


@settings(max_examples=150, deadline=None)
@given(racked())
def test_rack_aware_plans_put_each_replica_in_another_rack(
    case: tuple[Assignment, list[int], dict[int, str], int],
) -> None:
    current, brokers, racks, rf = case
    plan = plan_topic(current, brokers, rf, racks)
    assert is_balanced(plan, brokers)
    for replicas in plan.values():
        assert len({racks[b] for b in replicas}) == rf, (replicas, racks)
