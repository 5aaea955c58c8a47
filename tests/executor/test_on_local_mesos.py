"""The executor zipapp on the project's local Mesos: fetched by the agent with the stand-in distribution,
started with the agent's real MESOS_* environment, driven by a raw test framework."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from kafka_mesos.executor.artifact import build_executor_zipapp
from kafka_mesos.kafka.launch import LaunchSpec
from kafka_mesos.localmesos.cluster import LocalMesos
from kafka_mesos.localmesos.config import LocalMesosConfig
from kafka_mesos.mesos import codec
from kafka_mesos.mesos.pb import mesos_pb2 as mpb
from kafka_mesos.mesos.pb import scheduler_pb2 as spb
from tests.executor.standin_helpers import kazoo
from tests.localmesos.client import RawFramework, framework_info
from tests.support.ports import wait_until_async
from tests.support.standin import build_standin_dist, standin_top_dir
from tests.support.zookeeper import ZkChroot

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
            with kazoo(zk_chroot.connect_string) as zk:
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
            with kazoo(zk_chroot.connect_string) as zk:
                assert zk.exists("/brokers/ids/7") is None
            # the executor exits by itself once TASK_KILLED is acknowledged, with status 0
            failure = await framework.wait_for(lambda e: e.type == spb.Event.FAILURE, after=mark, deadline=60)
            assert failure.failure.executor_id.value == "kafka-7-exec" and failure.failure.status == 0
            await wait_until_async(lambda: not mesos.agents[0].runs, 60)
        finally:
            await framework.close_stream()
