"""The project's stdlib ExecutorSession (kafka_mesos.mesos.executor_session) as a custom executor
on the local Mesos agent: launch, updates with data, MESSAGE both ways, KILL, SHUTDOWN on TEARDOWN."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from kafka_mesos.localmesos.cluster import LocalMesos
from kafka_mesos.mesos import codec
from kafka_mesos.mesos.pb import mesos_pb2 as mpb
from tests.localmesos.client import Call, Event, RawFramework, framework_info
from tests.localmesos.conftest import launch_call, sample_executor_info

SESSION_EXECUTOR = Path(__file__).resolve().parent / "session_executor.py"


@pytest.mark.parametrize("checkpoint", [True, False])
async def test_executor_session_on_the_local_agent(
    framework: RawFramework, mesos: LocalMesos, checkpoint: bool
) -> None:
    info = framework_info()
    info.checkpoint = checkpoint
    await framework.subscribe(info)
    offer = (await framework.wait_offers())[0]
    executor = sample_executor_info("session-exec", framework.content_type, uri=SESSION_EXECUTOR.as_uri())
    kind = "json" if framework.content_type == codec.JSON else "protobuf"
    executor.command.value = executor.command.value.replace("sample_executor.py", "session_executor.py")
    assert executor.command.value.endswith(f"session_executor.py {kind}")
    await framework.call(launch_call(offer, "session-task", executor, data=b"\x00payload\xff"))
    starting = await framework.wait_update("session-task", mpb.TASK_STARTING)
    assert starting.source == mpb.TaskStatus.SOURCE_EXECUTOR and len(starting.uuid) == 16
    await framework.acknowledge(starting)
    running = await framework.wait_update("session-task", mpb.TASK_RUNNING)
    assert running.data == b"\x00payload\xff"
    await framework.acknowledge(running)

    message = Call(type=Call.MESSAGE)
    message.message.agent_id.CopyFrom(offer.agent_id)
    message.message.executor_id.value = "session-exec"
    message.message.data = b"ping"
    mark = len(framework.events)
    await framework.call(message)
    echo = await framework.wait_for(lambda e: e.type == Event.MESSAGE, after=mark)
    assert echo.message.data == b"echo:ping"

    kill = Call(type=Call.KILL)
    kill.kill.task_id.value = "session-task"
    await framework.call(kill)
    killed = await framework.wait_update("session-task", mpb.TASK_KILLED)
    await framework.acknowledge(killed)
    agent = next(a for a in mesos.agents if a.id == offer.agent_id.value)
    assert agent.runs  # the executor stays up until SHUTDOWN
    await framework.call(Call(type=Call.TEARDOWN))
    assert not [e for e in framework.events if e.type == Event.ERROR]
    run = next(iter(agent.runs.values()))
    assert run.process is not None
    # The executor exits by itself on SHUTDOWN, before the agent's grace period would kill it.
    assert await asyncio.wait_for(run.process.wait(), 20) == 0


@pytest.mark.parametrize("checkpoint", [True, False])
async def test_agent_restart(framework: RawFramework, mesos: LocalMesos, checkpoint: bool) -> None:
    """Checkpointing: the executor re-subscribes to the restarted agent and its task lives on.
    Without checkpointing the executor is gone and the task is TASK_LOST (REASON_AGENT_RESTARTED)."""
    info = framework_info()
    info.checkpoint = checkpoint
    await framework.subscribe(info)
    offer = (await framework.wait_offers())[0]
    executor = sample_executor_info("restart-exec", framework.content_type, uri=SESSION_EXECUTOR.as_uri())
    executor.command.value = executor.command.value.replace("sample_executor.py", "session_executor.py")
    await framework.call(launch_call(offer, "restart-task", executor))
    await framework.acknowledge(await framework.wait_update("restart-task", mpb.TASK_STARTING))
    await framework.acknowledge(await framework.wait_update("restart-task", mpb.TASK_RUNNING))
    index = next(i for i, a in enumerate(mesos.agents) if a.id == offer.agent_id.value)
    agent = mesos.agents[index]
    run = next(iter(agent.runs.values()))
    port = agent.port
    mark = len(framework.events)
    await mesos.restart_agent(index)
    assert agent.port == port
    if not checkpoint:
        lost = await framework.wait_update("restart-task", mpb.TASK_LOST, after=mark)
        assert lost.reason == mpb.TaskStatus.REASON_AGENT_RESTARTED and not lost.HasField("uuid")
        assert run.process is not None
        await asyncio.wait_for(run.process.wait(), 20)
        return
    loop = asyncio.get_running_loop()
    end = loop.time() + 20
    while not run.subscribed:  # ExecutorSession retries within MESOS_SUBSCRIPTION_BACKOFF_MAX
        assert loop.time() < end, "executor did not re-subscribe"
        await asyncio.sleep(0.02)
    kill = Call(type=Call.KILL)
    kill.kill.task_id.value = "restart-task"
    await framework.call(kill)
    killed = await framework.wait_update("restart-task", mpb.TASK_KILLED, after=mark)
    assert killed.source == mpb.TaskStatus.SOURCE_EXECUTOR
