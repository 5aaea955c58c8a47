import pytest

from kafka_mesos.core.constraints import (
    CompiledConstraints,
    Placement,
    PlacementIndex,
    parse_constraint,
    parse_constraints,
)
from kafka_mesos.core.errors import ParseError
from kafka_mesos.core.model import Broker


def check(constraints: str, offer_host: str, offer_attrs: dict[str, str],
          others: list[tuple[str, dict[str, str]]]) -> str | None:
    broker = Broker(id=100, constraints=parse_constraints(constraints))
    placements = [Placement(i, host, attrs) for i, (host, attrs) in enumerate(others)]
    index = PlacementIndex(placements, broker.constraints)
    return CompiledConstraints.of(broker).check(broker.id, offer_host, offer_attrs, index)


R1, R2, R3 = {"rack": "r1"}, {"rack": "r2"}, {"rack": "r3"}

CASES = [
    # (constraints, offer host, offer attributes, others, matches?)
    ("hostname=like:slave.*", "slave0", {}, [], True),
    ("hostname=like:slave.*", "master0", {}, [], False),
    ("hostname=like:slave", "slave0", {}, [], False),  # full match, not prefix
    ("hostname=unlike:slave.*", "slave0", {}, [], False),
    ("hostname=unlike:slave.*", "master", {}, [], True),
    ("rack=like:r1", "h", R1, [], True),
    ("rack=like:r1", "h", {}, [], False),  # missing attribute
    ("hostname=unique", "h1", {}, [("h1", {})], False),
    ("hostname=unique", "h2", {}, [("h1", {})], True),
    ("hostname=unique", "h1", {}, [], True),
    ("rack=unique", "h", R1, [("x", R2), ("y", R3)], True),
    ("rack=unique", "h", R2, [("x", R2)], False),
    ("rack=cluster", "h", R1, [], True),
    ("rack=cluster", "h", R1, [("x", R1)], True),
    ("rack=cluster", "h", R2, [("x", R1)], False),
    ("rack=cluster:r2", "h", R2, [], True),
    ("rack=cluster:r2", "h", R1, [], False),
    ("rack=groupBy", "h", R1, [], True),
    ("rack=groupBy", "h", R1, [("x", R1)], True),
    ("rack=groupBy", "h", R2, [("x", R1)], False),
    ("rack=groupBy:2", "h", R1, [("x", R1)], False),  # fewer than 2 groups: only a new value
    ("rack=groupBy:2", "h", R2, [("x", R1)], True),
    ("rack=groupBy:2", "h", R1, [("x", R1), ("y", R2)], True),  # both at minimum count 1
    ("rack=groupBy:2", "h", R1, [("x", R1), ("y", R2), ("z", R2)], True),
    ("rack=groupBy:2", "h", R2, [("x", R1), ("y", R2), ("z", R2)], False),
    ("rack=groupBy:2", "h", R3, [("x", R1), ("y", R2)], False),  # 2 groups exist, r3 has 0 != min 1
    ("hostname=unique,rack=like:r1", "h2", R1, [("h1", R1)], True),
    ("hostname=unique,rack=like:r1", "h1", R1, [("h1", R1)], False),
    ("hostname=unique,rack=like:r1", "h2", R2, [("h1", R1)], False),
]


@pytest.mark.parametrize(("constraints", "host", "attrs", "others", "matches"), CASES)
def test_constraint_table(constraints: str, host: str, attrs: dict[str, str],
                          others: list[tuple[str, dict[str, str]]], matches: bool) -> None:
    reason = check(constraints, host, attrs, others)
    assert (reason is None) == matches, reason


def test_reasons_are_readable() -> None:
    assert check("rack=like:r1", "h", {}, []) == "no rack"
    assert check("hostname=unique", "h1", {}, [("h1", {})]) == "unique: hostname=h1 already has broker 0"


def test_broker_is_not_its_own_other() -> None:
    broker = Broker(id=0, constraints={"hostname": "unique"})
    index = PlacementIndex([Placement(0, "h1", {})], ["hostname"])
    assert CompiledConstraints.of(broker).check(0, "h1", {}, index) is None


def test_index_add_remove_and_cluster_first() -> None:
    index = PlacementIndex([Placement(5, "h", R2), Placement(3, "h", R1)], ["rack"])
    counts, first = index.others("rack", 99)
    assert counts == {"r1": 1, "r2": 1} and first == "r1"
    index.remove(3)
    assert index.others("rack", 99) == ({"r2": 1}, "r2")
    index.add(Placement(5, "h", R3))  # re-adding moves it
    assert index.others("rack", 99) == ({"r3": 1}, "r3")


@pytest.mark.parametrize("text", ["", "like", "like:(", "uniq", "unique:x", "cluster:", "groupBy:x",
                                  "groupBy:-1", "groupBy:0"])
def test_bad_constraint(text: str) -> None:
    with pytest.raises(ParseError):
        parse_constraint(text)


def test_parse_constraints_normalises() -> None:
    parsed = parse_constraints(" hostname = unique , rack=groupBy:1")
    assert parsed == {"hostname": "unique", "rack": "groupBy"}
