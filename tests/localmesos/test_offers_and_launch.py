"""ACCEPT validation, REVIVE/SUPPRESS, MULTI_ROLE offers, status update retries, registration
timeout, SHUTDOWN, fetching over HTTP with extraction."""

from __future__ import annotations

import asyncio
import io
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from kafka_mesos.localmesos.cluster import LocalMesos
from kafka_mesos.mesos import calls, codec
from kafka_mesos.mesos.pb import mesos_pb2 as mpb
from tests.localmesos.client import Call, Event, RawFramework, framework_info
from tests.localmesos.conftest import SAMPLE_EXECUTOR, fast_config, launch_call, sample_executor_info

TaskStatus = mpb.TaskStatus


async def test_used_offer_gives_task_lost_invalid_offers(framework: RawFramework) -> None:
    await framework.subscribe(framework_info())
    offer = (await framework.wait_offers())[0]
    executor = sample_executor_info("exec-1", framework.content_type)
    decline = Call(type=Call.DECLINE)
    decline.decline.offer_ids.add().CopyFrom(offer.id)
    await framework.call(decline)
    assert (await framework.call(launch_call(offer, "late-task", executor))).status == 202
    lost = await framework.wait_update("late-task", mpb.TASK_LOST)
    assert lost.reason == TaskStatus.REASON_INVALID_OFFERS
    assert lost.source == TaskStatus.SOURCE_MASTER
    assert not lost.HasField("uuid")


async def test_invalid_tasks_get_task_error(framework: RawFramework) -> None:
    await framework.subscribe(framework_info(capabilities=("PARTITION_AWARE",)))
    offers = await framework.wait_offers()
    executor = sample_executor_info("exec-1", framework.content_type)
    too_big = launch_call(offers[0], "too-big", executor)
    too_big.accept.operations[0].launch.task_infos[0].resources[0].scalar.value = 64
    await framework.call(too_big)
    error = await framework.wait_update("too-big", mpb.TASK_ERROR)
    assert error.reason == TaskStatus.REASON_TASK_INVALID and error.source == TaskStatus.SOURCE_MASTER
    assert not error.HasField("uuid")
    bad_id = launch_call(offers[1], "bad/id", executor)
    await framework.call(bad_id)
    assert (await framework.wait_update("bad/id", mpb.TASK_ERROR)).reason == TaskStatus.REASON_TASK_INVALID
    stale = launch_call(offers[1], "dropped", executor)
    await framework.call(stale)
    dropped = await framework.wait_update("dropped", mpb.TASK_DROPPED)  # PARTITION_AWARE: not TASK_LOST
    assert dropped.reason == TaskStatus.REASON_INVALID_OFFERS


async def test_incompatible_executor_info_is_task_error(framework: RawFramework) -> None:
    await framework.subscribe(framework_info())
    offer = (await framework.wait_offers())[0]
    executor = sample_executor_info("exec-1", framework.content_type)
    call = launch_call(offer, "t1", executor, refuse_seconds=0)
    other = mpb.ExecutorInfo()
    other.CopyFrom(executor)
    other.name = "a different executor"
    second = call.accept.operations[0].launch.task_infos.add()
    second.CopyFrom(call.accept.operations[0].launch.task_infos[0])
    second.task_id.value = "t2"
    second.executor.CopyFrom(other)
    del second.resources[2:]  # no second port
    await framework.call(call)
    error = await framework.wait_update("t2", mpb.TASK_ERROR)
    assert "not compatible" in error.message
    await framework.wait_update("t1", mpb.TASK_STARTING)


async def test_suppress_and_revive(framework: RawFramework, mesos: LocalMesos) -> None:
    await framework.subscribe(framework_info())
    offers = await framework.wait_offers()
    assert (await framework.call(Call(type=Call.SUPPRESS))).status == 202
    decline = Call(type=Call.DECLINE)
    for offer in offers:
        decline.decline.offer_ids.add().CopyFrom(offer.id)
    decline.decline.filters.refuse_seconds = 0  # no filter: only the suppression holds offers back
    await framework.call(decline)
    mark = len(framework.events)
    cycles = mesos.master.allocation_cycles
    await _until(lambda: mesos.master.allocation_cycles >= cycles + 3)
    assert not any(e.type == Event.OFFERS for e in framework.events[mark:])
    assert (await framework.call(Call(type=Call.REVIVE))).status == 202
    await framework.wait_offers(after=mark)


async def test_multi_role_offers_carry_allocation_info(framework: RawFramework) -> None:
    info = framework_info(capabilities=("MULTI_ROLE",))
    info.roles.append("kafka")
    await framework.subscribe(info)
    offer = (await framework.wait_offers())[0]
    assert offer.allocation_info.role == "kafka"
    assert all(r.allocation_info.role == "kafka" and r.role == "*" for r in offer.resources)


