import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kafka_mesos.core.model import (
    TASK_RUNNING,
    Broker,
    Event,
    Failover,
    Stickiness,
    Task,
    broker_to_api_json,
    display_state,
    format_date,
)
from kafka_mesos.core.ranges import Range


def full_broker() -> Broker:
    return Broker(
        id=7, cpus=0.5, mem=512, heap=256, port=Range(31090, 31100), volume="v1", bind_address="10.0.0.*",
        constraints={"hostname": "unique", "rack": "like:r1"},
        options={"num.io.threads": "1", "log.dirs": "/a,/b", "drop.me": None},
        log4j_options={"log4j.rootLogger": "INFO"}, jvm_options="-Dx=1",
        failover=Failover(delay=10, max_delay=100, max_tries=5, failures=2, failure_time=1000.5,
                          reason="exit 1"),
        stickiness=Stickiness(period=300, hostname="a1", port=31091, stop_time=900.0),
        active=True,
        task=Task("kafka-7-u", "agent-1", "kafka-7-u", "a1", port=31091, state=TASK_RUNNING,
                  endpoint="a1:31091", attributes={"rack": "r1"}, message="ok", launched_at=950.0,
                  running_since=960.0, role="kafka", cpus=0.5, mem=512),
        last_task_id="kafka-7-u", needs_restart=True, placement_reason="no offers",
        events=(Event(950.0, "launched", "on a1"),),
    )


def test_defaults_match_mesos_kafka() -> None:
    broker = Broker(id=0)
    assert (broker.cpus, broker.mem, broker.heap, broker.port) == (1.0, 2048, 1024, None)
    assert (broker.failover.delay, broker.failover.max_delay, broker.failover.max_tries) == (60, 600, None)
    assert broker.stickiness.period == 600
    assert broker.active is False and broker.task is None


def test_negative_id_refused() -> None:
    with pytest.raises(ValueError):
        Broker(id=-1)


@pytest.mark.parametrize("broker", [Broker(id=0), full_broker()])
def test_persisted_form_round_trips_through_json(broker: Broker) -> None:
    data = json.loads(json.dumps(broker.to_dict()))
    assert data["schema"] == 1
    assert Broker.from_dict(data) == broker
    assert Broker.from_dict(data).to_dict() == broker.to_dict()


def test_newer_schema_refused() -> None:
    data = Broker(id=1).to_dict()
    data["schema"] = 99
    with pytest.raises(ValueError, match="schema"):
        Broker.from_dict(data)


def test_api_json_shape() -> None:
    out = broker_to_api_json(full_broker())
    assert out["id"] == "7"
    assert out["port"] == "31090..31100"
    assert out["options"] == "num.io.threads=1,log.dirs=/a\\,/b,drop.me"
    assert out["constraints"] == "hostname=unique,rack=like:r1"
    assert out["failover"] == {"delay": "10s", "maxDelay": "100s", "maxTries": 5,
                               "failures": 2, "failureTime": "1970-01-01 00:16:40.500",
                               "nextAttempt": "1970-01-01 00:17:00.500", "reason": "exit 1"}
    assert out["stickiness"]["period"] == "5m"
    assert out["stickiness"]["stopTime"] == "1970-01-01 00:15:00.000"
    assert out["task"]["state"] == "running"
    assert out["task"]["slaveId"] == "agent-1"
    assert out["task"]["endpoint"] == "a1:31091"
    assert out["state"] == "running (modified, needs restart)"
    assert out["reason"] == "no offers"
    json.dumps(out)


def test_api_json_omits_unset() -> None:
    out = broker_to_api_json(Broker(id=3))
    for key in ("port", "volume", "bindAddress", "jvmOptions", "constraints", "options", "task"):
        assert key not in out
    assert out["state"] == "stopped"


def test_display_state_failover_wait_and_retry() -> None:
    broker = Broker(id=1, active=True, failover=Failover(delay=60, max_tries=5, failures=1, failure_time=0.0))
    assert display_state(broker, now=10.0) == (
        "failed 1/5 1970-01-01 00:00:00.000, next start 1970-01-01 00:01:00.000")
    assert display_state(broker, now=61.0) == "starting 1/5, failed 1970-01-01 00:00:00.000"
    assert display_state(Broker(id=1, active=True)) == "starting"


def test_failover_backoff_doubles_and_caps() -> None:
    policy = Failover(delay=10, max_delay=70)
    assert [Failover(delay=10, max_delay=70, failures=n, failure_time=0).backoff() for n in range(1, 6)] == [
        10, 20, 40, 70, 70]
    assert policy.next_attempt() is None
    assert Failover(failures=10_000, failure_time=0).backoff() == 600


def test_stickiness_window() -> None:
    sticky = Stickiness(period=100, hostname="a1", stop_time=1000)
    assert sticky.allows("a1", 1050) and not sticky.allows("a2", 1050)
    assert sticky.allows("a2", 1100)
    assert Stickiness().allows("anything", 0)


def test_events_are_bounded() -> None:
    broker = Broker(id=0)
    for index in range(50):
        broker = broker.with_event(float(index), "tick")
    assert len(broker.events) == 20 and broker.events[-1].time == 49.0


def test_copy_does_not_share_maps() -> None:
    broker = full_broker()
    clone = broker.copy()
    clone.options["x"] = "y"
    assert "x" not in broker.options


def test_format_date_millis() -> None:
    assert format_date(1466606455.944) == "2016-06-22 14:40:55.944"


texts = st.text(max_size=6)
maybe_float = st.one_of(st.none(), st.floats(0, 1e10, allow_nan=False))
tasks = st.builds(Task, task_id=texts, agent_id=texts, executor_id=texts, hostname=texts,
                  port=st.one_of(st.none(), st.integers(1, 65535)),
                  state=st.sampled_from(["TASK_STAGING", "TASK_RUNNING"]),
                  endpoint=st.one_of(st.none(), texts), attributes=st.dictionaries(texts, texts, max_size=3),
                  message=st.one_of(st.none(), texts), launched_at=st.floats(0, 1e10, allow_nan=False),
                  running_since=maybe_float, stopping=st.booleans(), reconciling=st.booleans())
brokers = st.builds(
    Broker, id=st.integers(0, 10**6), cpus=st.floats(0.001, 64, allow_nan=False), mem=st.integers(1, 10**6),
    heap=st.integers(1, 10**6),
    port=st.one_of(st.none(), st.builds(lambda a: Range(a, a + 5), st.integers(1, 60000))),
    volume=st.one_of(st.none(), texts), constraints=st.dictionaries(texts, texts, max_size=3),
    options=st.dictionaries(texts, st.one_of(st.none(), texts), max_size=3),
    failover=st.builds(Failover, delay=st.floats(0, 1e6, allow_nan=False), failures=st.integers(0, 100),
                       failure_time=maybe_float, max_tries=st.one_of(st.none(), st.integers(1, 9))),
    stickiness=st.builds(Stickiness, hostname=st.one_of(st.none(), texts), stop_time=maybe_float),
    active=st.booleans(), task=st.one_of(st.none(), tasks), needs_restart=st.booleans(),
    events=st.lists(st.builds(Event, time=st.floats(0, 1e10, allow_nan=False), kind=texts),
                    max_size=3).map(tuple),
)


@given(brokers)
def test_any_broker_round_trips(broker: Broker) -> None:
    assert Broker.from_dict(json.loads(json.dumps(broker.to_dict()))) == broker
    json.dumps(broker_to_api_json(broker, now=0.0))
