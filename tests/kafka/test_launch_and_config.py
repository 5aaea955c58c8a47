from __future__ import annotations

import pytest

from kafka_mesos.kafka.config import (
    broker_environment,
    parse_properties,
    render_log4j_properties,
    render_server_properties,
)
from kafka_mesos.kafka.launch import LaunchSpec, LaunchSpecError

DIST_SERVER_PROPERTIES = """\
# Licensed to the Apache Software Foundation
broker.id=0
num.network.threads=3
num.io.threads=8
log.dirs=/tmp/kafka-logs
zookeeper.connect=localhost:2181
listeners = PLAINTEXT://your.host.name:9092
socket.send.buffer.bytes : 102400
long.value=a\\
    b
"""


def make_spec(**changes: object) -> LaunchSpec:
    values: dict[str, object] = {
        "broker_id": 1003,
        "zookeeper_connect": "127.0.0.1:2181/kafka",
        "port": 31005,
        "advertised_hostname": "agent-2.example",
        "heap_mb": 128,
        "options": {"num.io.threads": "1", "log.dirs": "/data/$id/logs"},
        "log4j_options": {"log4j.rootLogger": "DEBUG, stdout"},
        "jvm_options": "-XX:+UseG1GC -Dname=broker",
        "dist_archive": "kafka_2.13-3.7.0.tgz",
        "dist_dir": "kafka_2.13-3.7.0",
        "stop_grace_seconds": 12.5,
    }
    values.update(changes)
    return LaunchSpec(**values)  # type: ignore[arg-type]


def test_launch_spec_round_trips_through_json() -> None:
    spec = make_spec(bind_address="10.0.0.5", volume_path="/vol/a")
    again = LaunchSpec.from_json(spec.to_bytes())
    assert again == spec
    assert again.endpoint == "agent-2.example:31005"


def test_launch_spec_ignores_unknown_fields_and_rejects_bad_ones() -> None:
    text = make_spec().to_json().replace('"broker_id"', '"future_field": 1, "broker_id"')
    assert LaunchSpec.from_json(text).broker_id == 1003
    with pytest.raises(LaunchSpecError, match="port"):
        LaunchSpec.from_json(make_spec().to_json().replace('"port": 31005', '"port": "x"'))
    with pytest.raises(LaunchSpecError, match="not JSON"):
        LaunchSpec.from_json(b"\xff")
    with pytest.raises(LaunchSpecError, match="broker_id"):
        LaunchSpec.from_json('{"zookeeper_connect": "z", "port": 1, "advertised_hostname": "h"}')


def test_parse_properties_handles_separators_comments_and_continuations() -> None:
    props = parse_properties(DIST_SERVER_PROPERTIES)
    assert props["listeners"] == "PLAINTEXT://your.host.name:9092"
    assert props["socket.send.buffer.bytes"] == "102400"
    assert props["long.value"] == "ab"
    assert "# Licensed to the Apache Software Foundation" not in props


def test_server_properties_overrides_and_options_win() -> None:
    text = render_server_properties(DIST_SERVER_PROPERTIES, make_spec(), "/sandbox")
    props = parse_properties(text)
    assert props["broker.id"] == "1003"
    assert props["listeners"] == "PLAINTEXT://:31005"
    assert props["advertised.listeners"] == "PLAINTEXT://agent-2.example:31005"
    assert props["zookeeper.connect"] == "127.0.0.1:2181/kafka"
    assert props["num.io.threads"] == "1"
    assert props["log.dirs"] == "/data/1003/logs"  # the broker's option wins, with $id substituted
    assert props["num.network.threads"] == "3"  # kept from the distribution's file
    assert list(props).index("broker.id") == 0  # base order kept


def test_log_dirs_default_to_the_task_dir_or_volume_and_bind_address_binds_listener() -> None:
    task_dir = "/sandbox/kafka-1003-a"  # the executor passes the broker's task directory
    props = parse_properties(render_server_properties("", make_spec(options={}), task_dir))
    assert props["log.dirs"] == "/sandbox/kafka-1003-a/kafka-logs"
    spec = make_spec(options={}, volume_path="/vol/b", bind_address="192.168.1.7")
    props = parse_properties(render_server_properties("", spec, task_dir))
    assert props["log.dirs"] == "/vol/b/kafka-logs"
    assert props["listeners"] == "PLAINTEXT://192.168.1.7:31005"


def test_values_with_special_characters_survive_rendering() -> None:
    spec = make_spec(options={"weird key": "a=b:c \\ d", "ssl.x": " leading"})
    props = parse_properties(render_server_properties("", spec, "/s"))
    assert props["weird key"] == "a=b:c \\ d"
    assert props["ssl.x"] == " leading"


def test_log4j_and_environment() -> None:
    base = "log4j.rootLogger=INFO, stdout\nlog4j.appender.stdout=org.apache.log4j.ConsoleAppender\n"
    props = parse_properties(render_log4j_properties(base, make_spec()))
    assert props["log4j.rootLogger"] == "DEBUG, stdout"
    assert props["log4j.appender.stdout"] == "org.apache.log4j.ConsoleAppender"
    env = broker_environment(make_spec())
    assert env["KAFKA_HEAP_OPTS"] == "-Xmx128M -Xms128M"
    assert env["KAFKA_JVM_PERFORMANCE_OPTS"] == "-XX:+UseG1GC -Dname=broker"
    assert "KAFKA_JVM_PERFORMANCE_OPTS" not in broker_environment(make_spec(jvm_options=""))
