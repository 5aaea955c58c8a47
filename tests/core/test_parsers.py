import pytest
from hypothesis import given
from hypothesis import strategies as st

from kafka_mesos.core.durations import format_duration, format_duration_ms, parse_duration, parse_duration_ms
from kafka_mesos.core.errors import ParseError
from kafka_mesos.core.expr import (
    format_broker_ids,
    order_by_attributes,
    parse_broker_expr,
    parse_broker_ids,
    select_brokers,
    select_topics,
)
from kafka_mesos.core.maps import format_map, parse_map
from kafka_mesos.core.model import Broker, Task
from kafka_mesos.core.ranges import Range, parse_port_spec, parse_range

# ---- durations -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "seconds"), [
    ("0", 0), ("500ms", 0.5), ("10s", 10), ("1m", 60), ("2h", 7200), ("1d", 86400), ("30d", 2592000),
    (" 5s ", 5), ("2mins", 120), ("1.5s", 1.5), ("5secs", 5), ("1w", 604800),
])
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "10", "s", "1x", "-1s", "1m30s", "0.0001s", "abc", "1 0s", "99999d"])
def test_bad_duration_names_field_and_text(text: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_duration(text, "failoverDelay")
    assert info.value.field == "failoverDelay"
    assert info.value.text == text
    assert "failoverDelay" in str(info.value)


@pytest.mark.parametrize(("seconds", "text"), [(0, "0"), (0.5, "500ms"), (10, "10s"), (60, "1m"),
                                               (90, "90s"), (600, "10m"), (7200, "2h"), (86400, "1d")])
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@given(st.integers(min_value=0, max_value=10 * 365 * 86_400_000))
def test_duration_round_trip(ms: int) -> None:
    assert parse_duration_ms(format_duration_ms(ms)) == ms


@given(st.text(max_size=20))
def test_duration_parse_never_crashes(text: str) -> None:
    try:
        parse_duration(text)
    except ParseError:
        pass


# ---- ranges ----------------------------------------------------------------------------------------


def test_ranges() -> None:
    assert parse_range("31090..31100") == Range(31090, 31100)
    assert parse_range("5") == Range(5, 5)
    assert parse_port_spec("") is None
    assert parse_port_spec("31092") == Range(31092, 31092)


@pytest.mark.parametrize("text", ["5..1", "a", "1..", "..2", "0", "65536", "1..70000", "1.5", "٣"])
def test_bad_port(text: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_port_spec(text)
    assert info.value.field == "port" and info.value.text == text


@given(st.integers(0, 10**6), st.integers(0, 10**6))
def test_range_round_trip(a: int, b: int) -> None:
    low, high = min(a, b), max(a, b)
    assert parse_range(Range(low, high).format()) == Range(low, high)


@given(st.text(max_size=20))
def test_range_parse_never_crashes(text: str) -> None:
    try:
        parse_range(text)
    except ParseError:
        pass


# ---- maps ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("", {}),
    ("a=1", {"a": "1"}),
    ("a=1,b=2", {"a": "1", "b": "2"}),
    (" a = 1 , b=2 ", {"a": "1", "b": "2"}),
    ("log.dirs=/a\\,/b", {"log.dirs": "/a,/b"}),
    ("k\\=x=v", {"k=x": "v"}),
    ("a=b=c", {"a": "b=c"}),
    ("drop", {"drop": None}),
    ("a=", {"a": ""}),
    ("x=\\\\", {"x": "\\"}),
])
def test_parse_map(text: str, expected: dict[str, str | None]) -> None:
    assert parse_map(text) == expected


