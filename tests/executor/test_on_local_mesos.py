"""The executor zipapp on the project's local Mesos: fetched by the agent with the stand-in distribution,
started with the agent's real MESOS_* environment, driven by a raw test framework. One broker per executor,
and several brokers sharing one executor (further tasks arrive as LAUNCH events on the running executor)."""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from kafka_mesos.executor.artifact import build_executor_zipapp
from kafka_mesos.executor.options import LINGER_ENV
from kafka_mesos.kafka.config import parse_properties
from kafka_mesos.kafka.launch import LaunchSpec
from kafka_mesos.localmesos.cluster import LocalMesos
from kafka_mesos.localmesos.config import LocalMesosConfig
from kafka_mesos.localmesos.executor_run import ExecutorRun
from kafka_mesos.mesos import codec
from kafka_mesos.mesos.pb import mesos_pb2 as mpb
from kafka_mesos.mesos.pb import scheduler_pb2 as spb
from tests.executor.test_executor_e2e import process_gone
from tests.localmesos.client import RawFramework, framework_info
from tests.support.ports import wait_until_async
from tests.support.standin import build_standin_dist, standin_top_dir
from tests.support.zookeeper import ZkChroot, kazoo_client

pytestmark = pytest.mark.integration


@pytest.fixture
async def mesos(tmp_path: Path) -> AsyncIterator[LocalMesos]:
    config = LocalMesosConfig(agents=1, allocation_interval=0.1, work_dir=tmp_path / "mesos",
                              resources="cpus:2;mem:4096;disk:10240;ports:[31000-32000]",
                              executor_shutdown_grace_period=10.0)
    cluster = LocalMesos(config)
    await cluster.start()
    try:
        yield cluster
    finally:
        await cluster.stop()


def scalar(task: mpb.TaskInfo | mpb.ExecutorInfo, name: str, value: float) -> None:
    task.resources.add(name=name, type=mpb.Value.SCALAR, scalar=mpb.Value.Scalar(value=value), role="*")


def launch(offer: mpb.Offer, spec: LaunchSpec, zipapp: Path, dist: Path, content: str) -> spb.Call:
    executor = mpb.ExecutorInfo(type=mpb.ExecutorInfo.CUSTOM, name=f"broker-{spec.broker_id}")
    executor.executor_id.value = f"kafka-{spec.broker_id}-exec"
    executor.command.value = f"exec {sys.executable} -I -S {zipapp.name} --content-type {content}"
    executor.command.uris.add(value=zipapp.as_uri(), extract=False)
    executor.command.uris.add(value=dist.as_uri(), extract=True)
    scalar(executor, "cpus", 0.1)
    scalar(executor, "mem", 32)
    task = mpb.TaskInfo(name=f"kafka-{spec.broker_id}", data=spec.to_bytes())
    task.task_id.value = f"kafka-{spec.broker_id}-task"
    task.agent_id.CopyFrom(offer.agent_id)
    task.executor.CopyFrom(executor)
    scalar(task, "cpus", 0.1)
    scalar(task, "mem", 256)
    ports = task.resources.add(name="ports", type=mpb.Value.RANGES, role="*")
    ports.ranges.range.add(begin=spec.port, end=spec.port)
    call = spb.Call(type=spb.Call.ACCEPT)
    call.accept.offer_ids.add().CopyFrom(offer.id)
    call.accept.operations.add(type=mpb.Offer.Operation.LAUNCH).launch.task_infos.add().CopyFrom(task)
    call.accept.filters.refuse_seconds = 3600
    return call


