"""The executor zipapp run by an isolated interpreter, with a test agent, real ZooKeeper and the stand-in."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest

from kafka_mesos.executor.artifact import build_executor_zipapp
from kafka_mesos.kafka.config import parse_properties
from kafka_mesos.kafka.launch import LaunchSpec
from kafka_mesos.mesos.pb import executor_pb2, mesos_pb2
from tests.executor.agent_double import AgentDouble
from tests.executor.standin_helpers import unpack_standin
from tests.support.ports import free_port, port_is_open, wait_until_async
from tests.support.zookeeper import ZkChroot, kazoo_client

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def zipapp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_executor_zipapp(tmp_path_factory.mktemp("artifact"))


def test_the_isolated_interpreter_cannot_see_the_virtualenv() -> None:
    for module in ("google.protobuf", "aiohttp", "kazoo", "kafka_mesos"):
        result = subprocess.run(
            [sys.executable, "-I", "-S", "-c", f"import {module}"], capture_output=True, cwd="/", check=False
        )
        assert result.returncode != 0, module


@dataclass
class Running:
    agent: AgentDouble
    process: asyncio.subprocess.Process
    sandbox: Path
    dist: Path

    def statuses(self) -> list[mesos_pb2.TaskStatus]:
        return self.agent.updates()

    def states(self) -> list[str]:
        return self.agent.states()

    async def wait_state(self, state: str) -> mesos_pb2.TaskStatus:
        await self.agent.wait_for(lambda: state in self.states(), within=60)
        return next(s for s in self.statuses() if mesos_pb2.TaskState.Name(s.state) == state)

    def executor_log(self) -> str:
        return (self.sandbox / "stderr").read_text(errors="replace")


def executor_environ(agent: AgentDouble, sandbox: Path, extra: dict[str, str]) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "MESOS_AGENT_ENDPOINT": agent.endpoint,
        "MESOS_FRAMEWORK_ID": "fw-0000",
        "MESOS_EXECUTOR_ID": "kafka-1001-e",
        "MESOS_DIRECTORY": str(sandbox),
        "MESOS_SANDBOX": str(sandbox),
        "MESOS_CHECKPOINT": "0",
        "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD": "5secs",
        "MESOS_SLAVE_ID": "agent-double-S0",
        **extra,
    }


class StartExecutor(Protocol):
    async def __call__(self, content: str = ..., extra_env: dict[str, str] | None = ...) -> Running: ...


@pytest.fixture
async def executor_factory(zipapp: Path, tmp_path: Path) -> AsyncIterator[StartExecutor]:
    started: list[Running] = []

    async def start(content: str = "protobuf", extra_env: dict[str, str] | None = None) -> Running:
        agent = AgentDouble(auto_ack=True)
        await agent.start()
        sandbox = tmp_path / f"sandbox-{len(started)}"
        sandbox.mkdir()
        dist = unpack_standin(sandbox)
        with (sandbox / "stdout").open("wb") as out, (sandbox / "stderr").open("wb") as err:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-I", "-S", str(zipapp), "--content-type", content, "--log-level", "DEBUG",
                cwd=sandbox, env=executor_environ(agent, sandbox, extra_env or {}), stdout=out, stderr=err,
            )
        running = Running(agent, process, sandbox, dist)
        started.append(running)
        await agent.wait_for(lambda: bool(agent.calls_of(executor_pb2.Call.SUBSCRIBE)), within=60)
        return running

    yield start
    for running in started:
        if running.process.returncode is None:
            running.process.kill()
            await running.process.wait()
        await running.agent.stop()


def make_task(spec: LaunchSpec, task_id: str = "kafka-1001-6d1f") -> mesos_pb2.TaskInfo:
    task = mesos_pb2.TaskInfo(name="kafka-1001", data=spec.to_bytes())
    task.task_id.value = task_id
    task.agent_id.value = "agent-double-S0"
    return task


def make_spec(zk_chroot: ZkChroot, **changes: object) -> LaunchSpec:
    values: dict[str, object] = {
        "broker_id": 1001,
        "zookeeper_connect": zk_chroot.connect_string + "/kafka",
        "port": free_port(),
        "advertised_hostname": "127.0.0.1",
        "bind_address": "127.0.0.1",
        "heap_mb": 128,
        "options": {"num.io.threads": "1"},
        "dist_dir": "kafka_2.13-3.7.0",
        "stop_grace_seconds": 20.0,
    }
    values.update(changes)
    return LaunchSpec(**values)  # type: ignore[arg-type]


def broker_pid(status: mesos_pb2.TaskStatus) -> int:
    match = re.search(r"pid (\d+)", status.message)
    assert match, status.message
    return int(match.group(1))


def process_gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


async def test_running_only_after_registration_then_kill(
    executor_factory: StartExecutor, zk_chroot: ZkChroot
) -> None:
    gate = zk_chroot.path.strip("/") + ".gate"
    running = await executor_factory(extra_env={"STANDIN_REGISTER_GATE": gate})
    spec = make_spec(zk_chroot)
    await running.agent.launch(make_task(spec))
    starting = await running.wait_state("TASK_STARTING")
    pid = broker_pid(starting)

    task_dir = running.sandbox / "kafka-1001-6d1f"
    server_log = task_dir / "logs" / "server.log"
    await wait_until_async(lambda: server_log.exists() and "waiting for" in server_log.read_text(), 60)
    assert port_is_open(spec.port)  # the broker is up but not registered yet ...
    assert running.states() == ["TASK_STARTING"]  # ... so nobody may say RUNNING
    (task_dir / gate).touch()  # the broker's cwd is its task directory

    status = await running.wait_state("TASK_RUNNING")
    assert status.data == f"127.0.0.1:{spec.port}".encode()
    with kazoo_client(spec.zookeeper_connect) as zk:
        registration = json.loads(zk.get("/brokers/ids/1001")[0])
        assert registration["endpoints"] == [f"PLAINTEXT://127.0.0.1:{spec.port}"]
    props = parse_properties((task_dir / "config" / "server.properties").read_text())
    assert props["num.io.threads"] == "1" and props["broker.id"] == "1001"
    assert props["log.dirs"] == str(task_dir / "kafka-logs")
    assert "heap=128MB" in server_log.read_text()
    for name in ("server.properties", "log4j.properties"):  # the distribution is only read
        assert "kafka-mesos executor" not in (running.dist / "config" / name).read_text()
        assert "kafka-mesos executor" in (task_dir / "config" / name).read_text()
    assert not list((running.dist / "logs").iterdir())

    request = {"type": "log", "name": "server.log", "lines": 5, "request_id": "r-1"}
    await running.agent.message(json.dumps(request).encode())
    await running.agent.wait_for(lambda: bool(running.agent.calls_of(executor_pb2.Call.MESSAGE)), within=30)
    answer = json.loads(running.agent.calls_of(executor_pb2.Call.MESSAGE)[0].message.data)
    assert answer["request_id"] == "r-1" and "started" in answer["content"]
    assert answer["task_id"] == "kafka-1001-6d1f"  # no task_id asked: the only task is meant
    assert len(answer["content"].splitlines()) <= 5

    await running.agent.kill("kafka-1001-6d1f")
    killed = await running.wait_state("TASK_KILLED")
    assert "cleanly" in killed.message
    assert await asyncio.wait_for(running.process.wait(), 60) == 0  # exits once TASK_KILLED is acknowledged
    with kazoo_client(spec.zookeeper_connect) as zk:
        assert zk.exists("/brokers/ids/1001") is None
    assert process_gone(pid)
    assert running.states() == ["TASK_STARTING", "TASK_RUNNING", "TASK_KILLED"]
    updates = running.statuses()
    assert all(len(s.uuid) == 16 and s.source == mesos_pb2.TaskStatus.SOURCE_EXECUTOR for s in updates)


async def test_broker_crash_is_task_failed_with_log_tail(
    executor_factory: StartExecutor, zk_chroot: ZkChroot, tmp_path: Path
) -> None:
    crash = tmp_path / "crash-now"
    running = await executor_factory("json", {"STANDIN_CRASH_FILE": str(crash)})
    spec = make_spec(zk_chroot)
    await running.agent.launch(make_task(spec))
    pid = broker_pid(await running.wait_state("TASK_STARTING"))
    await running.wait_state("TASK_RUNNING")
    crash.touch()
    failed = await running.wait_state("TASK_FAILED")
    assert "exited with code 3" in failed.message
    assert "FATAL standin crash requested" in failed.message
    assert await asyncio.wait_for(running.process.wait(), 60) == 0
    assert process_gone(pid)
    assert running.agent.headers[0]["Content-Type"] == "application/json"


async def test_stale_registration_never_reports_running(
    executor_factory: StartExecutor, zk_chroot: ZkChroot
) -> None:
    spec = make_spec(zk_chroot)
    with kazoo_client(spec.zookeeper_connect) as zk:
        zk.create("/brokers/ids/1001", b'{"host":"old","port":1,"version":5,"timestamp":"1"}', makepath=True)
    running = await executor_factory()
    await running.agent.launch(make_task(spec))
    failed = await running.wait_state("TASK_FAILED")
    assert "already registered" in failed.message
    assert running.states() == ["TASK_STARTING", "TASK_FAILED"]
    assert await asyncio.wait_for(running.process.wait(), 60) == 0


async def test_bad_launch_spec_fails_the_task(executor_factory: StartExecutor) -> None:
    running = await executor_factory()
    task = mesos_pb2.TaskInfo(name="kafka-1001", data=b"not json")
    task.task_id.value = "kafka-1001-bad"
    task.agent_id.value = "agent-double-S0"
    await running.agent.launch(task)
    failed = await running.wait_state("TASK_FAILED")
    assert "launch spec is not JSON" in failed.message
    assert await asyncio.wait_for(running.process.wait(), 60) == 0


async def test_agent_restart_with_checkpointing_resends_and_keeps_the_broker(
    executor_factory: StartExecutor, zk_chroot: ZkChroot
) -> None:
    running = await executor_factory(
        extra_env={"MESOS_CHECKPOINT": "1", "MESOS_SUBSCRIPTION_BACKOFF_MAX": "100ms",
                   "MESOS_RECOVERY_TIMEOUT": "1mins"}
    )
    running.agent.auto_ack = False
    spec = make_spec(zk_chroot)
    await running.agent.launch(make_task(spec))
    pid = broker_pid(await running.wait_state("TASK_STARTING"))
    await running.wait_state("TASK_RUNNING")
    await running.agent.drop_stream()  # the agent restarts; nothing was acknowledged
    def subscribes() -> list[executor_pb2.Call]:
        return running.agent.calls_of(executor_pb2.Call.SUBSCRIBE)

    await running.agent.wait_for(lambda: len(subscribes()) == 2, within=60)
    resubscribe = subscribes()[1].subscribe
    resent = [mesos_pb2.TaskState.Name(u.status.state) for u in resubscribe.unacknowledged_updates]
    assert resent == ["TASK_STARTING", "TASK_RUNNING"]
    assert [u.status.uuid for u in resubscribe.unacknowledged_updates] == [s.uuid for s in running.statuses()]
    assert [t.task_id.value for t in resubscribe.unacknowledged_tasks] == ["kafka-1001-6d1f"]
    assert not process_gone(pid)  # the broker kept running through the agent restart

    running.agent.auto_ack = True
    for status in running.statuses():
        await running.agent.acknowledge(status)
    await running.agent.kill("kafka-1001-6d1f")
    await running.wait_state("TASK_KILLED")
    assert await asyncio.wait_for(running.process.wait(), 60) == 0
    assert process_gone(pid)


async def test_sigterm_stops_the_broker_and_reports_killed(
    executor_factory: StartExecutor, zk_chroot: ZkChroot
) -> None:
    running = await executor_factory()
    spec = make_spec(zk_chroot)
    await running.agent.launch(make_task(spec))
    pid = broker_pid(await running.wait_state("TASK_STARTING"))
    await running.wait_state("TASK_RUNNING")
    running.process.terminate()
    killed = await running.wait_state("TASK_KILLED")
    assert "cleanly" in killed.message
    assert await asyncio.wait_for(running.process.wait(), 60) == 0
    assert process_gone(pid)
    with kazoo_client(spec.zookeeper_connect) as zk:
        assert zk.exists("/brokers/ids/1001") is None


async def test_a_broker_that_ignores_sigterm_is_killed_after_the_grace_period(
    executor_factory: StartExecutor, zk_chroot: ZkChroot
) -> None:
    running = await executor_factory(extra_env={"STANDIN_IGNORE_SIGTERM": "1"})
    spec = make_spec(zk_chroot, stop_grace_seconds=0.5)
    await running.agent.launch(make_task(spec))
    pid = broker_pid(await running.wait_state("TASK_STARTING"))
    await running.wait_state("TASK_RUNNING")
    await running.agent.kill("kafka-1001-6d1f")
    killed = await running.wait_state("TASK_KILLED")
    assert "forcibly" in killed.message
    assert await asyncio.wait_for(running.process.wait(), 60) == 0
    assert process_gone(pid)


async def test_executor_killed_outright_takes_the_broker_with_it(
    executor_factory: StartExecutor, zk_chroot: ZkChroot
) -> None:
    running = await executor_factory()
    await running.agent.launch(make_task(make_spec(zk_chroot)))
    pid = broker_pid(await running.wait_state("TASK_STARTING"))
    await running.wait_state("TASK_RUNNING")
    running.process.kill()  # SIGKILL: no chance to stop the broker itself
    await running.process.wait()
    await wait_until_async(lambda: process_gone(pid), 30, message="broker died with its executor")


async def test_a_second_kill_with_zero_grace_forces_a_hanging_broker_down(
    executor_factory: StartExecutor, zk_chroot: ZkChroot
) -> None:
    running = await executor_factory(extra_env={"STANDIN_IGNORE_SIGTERM": "1"})
    spec = make_spec(zk_chroot, stop_grace_seconds=600.0)
    await running.agent.launch(make_task(spec))
    pid = broker_pid(await running.wait_state("TASK_STARTING"))
    await running.wait_state("TASK_RUNNING")
    await running.agent.kill("kafka-1001-6d1f")  # graceful: would wait ten minutes
    executor_log = running.sandbox / "stderr"
    await wait_until_async(lambda: "stop requested" in executor_log.read_text(), 30)
    forced = executor_pb2.Event(type=executor_pb2.Event.KILL)
    forced.kill.task_id.value = "kafka-1001-6d1f"
    forced.kill.kill_policy.grace_period.nanoseconds = 0
    await running.agent.send(forced)
    killed = await running.wait_state("TASK_KILLED")
    assert "forcibly" in killed.message
    assert await asyncio.wait_for(running.process.wait(), 60) == 0
    assert process_gone(pid)


async def test_sigterm_does_not_wait_for_the_linger(
    executor_factory: StartExecutor, zk_chroot: ZkChroot
) -> None:
    running = await executor_factory(extra_env={"KAFKA_MESOS_EXECUTOR_LINGER_SECONDS": "600"})
    spec = make_spec(zk_chroot)
    await running.agent.launch(make_task(spec))
    pid = broker_pid(await running.wait_state("TASK_STARTING"))
    await running.wait_state("TASK_RUNNING")
    running.process.terminate()
    await running.wait_state("TASK_KILLED")
    assert await asyncio.wait_for(running.process.wait(), 60) == 0  # well before the ten-minute linger
    assert process_gone(pid)
    assert "unless another LAUNCH arrives" not in running.executor_log()


async def test_the_last_kill_starts_the_linger(executor_factory: StartExecutor, zk_chroot: ZkChroot) -> None:
    running = await executor_factory(extra_env={"KAFKA_MESOS_EXECUTOR_LINGER_SECONDS": "600"})
    await running.agent.launch(make_task(make_spec(zk_chroot)))
    await running.wait_state("TASK_RUNNING")
    await running.agent.kill("kafka-1001-6d1f")
    await running.wait_state("TASK_KILLED")
    lingering = "exiting in 600s unless another LAUNCH arrives"
    await wait_until_async(lambda: lingering in running.executor_log(), 30)
    assert running.process.returncode is None  # idle, but lingering
    await running.agent.shutdown()
    assert await asyncio.wait_for(running.process.wait(), 60) == 0  # SHUTDOWN ends the linger at once
