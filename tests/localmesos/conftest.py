"""Fixtures for the local Mesos tests: a running cluster, a raw test framework, launch helpers."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from kafka_mesos.localmesos.cluster import LocalMesos
from kafka_mesos.localmesos.config import LocalMesosConfig
from kafka_mesos.mesos import codec
from kafka_mesos.mesos.pb import mesos_pb2 as mpb
from kafka_mesos.mesos.pb import scheduler_pb2 as spb
from tests.localmesos.client import RawFramework

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SAMPLE_EXECUTOR = HERE / "sample_executor.py"


@pytest.fixture(params=[codec.PROTOBUF, codec.JSON], ids=["protobuf", "json"])
def content_type(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def fast_config(tmp_path: Path, **overrides: object) -> LocalMesosConfig:
    values: dict[str, object] = {
        "agents": 2,
        "resources": "cpus:2;mem:4096;disk:10240;ports:[31000-32000]",
        "heartbeat_interval": 15.0,
        "allocation_interval": 0.2,
        "work_dir": tmp_path / "mesos",
        "executor_registration_timeout": 20.0,
        "executor_shutdown_grace_period": 3.0,
        "status_update_retry_initial": 10.0,
    }
    values.update(overrides)
    return LocalMesosConfig(**values)  # type: ignore[arg-type]


@pytest.fixture
async def mesos(tmp_path: Path) -> AsyncIterator[LocalMesos]:
    cluster = LocalMesos(fast_config(tmp_path))
    await cluster.start()
    try:
        yield cluster
    finally:
        await cluster.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def framework(
    mesos: LocalMesos, http: aiohttp.ClientSession, content_type: str
) -> AsyncIterator[RawFramework]:
    fw = RawFramework(mesos.master_url, content_type, http)
    try:
        yield fw
    finally:
        await fw.close_stream()


def sample_executor_info(executor_id: str, content_type: str, uri: str | None = None) -> mpb.ExecutorInfo:
    executor = mpb.ExecutorInfo(type=mpb.ExecutorInfo.CUSTOM, name="sample executor")
    executor.executor_id.value = executor_id
    kind = "json" if content_type == codec.JSON else "protobuf"
    executor.command.value = f"{sys.executable} sample_executor.py {kind}"
    executor.command.uris.add(value=uri or SAMPLE_EXECUTOR.as_uri(), extract=False)
    executor.command.environment.variables.add(name="PYTHONPATH", value=str(REPO))
    executor.resources.add(name="cpus", type=mpb.Value.SCALAR, scalar=mpb.Value.Scalar(value=0.1), role="*")
    executor.resources.add(name="mem", type=mpb.Value.SCALAR, scalar=mpb.Value.Scalar(value=32), role="*")
    return executor


def launch_call(
    offer: mpb.Offer,
    task_id: str,
    executor: mpb.ExecutorInfo,
    data: bytes = b"task-data",
    port: int | None = 31000,
    refuse_seconds: float | None = None,
) -> spb.Call:
    task = mpb.TaskInfo(name=task_id, data=data)
    task.task_id.value = task_id
    task.agent_id.CopyFrom(offer.agent_id)
    task.executor.CopyFrom(executor)
    task.resources.add(name="cpus", type=mpb.Value.SCALAR, scalar=mpb.Value.Scalar(value=0.1), role="*")
    task.resources.add(name="mem", type=mpb.Value.SCALAR, scalar=mpb.Value.Scalar(value=32), role="*")
    if port is not None:
        ports = task.resources.add(name="ports", type=mpb.Value.RANGES, role="*")
        ports.ranges.range.add(begin=port, end=port)
    call = spb.Call(type=spb.Call.ACCEPT)
    call.accept.offer_ids.add().CopyFrom(offer.id)
    operation = call.accept.operations.add(type=mpb.Offer.Operation.LAUNCH)
    operation.launch.task_infos.add().CopyFrom(task)
    if refuse_seconds is not None:
        call.accept.filters.refuse_seconds = refuse_seconds
    return call