@pytest.mark.parametrize("content", ["protobuf", "json"])
async def test_one_broker_through_the_local_mesos(
    mesos: LocalMesos, zk_chroot: ZkChroot, tmp_path: Path, content: str
) -> None:
    zipapp = build_executor_zipapp(tmp_path / "files")
    dist = build_standin_dist(tmp_path / "files")
    content_type = codec.JSON if content == "json" else codec.PROTOBUF
    async with aiohttp.ClientSession() as http:
        framework = RawFramework(mesos.master_url, content_type, http)
        try:
            await framework.subscribe(framework_info("executor-test"))
            offer = (await framework.wait_offers())[0]
            port = offer.resources[[r.name for r in offer.resources].index("ports")].ranges.range[0].begin
            spec = LaunchSpec(
                broker_id=7, zookeeper_connect=zk_chroot.connect_string, port=port,
                advertised_hostname=offer.hostname, bind_address="127.0.0.1", heap_mb=128,
                dist_archive=dist.name, dist_dir=standin_top_dir(), stop_grace_seconds=5.0,
            )
            assert (await framework.call(launch(offer, spec, zipapp, dist, content))).status == 202

            starting = await framework.wait_update("kafka-7-task", mpb.TASK_STARTING, deadline=60)
            assert (await framework.acknowledge(starting)).status == 202
            running = await framework.wait_update("kafka-7-task", mpb.TASK_RUNNING, deadline=60)
            assert running.data == f"{offer.hostname}:{port}".encode()
            with kazoo_client(zk_chroot.connect_string) as zk:
                assert zk.exists("/brokers/ids/7") is not None
            assert (await framework.acknowledge(running)).status == 202

            message = spb.Call(type=spb.Call.MESSAGE)
            message.message.agent_id.CopyFrom(offer.agent_id)
            message.message.executor_id.value = "kafka-7-exec"
            message.message.data = json.dumps({"type": "log", "name": "server.log", "lines": 3,
                                               "request_id": "x"}).encode()
            mark = len(framework.events)
            assert (await framework.call(message)).status == 202
            reply = await framework.wait_for(lambda e: e.type == spb.Event.MESSAGE, after=mark, deadline=60)
            answer = json.loads(reply.message.data)
            assert answer["request_id"] == "x" and "heap=128MB" in answer["content"]

            kill = spb.Call(type=spb.Call.KILL)
            kill.kill.task_id.value = "kafka-7-task"
            kill.kill.agent_id.CopyFrom(offer.agent_id)
            assert (await framework.call(kill)).status == 202
            killed = await framework.wait_update("kafka-7-task", mpb.TASK_KILLED, deadline=60)
            assert killed.source == mpb.TaskStatus.SOURCE_EXECUTOR
            assert (await framework.acknowledge(killed)).status == 202
            with kazoo_client(zk_chroot.connect_string) as zk:
                assert zk.exists("/brokers/ids/7") is None
            # the executor exits by itself once TASK_KILLED is acknowledged, with status 0
            failure = await framework.wait_for(lambda e: e.type == spb.Event.FAILURE, after=mark, deadline=60)
            assert failure.failure.executor_id.value == "kafka-7-exec" and failure.failure.status == 0
            await wait_until_async(lambda: not mesos.agents[0].runs, 60)
        finally:
            await framework.close_stream()


LINGER_SECONDS = 8.0
SHARED_EXECUTOR = "kafka-shared-exec"


def shared_executor_info(zipapp: Path, dist: Path) -> mpb.ExecutorInfo:
    executor = mpb.ExecutorInfo(type=mpb.ExecutorInfo.CUSTOM, name="kafka brokers")
    executor.executor_id.value = SHARED_EXECUTOR
    executor.command.value = f"exec {sys.executable} -I -S {zipapp.name}"
    executor.command.uris.add(value=zipapp.as_uri(), extract=False)
    executor.command.uris.add(value=dist.as_uri(), extract=True)
    executor.command.environment.variables.add(name=LINGER_ENV, value=str(LINGER_SECONDS))
    scalar(executor, "cpus", 0.1)
    scalar(executor, "mem", 32)
    return executor


def first_port(offer: mpb.Offer) -> int:
    return int(offer.resources[[r.name for r in offer.resources].index("ports")].ranges.range[0].begin)


