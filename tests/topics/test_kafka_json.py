"""Kafka's znode JSON, byte for byte against the documented examples (kafka-znodes.md, Kafka's ZkData)."""

from __future__ import annotations

import pytest

from kafka_mesos.core.errors import ValidationError
from kafka_mesos.kafka.topics import (
    PartitionState,
    check_topic_name,
    decode_entity_config,
    decode_partition_state,
    decode_reassignment,
    decode_topic_assignment,
    encode_config_change,
    encode_entity_config,
    encode_reassignment,
    encode_topic_assignment,
)


def test_topic_assignment() -> None:
    assert encode_topic_assignment({0: [1, 2, 3], 1: [2, 3, 1]}) == (
        b'{"version":1,"partitions":{"0":[1,2,3],"1":[2,3,1]}}')


def test_topic_assignment_of_newer_versions_is_read_and_extras_kept() -> None:
    data = (b'{"version":3,"partitions":{"1":[2,3],"0":[1,2]},"adding_replicas":{},'
            b'"removing_replicas":{},"topic_id":"7Wb5ZdHmRw2H3Y1u6QkY0A"}')
    partitions, others = decode_topic_assignment(data)
    assert partitions == {0: [1, 2], 1: [2, 3]} and list(partitions) == [0, 1]
    assert others["topic_id"] == "7Wb5ZdHmRw2H3Y1u6QkY0A" and others["version"] == 3
    assert encode_topic_assignment(partitions, 3, {"topic_id": others["topic_id"]}) == (
        b'{"version":3,"partitions":{"0":[1,2],"1":[2,3]},"topic_id":"7Wb5ZdHmRw2H3Y1u6QkY0A"}')


def test_entity_config() -> None:
    config = {"retention.ms": "86400000", "cleanup.policy": "compact"}
    data = encode_entity_config(config)
    assert data == b'{"version":1,"config":{"retention.ms":"86400000","cleanup.policy":"compact"}}'
    assert decode_entity_config(data) == config
    assert encode_entity_config({}) == b'{"version":1,"config":{}}'


def test_config_change_notification() -> None:
    assert encode_config_change("topics/t1") == b'{"version":2,"entity_path":"topics/t1"}'


def test_reassignment() -> None:
    targets = {("t", 0): [3, 1, 2], ("t", 1): [1, 2, 3]}
    data = encode_reassignment(targets)
    assert data == (b'{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[3,1,2]},'
                    b'{"topic":"t","partition":1,"replicas":[1,2,3]}]}')
    assert decode_reassignment(data) == targets


def test_partition_state() -> None:
    documented = b'{"version":1,"leader":2,"leader_epoch":7,"isr":[2,3,1],"controller_epoch":12}'
    state = decode_partition_state(documented)
    assert state == PartitionState(2, (2, 3, 1), 7, 12)
    assert state.encode() == documented
    recovering = (b'{"version":1,"leader":-1,"leader_epoch":8,"isr":[],"controller_epoch":12,'
                  b'"leader_recovery_state":1}')
    assert decode_partition_state(recovering).leader == -1


@pytest.mark.parametrize("name", ["", ".", "..", "a b", "t/1", "x" * 250, "tö"])
def test_illegal_topic_names(name: str) -> None:
    with pytest.raises(ValidationError) as error:
        check_topic_name(name)
    assert error.value.field == "topic"


def test_legal_topic_names() -> None:
    for name in ("t1", "a.b_c-D", "x" * 249):
        check_topic_name(name)