async def test_status_update_retried_until_acknowledged(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    async with LocalMesos(fast_config(tmp_path, status_update_retry_initial=0.3, agents=1)) as mesos:
        framework = RawFramework(mesos.master_url, codec.PROTOBUF, http)
        try:
            await framework.subscribe(framework_info())
            offer = (await framework.wait_offers())[0]
            await framework.call(launch_call(offer, "task-r", sample_executor_info("e", codec.PROTOBUF)))
            first = await framework.wait_update("task-r", mpb.TASK_STARTING)
            index = framework.events.index(next(e for e in framework.events if e.update.status == first))
            again = await framework.wait_update("task-r", mpb.TASK_STARTING, after=index + 1)
            assert again.uuid == first.uuid
            await framework.acknowledge(again)
            await framework.wait_update("task-r", mpb.TASK_RUNNING)
        finally:
            await framework.close_stream()


async def test_registration_timeout_fails_the_task(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    async with LocalMesos(fast_config(tmp_path, executor_registration_timeout=0.5, agents=1)) as mesos:
        framework = RawFramework(mesos.master_url, codec.JSON, http)
        try:
            await framework.subscribe(framework_info())
            offer = (await framework.wait_offers())[0]
            silent = sample_executor_info("silent", codec.JSON)
            silent.command.value = "exec sleep 60"
            await framework.call(launch_call(offer, "task-silent", silent))
            failed = await framework.wait_update("task-silent", mpb.TASK_FAILED)
            assert failed.reason == TaskStatus.REASON_EXECUTOR_REGISTRATION_TIMEOUT
            assert failed.source == TaskStatus.SOURCE_AGENT
            await framework.wait_for(lambda e: e.type == Event.FAILURE)
        finally:
            await framework.close_stream()


async def test_shutdown_call_stops_the_executor(framework: RawFramework, mesos: LocalMesos) -> None:
    await framework.subscribe(framework_info())
    offer = (await framework.wait_offers())[0]
    await framework.call(launch_call(offer, "task-s", sample_executor_info("exec-s", framework.content_type)))
    await framework.acknowledge(await framework.wait_update("task-s", mpb.TASK_STARTING))
    await framework.acknowledge(await framework.wait_update("task-s", mpb.TASK_RUNNING))
    assert (await framework.call(calls.shutdown("exec-s", offer.agent_id.value))).status == 202
    killed = await framework.wait_update("task-s", mpb.TASK_KILLED)
    assert killed.message == "sample: shutdown"
    await framework.acknowledge(killed)
    failure = await framework.wait_for(lambda e: e.type == Event.FAILURE)
    assert failure.failure.executor_id.value == "exec-s" and failure.failure.status == 0


async def test_fetch_over_http_with_extraction(
    framework: RawFramework, mesos: LocalMesos, tmp_path: Path
) -> None:
    payload = tmp_path / "payload"
    payload.mkdir()
    tgz = io.BytesIO()
    with tarfile.open(fileobj=tgz, mode="w:gz") as tar:
        data = b"inside the tarball"
        entry = tarfile.TarInfo("dist/readme.txt")
        entry.size = len(data)
        tar.addfile(entry, io.BytesIO(data))
    (payload / "dist.tgz").write_bytes(tgz.getvalue())
    with zipfile.ZipFile(payload / "conf.zip", "w") as zipped:
        zipped.writestr("conf/app.properties", "a=1\n")
    (payload / "tool.sh").write_text("#!/bin/sh\necho tool\n")
    (payload / "sample_executor.py").write_bytes(SAMPLE_EXECUTOR.read_bytes())
    app = web.Application()
    app.router.add_static("/files", payload)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        await framework.subscribe(framework_info())
        offer = (await framework.wait_offers())[0]
        base = f"http://127.0.0.1:{port}/files"
        executor = sample_executor_info("exec-f", framework.content_type, uri=f"{base}/sample_executor.py")
        executor.command.uris.add(value=f"{base}/dist.tgz")
        executor.command.uris.add(value=f"{base}/conf.zip")
        executor.command.uris.add(value=f"{base}/tool.sh", executable=True, output_file="bin/tool")
        await framework.call(launch_call(offer, "task-f", executor))
        await framework.wait_update("task-f", mpb.TASK_STARTING)
        sandbox = next(mesos.work_dir.glob("slaves/*/frameworks/*/executors/exec-f/runs/latest"))
        assert (sandbox / "dist.tgz").exists() and (sandbox / "conf.zip").exists()
        assert (sandbox / "dist" / "readme.txt").read_bytes() == b"inside the tarball"
        assert (sandbox / "conf" / "app.properties").read_text() == "a=1\n"
        assert (sandbox / "bin" / "tool").stat().st_mode & 0o111
    finally:
        await runner.cleanup()


async def test_failed_fetch_is_container_launch_failed(framework: RawFramework) -> None:
    await framework.subscribe(framework_info())
    offer = (await framework.wait_offers())[0]
    executor = sample_executor_info("exec-x", framework.content_type, uri="file:///nonexistent/executor.py")
    await framework.call(launch_call(offer, "task-x", executor))
    failed = await framework.wait_update("task-x", mpb.TASK_FAILED)
    assert failed.reason == TaskStatus.REASON_CONTAINER_LAUNCH_FAILED


async def _until(predicate: Callable[[], bool], deadline: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while not predicate():
        assert loop.time() < end, "condition not met before the deadline"
        await asyncio.sleep(0.02)


def command_task(offer: mpb.Offer, task_id: str, command: str) -> Call:
    call = launch_call(offer, task_id, sample_executor_info("unused", codec.JSON), port=None)
    task = call.accept.operations[0].launch.task_infos[0]
    task.ClearField("executor")
    task.command.value = command
    return call


async def test_command_tasks_run_on_the_builtin_command_executor(
    framework: RawFramework, mesos: LocalMesos
) -> None:
    await framework.subscribe(framework_info())
    offers = await framework.wait_offers()
    await framework.call(command_task(offers[0], "cmd-ok", "echo hello > out.txt"))
    for state in (mpb.TASK_STARTING, mpb.TASK_RUNNING):
        await framework.acknowledge(await framework.wait_update("cmd-ok", state))
    finished = await framework.wait_update("cmd-ok", mpb.TASK_FINISHED)
    assert finished.message == "Command exited with status 0" and finished.executor_id.value == "cmd-ok"
    await framework.acknowledge(finished)
    sandbox = next(mesos.work_dir.glob("slaves/*/frameworks/*/executors/cmd-ok/runs/latest"))
    assert (sandbox / "out.txt").read_text() == "hello\n"
    env_call = command_task(offers[1], "cmd-fail", "exit 7")
    await framework.call(env_call)
    for state in (mpb.TASK_STARTING, mpb.TASK_RUNNING):
        await framework.acknowledge(await framework.wait_update("cmd-fail", state))
    failed = await framework.wait_update("cmd-fail", mpb.TASK_FAILED)
    assert failed.message == "Command exited with status 7"

    mark = len(framework.events)
    await framework.call(command_task((await framework.wait_offers(after=mark))[0], "cmd-kill", "sleep 60"))
    for state in (mpb.TASK_STARTING, mpb.TASK_RUNNING):
        await framework.acknowledge(await framework.wait_update("cmd-kill", state))
    kill = Call(type=Call.KILL)
    kill.kill.task_id.value = "cmd-kill"
    await framework.call(kill)
    assert (await framework.wait_update("cmd-kill", mpb.TASK_KILLED)).source == TaskStatus.SOURCE_EXECUTOR


async def test_kill_before_the_executor_subscribed(framework: RawFramework, mesos: LocalMesos) -> None:
    await framework.subscribe(framework_info())
    offer = (await framework.wait_offers())[0]
    silent = sample_executor_info("late", framework.content_type)
    silent.command.value = "exec sleep 60"
    await framework.call(launch_call(offer, "never-delivered", silent))
    agent = next(a for a in mesos.agents if a.id == offer.agent_id.value)
    await _until(lambda: any(run.process is not None for run in agent.runs.values()))
    kill = Call(type=Call.KILL)
    kill.kill.task_id.value = "never-delivered"
    await framework.call(kill)
    killed = await framework.wait_update("never-delivered", mpb.TASK_KILLED)
    assert killed.reason == TaskStatus.REASON_TASK_KILLED_DURING_LAUNCH
    assert killed.source == TaskStatus.SOURCE_AGENT
    await framework.wait_for(lambda e: e.type == Event.FAILURE)  # the idle executor was destroyed
    await _until(lambda: not agent.runs)


async def test_refusal_filter_lets_larger_offers_through(framework: RawFramework) -> None:
    """A long filter holds back only what was refused: when a task ends, the agent offers more."""
    await framework.subscribe(framework_info())
    offer = (await framework.wait_offers())[0]
    executor = sample_executor_info("grow", framework.content_type)
    await framework.call(launch_call(offer, "short", executor, refuse_seconds=3600))
    for state in (mpb.TASK_STARTING, mpb.TASK_RUNNING):
        await framework.acknowledge(await framework.wait_update("short", state))
    mark = len(framework.events)
    kill = Call(type=Call.KILL)
    kill.kill.task_id.value = "short"
    await framework.call(kill)
    await framework.acknowledge(await framework.wait_update("short", mpb.TASK_KILLED, after=mark))

    def same_agent(event: Any) -> bool:
        return event.type == Event.OFFERS and any(o.agent_id == offer.agent_id for o in event.offers.offers)

    again = await framework.wait_for(same_agent, after=mark)
    grown = next(o for o in again.offers.offers if o.agent_id == offer.agent_id)
    assert next(r for r in grown.resources if r.name == "cpus").scalar.value == 1.9  # executor still up


async def test_revive_clears_long_decline_filters(framework: RawFramework) -> None:
    await framework.subscribe(framework_info())
    offers = await framework.wait_offers()
    decline = Call(type=Call.DECLINE)
    for offer in offers:
        decline.decline.offer_ids.add().CopyFrom(offer.id)
    decline.decline.filters.refuse_seconds = 3600
    await framework.call(decline)
    mark = len(framework.events)
    assert (await framework.call(Call(type=Call.REVIVE))).status == 202
    again = await framework.wait_offers(after=mark)
    assert {o.agent_id.value for o in again} == {o.agent_id.value for o in offers}


async def test_offer_timeout_rescinds_unanswered_offers(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    async with LocalMesos(fast_config(tmp_path, offer_timeout=0.3, agents=1)) as mesos:
        framework = RawFramework(mesos.master_url, codec.PROTOBUF, http)
        try:
            await framework.subscribe(framework_info())
            offer = (await framework.wait_offers())[0]
            rescind = await framework.wait_for(lambda e: e.type == Event.RESCIND)
            assert rescind.rescind.offer_id == offer.id
            mark = framework.events.index(rescind)
            again = (await framework.wait_offers(after=mark))[0]
            assert again.id != offer.id and again.agent_id == offer.agent_id
            assert (
                await framework.call(
                    launch_call(offer, "too-late", sample_executor_info("e", codec.PROTOBUF))
                )
            ).status == 202
            assert (
                await framework.wait_update("too-late", mpb.TASK_LOST)
            ).reason == TaskStatus.REASON_INVALID_OFFERS
        finally:
            await framework.close_stream()


async def test_large_accept_is_not_refused(framework: RawFramework) -> None:
    """An ACCEPT of 1500 tasks (over aiohttp's default 1 MiB body limit) is processed."""
    await framework.subscribe(framework_info())
    offer = (await framework.wait_offers())[0]
    call = launch_call(offer, "bulk-0", sample_executor_info("bulk", framework.content_type), port=None)
    tasks = call.accept.operations[0].launch.task_infos
    template = mpb.TaskInfo()
    template.CopyFrom(tasks[0])
    template.data = b"x" * 600
    del tasks[:]
    for index in range(1500):
        task = tasks.add()
        task.CopyFrom(template)
        task.task_id.value = task.name = f"bulk-{index}"
    assert len(call.SerializeToString()) > 1024 * 1024
    assert (await framework.call(call)).status == 202
    error = await framework.wait_update("bulk-1499", mpb.TASK_ERROR)  # 2 cpus run out long before
    assert "more resources" in error.message


async def test_a_task_for_an_executor_being_shut_down_is_lost_not_queued(framework: RawFramework) -> None:
    """As Mesos: the agent drops a task sent to an executor it is tearing down (TASK_LOST, or TASK_DROPPED
    for PARTITION_AWARE frameworks, reason EXECUTOR_TERMINATED); it starts no second executor of that id."""
    await framework.subscribe(framework_info())
    offer = (await framework.wait_offers())[0]
    first_offers = len(framework.events)
    executor = sample_executor_info("exec-busy", framework.content_type)
    executor.shutdown_grace_period.nanoseconds = 60 * 10**9  # stays "terminating" for the whole test
    await framework.call(launch_call(offer, "task-a", executor, data=b"ignore-shutdown", refuse_seconds=0.0))
    await framework.acknowledge(await framework.wait_update("task-a", mpb.TASK_STARTING))
    await framework.acknowledge(await framework.wait_update("task-a", mpb.TASK_RUNNING))
    assert (await framework.call(calls.shutdown("exec-busy", offer.agent_id.value))).status == 202
    again = next(o for o in await framework.wait_offers(after=first_offers) if o.agent_id == offer.agent_id)
    assert (await framework.call(launch_call(again, "task-b", executor, port=31001))).status == 202
    lost = await framework.wait_update("task-b", mpb.TASK_LOST)
    assert lost.reason == TaskStatus.REASON_EXECUTOR_TERMINATED
    assert lost.source == TaskStatus.SOURCE_AGENT and lost.message == "Executor terminating"
    await framework.acknowledge(lost)
    states_of_b = [e.update.status.state for e in framework.events
                   if e.type == Event.UPDATE and e.update.status.task_id.value == "task-b"]
    assert mpb.TASK_STARTING not in states_of_b and mpb.TASK_RUNNING not in states_of_b
