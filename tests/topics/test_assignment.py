"""Kafka's replica placement (AdminUtils), checked against the examples in Kafka's own documentation/tests."""

from __future__ import annotations

import pytest

from kafka_mesos.core.assignment import assign_replicas, check_assignment, rack_alternated
from kafka_mesos.core.errors import ValidationError


def test_rack_unaware_matches_kafkas_documented_table() -> None:
    # AdminUtils' comment: 5 brokers, 10 partitions, RF 3, start index 0: p0 on 0,1,2; p5 on 0,2,3 ...
    assignment = assign_replicas([0, 1, 2, 3, 4], 10, 3, start_index=0, shift=0)
    assert assignment[0] == [0, 1, 2]
    assert assignment[4] == [4, 0, 1]
    assert assignment[5] == [0, 2, 3]
    assert assignment[9] == [4, 1, 2]
    leaders = [replicas[0] for replicas in assignment.values()]
    assert sorted(leaders) == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]


def test_rack_aware_matches_kafkas_test_vector() -> None:
    racks = {0: "rack1", 1: "rack3", 2: "rack3", 3: "rack2", 4: "rack2", 5: "rack1"}
    assert rack_alternated(racks, list(racks)) == [0, 3, 1, 5, 4, 2]
    assignment = assign_replicas(list(racks), 7, 3, start_index=0, shift=0, racks=racks)
    assert assignment == {0: [0, 3, 1], 1: [3, 1, 5], 2: [1, 5, 4], 3: [5, 4, 2], 4: [4, 2, 0],
                          5: [2, 0, 3], 6: [0, 4, 2]}
    for replicas in assignment.values():
        assert len({racks[b] for b in replicas}) == 3


def test_racks_ignored_unless_every_broker_has_one() -> None:
    with_racks = assign_replicas([0, 1, 2], 3, 2, start_index=0, shift=0, racks={0: "a", 1: "b"})
    assert with_racks == assign_replicas([0, 1, 2], 3, 2, start_index=0, shift=0)


def test_start_partition_id_continues_the_pattern() -> None:
    full = assign_replicas([0, 1, 2], 6, 2, start_index=1, shift=1)
    tail = assign_replicas([0, 1, 2], 3, 2, start_index=1, shift=1, start_partition_id=3)
    assert tail == {p: full[p] for p in (3, 4, 5)}


@pytest.mark.parametrize(("brokers", "partitions", "replicas", "field"), [
    ([], 1, 1, "broker"),
    ([0, 1], 0, 1, "partitions"),
    ([0, 1], 1, 0, "replicas"),
    ([0, 1], 1, 3, "replicas"),
])
def test_impossible_requests_name_the_field(brokers: list[int], partitions: int, replicas: int,
                                            field: str) -> None:
    with pytest.raises(ValidationError) as error:
        assign_replicas(brokers, partitions, replicas, start_index=0, shift=0)
    assert error.value.field == field


def test_check_assignment_is_kafkas_admin_validation() -> None:
    check_assignment({0: [1, 2], 1: [2, 1]})
    for bad in ({1: [1]}, {0: [1, 2], 1: [1]}, {0: [1, 1]}, {}):
        with pytest.raises(ValidationError):
            check_assignment(bad)
