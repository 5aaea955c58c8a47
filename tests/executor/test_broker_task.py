from __future__ import annotations

from pathlib import Path

from kafka_mesos.executor.broker_task import BrokerTask, prepare_distribution
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


def test_prepare_distribution_keeps_the_originals_and_is_repeatable(tmp_path: Path) -> None:
    dist = unpack_standin(tmp_path)
    original = (dist / "config" / "server.properties").read_text()
    assert prepare_distribution(spec(), tmp_path) == dist
    assert prepare_distribution(spec(options={"num.io.threads": "2"}), tmp_path) == dist
    assert (dist / "config" / "server.properties.dist").read_text() == original
    props = parse_properties((dist / "config" / "server.properties").read_text())
    assert props["num.io.threads"] == "2" and props["num.network.threads"] == "3"
    log4j = parse_properties((dist / "config" / "log4j.properties").read_text())
    assert log4j["log4j.rootLogger"] == "WARN, stdout"
    assert "log4j.appender.kafkaAppender" in log4j


async def test_missing_distribution_fails_the_task(tmp_path: Path) -> None:
    sent: list[mesos_pb2.TaskStatus] = []

    async def send(status: mesos_pb2.TaskStatus) -> bytes:
        sent.append(status)
        return b""

    task = mesos_pb2.TaskInfo(name="kafka-3", data=spec().to_bytes())
    task.task_id.value = "kafka-3-x"
    broker = BrokerTask(task, tmp_path, send)
    await broker.run()
    assert [s.state for s in sent] == [mesos_pb2.TASK_FAILED]
    assert "no extracted Kafka distribution" in sent[0].message
    assert broker.terminal_state == mesos_pb2.TASK_FAILED
