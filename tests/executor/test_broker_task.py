from __future__ import annotations

from pathlib import Path

import pytest

from kafka_mesos.executor.broker_task import BrokerTask, PreparedLaunch, launch_environment, prepare_launch
from kafka_mesos.executor.task_dir import BadTaskId, TaskDir
from kafka_mesos.kafka.config import parse_properties
from kafka_mesos.kafka.launch import LaunchSpec
from kafka_mesos.mesos.pb import mesos_pb2
from tests.executor.standin_helpers import unpack_standin
from tests.support.ports import free_port


def spec(**changes: object) -> LaunchSpec:
    values: dict[str, object] = {
        "broker_id": 3,
        "zookeeper_connect": f"127.0.0.1:{free_port()}",  # nothing listens: refused at once
        "port": 31003,
        "advertised_hostname": "h",
        "options": {"num.io.threads": "1"},
        "log4j_options": {"log4j.rootLogger": "WARN, stdout"},
    }
    values.update(changes)
    return LaunchSpec(**values)  # type: ignore[arg-type]


def test_prepare_launch_writes_the_task_dir_and_never_the_distribution(tmp_path: Path) -> None:
    dist = unpack_standin(tmp_path)
    before = {path: path.read_bytes() for path in dist.rglob("*") if path.is_file()}
    first, second = TaskDir.of(tmp_path, "kafka-3-a"), TaskDir.of(tmp_path, "kafka-4-b")
    assert prepare_launch(spec(), tmp_path, first) == PreparedLaunch(dist, log4j_rendered=True)
    other_spec = spec(broker_id=4, options={"num.io.threads": "2"})
    assert prepare_launch(other_spec, tmp_path, second).dist_dir == dist
    assert {path: path.read_bytes() for path in dist.rglob("*") if path.is_file()} == before
    assert not list((dist / "logs").iterdir())
    props = parse_properties(first.server_properties.read_text())
    assert props["num.io.threads"] == "1" and props["num.network.threads"] == "3"
    assert props["broker.id"] == "3"
    assert props["log.dirs"] == str(tmp_path / "kafka-3-a" / "kafka-logs")
    other = parse_properties(second.server_properties.read_text())
    assert other["num.io.threads"] == "2" and other["broker.id"] == "4"
    assert other["log.dirs"] == str(tmp_path / "kafka-4-b" / "kafka-logs")
    log4j = parse_properties(first.log4j_properties.read_text())
    assert log4j["log4j.rootLogger"] == "WARN, stdout"
    assert "log4j.appender.kafkaAppender" in log4j
    assert first.logs.is_dir() and second.logs.is_dir()


def test_launch_environment_points_kafka_scripts_at_the_task_dir(tmp_path: Path) -> None:
    task_dir = TaskDir.of(tmp_path, "kafka-3-a")
    env = launch_environment(spec(heap_mb=256), task_dir, True, {})
    assert env["LOG_DIR"] == str(tmp_path / "kafka-3-a" / "logs")
    log4j_file = tmp_path / "kafka-3-a" / "config" / "log4j.properties"
    assert env["KAFKA_LOG4J_OPTS"] == f"-Dlog4j.configuration=file:{log4j_file}"
    assert env["KAFKA_HEAP_OPTS"] == "-Xmx256M -Xms256M"
    assert "KAFKA_LOG4J_OPTS" not in launch_environment(spec(), task_dir, False, {})  # nothing rendered
    operator = {"KAFKA_LOG4J_OPTS": "-Dlog4j.configuration=file:/etc/kafka/log4j.properties"}
    assert "KAFKA_LOG4J_OPTS" not in launch_environment(spec(), task_dir, True, operator)
    jvm = spec(jvm_options="-Dlog4j.configuration=file:/x.properties")
    assert "KAFKA_LOG4J_OPTS" not in launch_environment(jvm, task_dir, True, {})
    assert launch_environment(spec(), task_dir, True, {"LOG_DIR": "/shared"})["LOG_DIR"] == str(task_dir.logs)


def test_task_ids_that_cannot_name_a_directory_are_refused(tmp_path: Path) -> None:
    for bad in ("", ".", "..", "a/b", "a\nb"):
        with pytest.raises(BadTaskId):
            TaskDir.of(tmp_path, bad)
    assert TaskDir.of(tmp_path, "kafka-1-x.y_z").root == tmp_path / "kafka-1-x.y_z"


async def run_task(sandbox: Path, task_id: str) -> tuple[BrokerTask, list[mesos_pb2.TaskStatus]]:
    """Run one broker task of spec() to its end in `sandbox`; the task and the updates it sent."""
    sent: list[mesos_pb2.TaskStatus] = []

    async def send(status: mesos_pb2.TaskStatus) -> bytes:
        sent.append(status)
        return b""

    task = mesos_pb2.TaskInfo(name="kafka-3", data=spec().to_bytes())
    task.task_id.value = task_id
    broker = BrokerTask(task, sandbox, send)
    await broker.run()
    return broker, sent


async def test_missing_distribution_fails_the_task(tmp_path: Path) -> None:
    broker, sent = await run_task(tmp_path, "kafka-3-x")
    assert [s.state for s in sent] == [mesos_pb2.TASK_FAILED]
    assert "no extracted Kafka distribution" in sent[0].message
    assert broker.terminal_state == mesos_pb2.TASK_FAILED


async def test_a_task_id_that_cannot_name_a_directory_fails_the_task(tmp_path: Path) -> None:
    unpack_standin(tmp_path)
    _, sent = await run_task(tmp_path, "..")
    assert [s.state for s in sent] == [mesos_pb2.TASK_FAILED]
    assert "cannot name a directory" in sent[0].message