def launch_on(offer: mpb.Offer, spec: LaunchSpec, executor: mpb.ExecutorInfo, task_id: str) -> spb.Call:
    task = mpb.TaskInfo(name=f"kafka-{spec.broker_id}", data=spec.to_bytes())
    task.task_id.value = task_id
    task.agent_id.CopyFrom(offer.agent_id)
    task.executor.CopyFrom(executor)
    scalar(task, "cpus", 0.1)
    scalar(task, "mem", 256)
    task.resources.add(name="ports", type=mpb.Value.RANGES, role="*").ranges.range.add(
        begin=spec.port, end=spec.port)
    call = spb.Call(type=spb.Call.ACCEPT)
    call.accept.offer_ids.add().CopyFrom(offer.id)
    call.accept.operations.add(type=mpb.Offer.Operation.LAUNCH).launch.task_infos.add().CopyFrom(task)
    call.accept.filters.refuse_seconds = 0.0  # the next broker goes onto the same agent at once
    return call


async def test_brokers_sharing_one_executor(mesos: LocalMesos, zk_chroot: ZkChroot, tmp_path: Path) -> None:
    zipapp = build_executor_zipapp(tmp_path / "files")
    dist = build_standin_dist(tmp_path / "files")
    executor = shared_executor_info(zipapp, dist)
    async with aiohttp.ClientSession() as http:
        framework = RawFramework(mesos.master_url, codec.PROTOBUF, http)
        unused_from = 0  # events before this index hold offers already used

        async def next_offer() -> mpb.Offer:
            nonlocal unused_from
            event = await framework.wait_for(lambda e: e.type == spb.Event.OFFERS, after=unused_from,
                                             deadline=60)
            unused_from = next(i for i, e in enumerate(framework.events) if e is event) + 1
            return event.offers.offers[0]

        async def start_broker(broker_id: int) -> tuple[str, int, int]:
            """Launch a broker onto the shared executor: (task id, port, pid) once RUNNING and acked."""
            offer = await next_offer()
            port = first_port(offer)
            spec = LaunchSpec(broker_id=broker_id, zookeeper_connect=zk_chroot.connect_string, port=port,
                              advertised_hostname=offer.hostname, bind_address="127.0.0.1", heap_mb=64,
                              dist_dir=standin_top_dir(), stop_grace_seconds=5.0)
            task_id = f"kafka-{broker_id}-task"
            assert (await framework.call(launch_on(offer, spec, executor, task_id))).status == 202
            starting = await framework.wait_update(task_id, mpb.TASK_STARTING, deadline=60)
            assert (await framework.acknowledge(starting)).status == 202
            running = await framework.wait_update(task_id, mpb.TASK_RUNNING, deadline=60)
            assert (await framework.acknowledge(running)).status == 202
            match = re.search(r"pid (\d+)", starting.message)
            assert match, starting.message
            return task_id, port, int(match.group(1))

        async def kill(task_id: str) -> None:
            call = spb.Call(type=spb.Call.KILL)
            call.kill.task_id.value = task_id
            call.kill.agent_id.value = mesos.agents[0].id
            assert (await framework.call(call)).status == 202
            killed = await framework.wait_update(task_id, mpb.TASK_KILLED, deadline=60)
            assert killed.source == mpb.TaskStatus.SOURCE_EXECUTOR
            assert (await framework.acknowledge(killed)).status == 202

        async def log_answer(**request: object) -> dict[str, object]:
            message = spb.Call(type=spb.Call.MESSAGE)
            message.message.agent_id.value = mesos.agents[0].id
            message.message.executor_id.value = SHARED_EXECUTOR
            message.message.data = json.dumps({"type": "log", "request_id": "q", **request}).encode()
            mark = len(framework.events)
            assert (await framework.call(message)).status == 202
            reply = await framework.wait_for(lambda e: e.type == spb.Event.MESSAGE, after=mark, deadline=60)
            answer: dict[str, object] = json.loads(reply.message.data)
            return answer

        def the_run() -> ExecutorRun:
            runs = list(mesos.agents[0].runs.values())
            assert [run.executor_id for run in runs] == [SHARED_EXECUTOR]
            return runs[0]

        try:
            await framework.subscribe(framework_info("shared-executor-test"))
            first, first_port_, first_pid = await start_broker(21)
            run = the_run()
            second, second_port, second_pid = await start_broker(22)  # a LAUNCH on the running executor
            assert the_run() is run and run.process is not None
            sandbox, executor_pid = run.directory, run.process.pid

            with kazoo_client(zk_chroot.connect_string) as zk:
                assert {"21", "22"} <= set(zk.get_children("/brokers/ids"))
            for task_id, broker_id, port in ((first, 21, first_port_), (second, 22, second_port)):
                props = parse_properties((sandbox / task_id / "config" / "server.properties").read_text())
                assert props["broker.id"] == str(broker_id)
                assert props["listeners"] == f"PLAINTEXT://127.0.0.1:{port}"
                assert props["log.dirs"] == str(sandbox / task_id / "kafka-logs")
                server_log = (sandbox / task_id / "logs" / "server.log").read_text()
                assert f"[KafkaServer id={broker_id}] started" in server_log
                assert "heap=64MB" in server_log and f"id={43 - broker_id}]" not in server_log
            assert not (sandbox / standin_top_dir() / "logs" / "server.log").exists()

            first_log = await log_answer(task_id=first, name="server.log", lines=50)
            second_log = await log_answer(task_id=second, name="server.log", lines=50)
            assert first_log["task_id"] == first and second_log["task_id"] == second
            assert "[KafkaServer id=21] started" in str(first_log["content"])
            assert "id=22" not in str(first_log["content"])
            assert "[KafkaServer id=22] started" in str(second_log["content"])
            assert "task_id is needed" in str((await log_answer(name="server.log"))["error"])
            assert "unknown task_id" in str((await log_answer(task_id="nope", name="server.log"))["error"])

            await kill(first)  # only this broker stops
            with kazoo_client(zk_chroot.connect_string) as zk:
                assert zk.exists("/brokers/ids/21") is None and zk.exists("/brokers/ids/22") is not None
            assert process_gone(first_pid) and not process_gone(second_pid)
            assert the_run() is run and not process_gone(executor_pid)
            still = await log_answer(task_id=second, name="stdout", lines=5)
            assert "content" in still, still
            assert not any(e.type == spb.Event.FAILURE for e in framework.events)

            await kill(second)  # the executor is idle now, and lingers
            assert not process_gone(executor_pid) and the_run() is run
            executor_log = sandbox / "stderr"
            await wait_until_async(lambda: "unless another LAUNCH arrives" in executor_log.read_text(), 30)
            third, _, third_pid = await start_broker(23)  # a LAUNCH during the linger keeps the executor
            assert the_run() is run and run.process.pid == executor_pid and not process_gone(executor_pid)
            assert "while lingering: the executor stays" in executor_log.read_text()
            assert (sandbox / third / "logs" / "server.log").exists()

            mark = len(framework.events)
            await kill(third)
            acknowledged_at = time.monotonic()
            assert not process_gone(executor_pid)  # alive right after the last acknowledgement
            failure = await framework.wait_for(lambda e: e.type == spb.Event.FAILURE, after=mark, deadline=60)
            gone_at = time.monotonic()
            assert failure.failure.executor_id.value == SHARED_EXECUTOR and failure.failure.status == 0
            assert gone_at - acknowledged_at >= LINGER_SECONDS - 0.1  # the timer starts after the ack arrived
            exit_line = f"no LAUNCH for {LINGER_SECONDS:g}s after the last task ended: exiting"
            assert exit_line in executor_log.read_text()
            assert process_gone(third_pid) and process_gone(second_pid)
            await wait_until_async(lambda: not mesos.agents[0].runs, 60)
        finally:
            await framework.close_stream()