@pytest.mark.parametrize("text", ["a=1,,b=2", "a=1,", ",a=1", "a=1\\", "=v"])
def test_bad_map(text: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_map(text, "options")
    assert info.value.field == "options" and info.value.text == text


def test_null_values_can_be_refused() -> None:
    with pytest.raises(ParseError, match="no '=value'"):
        parse_map("hostname", "constraints", allow_null_values=False)


def test_format_map_escapes() -> None:
    assert format_map({"log.dirs": "/a,/b", "k=x": "v\\"}) == "log.dirs=/a\\,/b,k\\=x=v\\\\"


@given(st.dictionaries(st.text(min_size=1, max_size=8), st.one_of(st.none(), st.text(max_size=8)),
                       max_size=5))
def test_map_round_trip(values: dict[str, str | None]) -> None:
    assert parse_map(format_map(values)) == values


@given(st.text(max_size=30))
def test_map_parse_never_crashes(text: str) -> None:
    try:
        parse_map(text)
    except ParseError:
        pass


# ---- broker expressions ---------------------------------------------------------------------------


def running(broker_id: int, hostname: str, **attributes: str) -> Broker:
    task = Task(f"kafka-{broker_id}-x", "agent", f"kafka-{broker_id}-x", hostname, attributes=attributes)
    return Broker(id=broker_id, active=True, task=task)


BROKERS = [running(0, "slave0", rack="r1", dc="dc1"), running(1, "slave1", rack="r2", dc="dc1"),
           running(2, "slave2", rack="r1", dc="dc2"), Broker(id=3)]


@pytest.mark.parametrize(("text", "expected"), [
    ("0", [0]), ("0,1", [0, 1]), ("0..2", [0, 1, 2]), ("0,1..2", [0, 1, 2]), ("2,0,2", [0, 2]),
    ("1000..1003", [1000, 1001, 1002, 1003]), ("*", [0, 1, 2, 3]), ("*,7", [0, 1, 2, 3, 7]),
    ("*[rack=r1]", [0, 2]), ("*[hostname=slave*]", [0, 1, 2]), ("0..4[rack=r1,dc=dc1]", [0]),
    ("*[rack]", [0, 1, 2]), ("*[zone]", []), ("*[rack=r*,dc=*2]", [2]), (" 5 ", [5]),
])
def test_select_brokers(text: str, expected: list[int]) -> None:
    assert select_brokers(text, BROKERS) == expected


@pytest.mark.parametrize("text", ["", "5..1", "a", "1,,2", "..2", "-1", "1[rack=r1", "*[]", "0[a]1",
                                  "0..100000000", "1.5"])
def test_bad_broker_expr(text: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_broker_expr(text, "broker")
    assert info.value.field == "broker" and info.value.text == text


def test_parse_broker_ids_refuses_existing_only_forms() -> None:
    assert parse_broker_ids("1000..1019") == list(range(1000, 1020))
    with pytest.raises(ParseError):
        parse_broker_ids("*")


@given(st.sets(st.integers(0, 5000), max_size=50))
def test_broker_ids_round_trip(ids: set[int]) -> None:
    if ids:
        assert parse_broker_ids(format_broker_ids(ids)) == sorted(ids)


@given(st.text(max_size=30))
def test_broker_expr_never_crashes(text: str) -> None:
    try:
        select_brokers(text, BROKERS)
    except ParseError:
        pass


def test_order_by_attributes_alternates_racks() -> None:
    brokers = [running(0, "h0", rack="r1"), running(1, "h1", rack="r1"), running(2, "h2", rack="r2"),
               running(3, "h3", rack="r2")]
    assert order_by_attributes(brokers, ["rack"]) == [0, 2, 1, 3]


# ---- topic expressions ----------------------------------------------------------------------------


TOPICS = ["t0", "t1", "logs", "logs-a"]


@pytest.mark.parametrize(("text", "expected"), [
    ("*", ["logs", "logs-a", "t0", "t1"]), ("t*", ["t0", "t1"]), ("t0,new", ["t0", "new"]),
    ("logs*", ["logs", "logs-a"]), ("*-a", ["logs-a"]), (" t1 , t0 ", ["t1", "t0"]), ("x*", []),
])
def test_select_topics(text: str, expected: list[str]) -> None:
    assert select_topics(text, TOPICS) == expected


@pytest.mark.parametrize("text", ["", " , "])
def test_bad_topic_expr(text: str) -> None:
    with pytest.raises(ParseError) as info:
        select_topics(text, TOPICS)
    assert info.value.field == "topic"
