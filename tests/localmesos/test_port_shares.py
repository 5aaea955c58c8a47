"""Agents of the embedded local Mesos share 127.0.0.1: their port ranges must not overlap."""

from __future__ import annotations

from kafka_mesos.localmesos.port_shares import per_agent_resources


def test_one_range_split_in_disjoint_shares() -> None:
    split = per_agent_resources("cpus:4;mem:8192;ports:[31000-31899];disk:100", 3)
    assert split == {
        0: "cpus:4;mem:8192;ports:[31000-31299];disk:100",
        1: "cpus:4;mem:8192;ports:[31300-31599];disk:100",
        2: "cpus:4;mem:8192;ports:[31600-31899];disk:100",
    }


def test_several_ranges_are_concatenated_before_splitting() -> None:
    split = per_agent_resources("ports:[100-101,200-203]", 2)
    assert split == {0: "ports:[100-101,200-200]", 1: "ports:[201-203]"}


def test_nothing_to_split() -> None:
    assert per_agent_resources("ports:[31000-32000]", 1) == {}
    assert per_agent_resources("cpus:1", 3) == {}
    assert per_agent_resources("ports:[3{n}000-3{n}999]", 3) == {}
    assert per_agent_resources("ports:[1-2]", 3) == {}
