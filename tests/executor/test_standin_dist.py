"""The stand-in Kafka behaves like Kafka where the executor can tell."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

from tests.executor.standin_helpers import unpack_standin
from tests.support.ports import free_port, port_is_open, wait_until
from tests.support.zookeeper import ZkChroot, kazoo_client


def write_properties(dist: Path, **values: str) -> Path:
    path = dist / "config" / "test.properties"
    path.write_text("".join(f"{key}={value}\n" for key, value in values.items()))
    return path


def start(dist: Path, properties: Path, heap: str = "-Xmx128M -Xms128M",
          extra_env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    env = {**os.environ, "KAFKA_HEAP_OPTS": heap, **(extra_env or {})}
    return subprocess.Popen(
        [str(dist / "bin" / "kafka-server-start.sh"), str(properties)],
        cwd=dist, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def test_missing_required_property_fails_with_a_message(tmp_path: Path) -> None:
    dist = unpack_standin(tmp_path)
    props = write_properties(dist, **{"broker.id": "1", "log.dirs": str(tmp_path / "logs")})
    process = start(dist, props)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode != 0
    assert b"zookeeper.connect" in stderr and b"listeners" in stderr


def test_registers_ephemeral_node_and_deregisters_on_sigterm(tmp_path: Path, zk_chroot: ZkChroot) -> None:
    dist = unpack_standin(tmp_path)
    port = free_port()
    props = write_properties(
        dist,
        **{
            "broker.id": "7",
            "log.dirs": str(tmp_path / "data"),
            "zookeeper.connect": zk_chroot.connect_string + "/kafka",
            "listeners": f"PLAINTEXT://127.0.0.1:{port}",
            "advertised.listeners": f"PLAINTEXT://broker-host:{port}",
        },
    )
    process = start(dist, props)
    try:
        with kazoo_client(zk_chroot.connect_string + "/kafka") as zk:
            data, stat = wait_until(lambda: zk.exists("/brokers/ids/7") and zk.get("/brokers/ids/7"), 60)
            registration = json.loads(data)
            assert stat.ephemeralOwner != 0
            assert registration["endpoints"] == [f"PLAINTEXT://broker-host:{port}"]
            assert (registration["host"], registration["port"]) == ("broker-host", port)
            assert registration["version"] == 5
            assert port_is_open(port)
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=60) == 0
            assert zk.exists("/brokers/ids/7") is None
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            assert stream is not None
            stream.close()
    log = (dist / "logs" / "server.log").read_text()
    assert "heap=128MB" in log and "shut down completed" in log


def test_refuses_an_already_registered_id(tmp_path: Path, zk_chroot: ZkChroot) -> None:
    dist = unpack_standin(tmp_path)
    with kazoo_client(zk_chroot.connect_string) as zk:
        zk.create("/brokers/ids/3", b"{}", makepath=True)
    props = write_properties(
        dist,
        **{
            "broker.id": "3",
            "log.dirs": str(tmp_path / "data"),
            "zookeeper.connect": zk_chroot.connect_string,
            "port": str(free_port()),
        },
    )
    process = start(dist, props)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1
    assert b"already registered" in stderr


def test_log_dir_and_log4j_opts_are_honoured_as_by_kafka_scripts(tmp_path: Path) -> None:
    """LOG_DIR becomes kafka.logs.dir; KAFKA_LOG4J_OPTS picks the log4j file (level and appenders)."""
    dist = unpack_standin(tmp_path)
    props = write_properties(dist, **{"broker.id": "1", "log.dirs": str(tmp_path / "data")})  # fails at once
    log_dir = tmp_path / "task" / "logs"
    process = start(dist, props, extra_env={"LOG_DIR": str(log_dir)})
    stdout, _ = process.communicate(timeout=60)
    assert process.returncode == 1
    assert "heap=128MB" in (log_dir / "server.log").read_text()  # created by the script, as Kafka's does
    assert b"heap=128MB" in stdout  # the distribution's log4j.properties has a console appender
    assert not (dist / "logs" / "server.log").exists()

    quiet = tmp_path / "quiet.properties"
    quiet.write_text("log4j.rootLogger=WARN, kafkaAppender\n"
                     "log4j.appender.kafkaAppender=org.apache.log4j.DailyRollingFileAppender\n"
                     "log4j.appender.kafkaAppender.File=${kafka.logs.dir}/quiet.log\n")
    process = start(dist, props, extra_env={"LOG_DIR": str(log_dir),
                                            "KAFKA_LOG4J_OPTS": f"-Dlog4j.configuration=file:{quiet}"})
    stdout, _ = process.communicate(timeout=60)
    assert process.returncode == 1
    quiet_log = (log_dir / "quiet.log").read_text()
    assert "missing required configuration" in quiet_log and "heap=" not in quiet_log  # INFO filtered
    assert stdout == b""  # no console appender in that configuration
