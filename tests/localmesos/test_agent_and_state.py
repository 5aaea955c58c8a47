"""The agent's executor API driven directly by the test (acting as the executor), agent removal,
periodic heartbeats, UPDATE_FRAMEWORK and the shape of `/state`."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from kafka_mesos.localmesos.cluster import LocalMesos
from kafka_mesos.mesos import codec
from kafka_mesos.mesos.pb import executor_pb2 as epb
from kafka_mesos.mesos.pb import mesos_pb2 as mpb
from kafka_mesos.mesos.recordio import RecordIODecoder
from tests.localmesos.client import Call, Event, RawFramework, framework_info
from tests.localmesos.conftest import fast_config, launch_call, sample_executor_info
from tests.localmesos.test_bad_requests import CAPTURES
from tests.localmesos.test_conformance import key_paths

TaskStatus = mpb.TaskStatus
CAPTURED_STATE = CAPTURES / "state.json"


class ExecutorStream:
    """The test plays the executor against the agent's /api/v1/executor."""

    def __init__(
        self, http: aiohttp.ClientSession, port: int, framework_id: str, executor_id: str, content_type: str
    ) -> None:
        self.http = http
        self.url = f"http://127.0.0.1:{port}/api/v1/executor"
        self.framework_id, self.executor_id, self.content_type = framework_id, executor_id, content_type
        self.events: list[epb.Event] = []
        self._task: asyncio.Task[None] | None = None
        self._response: aiohttp.ClientResponse | None = None

    def call(self, kind: int) -> epb.Call:
        call = epb.Call(type=kind)
        call.framework_id.value = self.framework_id
        call.executor_id.value = self.executor_id
        return call

    async def post(self, call: epb.Call, content_type: str | None = None) -> tuple[int, bytes]:
        headers = {"Content-Type": content_type or self.content_type, "Accept": self.content_type}
        async with self.http.post(
            self.url, data=codec.encode(call, self.content_type), headers=headers
        ) as resp:
            return resp.status, await resp.read()

    async def subscribe(self, updates: list[mpb.TaskStatus] = ()) -> int:  # type: ignore[assignment]
        call = self.call(epb.Call.SUBSCRIBE)
        call.subscribe.SetInParent()
        for status in updates:
            call.subscribe.unacknowledged_updates.add().status.CopyFrom(status)
        headers = {"Content-Type": self.content_type, "Accept": self.content_type}
        self._response = await self.http.post(
            self.url,
            data=codec.encode(call, self.content_type),
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=None),
        )
        if self._response.status == 200:
            self._task = asyncio.create_task(self._read(self._response))
        return self._response.status

    async def _read(self, response: aiohttp.ClientResponse) -> None:
        decoder = RecordIODecoder()
        async for chunk in response.content.iter_any():
            for record in decoder.feed(chunk):
                self.events.append(codec.decode(record, self.content_type, epb.Event))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._response is not None:
            self._response.close()

    async def wait(self, predicate: Callable[[epb.Event], bool]) -> epb.Event:
        await _until(lambda: any(predicate(e) for e in self.events))
        return next(e for e in self.events if predicate(e))

    def status(self, task_id: str, state: mpb.TaskState) -> mpb.TaskStatus:
        status = mpb.TaskStatus(state=state, source=TaskStatus.SOURCE_EXECUTOR, uuid=uuid.uuid4().bytes)
        status.task_id.value = task_id
        status.executor_id.value = self.executor_id
        return status


async def test_executor_api_and_resubscribe(
    framework: RawFramework, mesos: LocalMesos, http: aiohttp.ClientSession
) -> None:
    await framework.subscribe(framework_info())
    offer = (await framework.wait_offers())[0]
    silent = sample_executor_info("manual", framework.content_type)
    silent.command.value = "exec sleep 60"  # never subscribes: the test is the executor
    await framework.call(launch_call(offer, "manual-task", silent))
    agent = next(a for a in mesos.agents if a.id == offer.agent_id.value)
    await _until(lambda: any(run.process is not None for run in agent.runs.values()))
    executor = ExecutorStream(
        http, agent.port, framework.framework_id or "", "manual", framework.content_type
    )
    try:
        update = executor.call(epb.Call.UPDATE)
        update.update.status.CopyFrom(executor.status("manual-task", mpb.TASK_RUNNING))
        assert (await executor.post(update))[0] == 403  # not subscribed yet
        assert (await executor.post(update, content_type="text/plain"))[0] == 415
        assert await executor.subscribe() == 200
        subscribed = await executor.wait(lambda e: e.type == epb.Event.SUBSCRIBED)
        assert subscribed.subscribed.framework_info.id.value == framework.framework_id
        assert subscribed.subscribed.agent_info.id == offer.agent_id
        assert subscribed.subscribed.container_id.value
        launch = await executor.wait(lambda e: e.type == epb.Event.LAUNCH)
        assert launch.launch.task.task_id.value == "manual-task"

        bad = executor.call(epb.Call.UPDATE)
        bad.update.status.CopyFrom(executor.status("manual-task", mpb.TASK_RUNNING))
        bad.update.status.uuid = b"not a uuid"
        assert (await executor.post(bad))[0] == 400
        staging = executor.call(epb.Call.UPDATE)
        staging.update.status.CopyFrom(executor.status("manual-task", mpb.TASK_STAGING))
        assert (await executor.post(staging))[0] == 400

        starting = executor.status("manual-task", mpb.TASK_STARTING)
        update = executor.call(epb.Call.UPDATE)
        update.update.status.CopyFrom(starting)
        assert await executor.post(update) == (202, b"")
        ack = await executor.wait(lambda e: e.type == epb.Event.ACKNOWLEDGED)
        assert ack.acknowledged.uuid == starting.uuid
        seen = await framework.wait_update("manual-task", mpb.TASK_STARTING)
        assert seen.uuid == starting.uuid

        # Reconnect: the known update is a duplicate, the new one is taken.
        await executor.close()
        running = executor.status("manual-task", mpb.TASK_RUNNING)
        executor.events.clear()
        assert await executor.subscribe([starting, running]) == 200
        await executor.wait(
            lambda e: e.type == epb.Event.ACKNOWLEDGED and e.acknowledged.uuid == running.uuid
        )
        await framework.acknowledge(seen)
        assert (await framework.wait_update("manual-task", mpb.TASK_RUNNING)).uuid == running.uuid
        assert len(agent.updates.pending(framework.framework_id or "", "manual-task")) == 1

        heartbeat = executor.call(epb.Call.HEARTBEAT)
        assert (await executor.post(heartbeat))[0] == 202
        unknown = ExecutorStream(
            http, agent.port, framework.framework_id or "", "nope", framework.content_type
        )
        assert (await unknown.post(unknown.call(epb.Call.MESSAGE)))[0] == 400
    finally:
        await executor.close()


async def test_stopped_agent_loses_tasks_and_rescinds_offers(
    framework: RawFramework, mesos: LocalMesos
) -> None:
    await framework.subscribe(framework_info())
    offers = await framework.wait_offers()
    await framework.call(launch_call(offers[0], "doomed", sample_executor_info("e", framework.content_type)))
    await framework.wait_update("doomed", mpb.TASK_STARTING)
    index = next(i for i, a in enumerate(mesos.agents) if a.id == offers[0].agent_id.value)
    other = offers[1]
    mark = len(framework.events)
    await mesos.stop_agent(index)
    lost = await framework.wait_update("doomed", mpb.TASK_LOST, after=mark)
    assert lost.reason == TaskStatus.REASON_AGENT_REMOVED and lost.source == TaskStatus.SOURCE_MASTER
    failure = await framework.wait_for(lambda e: e.type == Event.FAILURE, after=mark)
    assert failure.failure.agent_id == offers[0].agent_id and not failure.failure.HasField("executor_id")
    assert other.agent_id != offers[0].agent_id


async def test_heartbeats_every_interval(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    async with LocalMesos(fast_config(tmp_path, heartbeat_interval=0.2, agents=1)) as mesos:
        framework = RawFramework(mesos.master_url, codec.JSON, http)
        try:
            await framework.subscribe(framework_info())
            assert framework.events[0].subscribed.heartbeat_interval_seconds == 0.2
            await _until(lambda: sum(e.type == Event.HEARTBEAT for e in framework.events) >= 4)
        finally:
            await framework.close_stream()


async def test_update_framework(framework: RawFramework, mesos: LocalMesos) -> None:
    info = framework_info()
    await framework.subscribe(info)
    info.id.value = framework.framework_id or ""
    info.name = "renamed"
    call = Call(type=Call.UPDATE_FRAMEWORK)
    call.update_framework.framework_info.CopyFrom(info)
    response = await framework.call(call)
    assert response.status == 200
    assert mesos.master.frameworks[info.id.value].info.name == "renamed"
    info.user = "someone-else"
    call.update_framework.framework_info.CopyFrom(info)
    assert (await framework.call(call)).status == 400


async def test_state_has_the_captured_shape(
    framework: RawFramework, mesos: LocalMesos, http: aiohttp.ClientSession
) -> None:
    info = framework_info()
    info.role = "*"
    await framework.subscribe(info)
    offer = (await framework.wait_offers())[0]
    await framework.call(launch_call(offer, "state-task", sample_executor_info("e", framework.content_type)))
    await framework.acknowledge(await framework.wait_update("state-task", mpb.TASK_STARTING))
    await framework.wait_update("state-task", mpb.TASK_RUNNING)
    async with http.get(f"{mesos.master_url}/master/state") as response:
        assert response.headers["Content-Type"] == "application/json"
        ours: dict[str, Any] = await response.json()
    captured = json.loads(await asyncio.to_thread(CAPTURED_STATE.read_text))
    assert set(ours) == set(captured)
    assert set(ours["slaves"][0]) == set(captured["slaves"][0])
    ours_fw, captured_fw = ours["frameworks"][0], captured["frameworks"][0]
    assert set(ours_fw) == set(captured_fw)
    assert set(ours_fw["tasks"][0]) == set(captured_fw["tasks"][0])
    assert key_paths(ours_fw["tasks"][0]["statuses"]) == key_paths(captured_fw["tasks"][0]["statuses"])
    assert key_paths(ours_fw["executors"][0]) - {"command.uris[].value"} <= key_paths(
        captured_fw["executors"][0]
    )
    task = ours_fw["tasks"][0]
    assert task["state"] == "TASK_RUNNING" and task["resources"]["ports"] == "[31000-31000]"
    agent = next(s for s in ours["slaves"] if s["id"] == offer.agent_id.value)
    assert agent["used_resources"]["cpus"] == 0.2 and agent["used_resources"]["mem"] == 64.0


async def _until(predicate: Callable[[], bool], limit: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + limit
    while not predicate():
        assert loop.time() < end, "condition not met before the deadline"
        await asyncio.sleep(0.02)


async def test_master_failover_keeps_tasks_for_the_returning_framework(
    framework: RawFramework, mesos: LocalMesos
) -> None:
    await framework.subscribe(framework_info())
    offer = (await framework.wait_offers())[0]
    await framework.call(launch_call(offer, "survivor", sample_executor_info("e", framework.content_type)))
    await framework.acknowledge(await framework.wait_update("survivor", mpb.TASK_STARTING))
    await framework.acknowledge(await framework.wait_update("survivor", mpb.TASK_RUNNING))
    old_master_id, framework_id = mesos.master.id, framework.framework_id

    await mesos.restart_master()
    await asyncio.wait_for(framework.stream_ended.wait(), 10)
    assert mesos.master.id != old_master_id
    assert mesos.master.frameworks[framework_id or ""].recovered
    await framework.close_stream()
    framework.events.clear()
    await framework.subscribe(framework_info())
    subscribed = framework.events[0].subscribed
    assert subscribed.framework_id.value == framework_id
    assert subscribed.master_info.id == mesos.master.id
    offers = await framework.wait_offers()
    again = next(o for o in offers if o.agent_id == offer.agent_id)
    assert [e.value for e in again.executor_ids] == ["e"]
    assert next(r for r in again.resources if r.name == "cpus").scalar.value == 1.8
    reconcile = Call(type=Call.RECONCILE, reconcile=Call.Reconcile())
    mark = len(framework.events)
    await framework.call(reconcile)
    answer = await framework.wait_update("survivor", mpb.TASK_RUNNING, after=mark)
    assert answer.reason == TaskStatus.REASON_RECONCILIATION
    kill = Call(type=Call.KILL)
    kill.kill.task_id.value = "survivor"
    await framework.call(kill)
    await framework.wait_update("survivor", mpb.TASK_KILLED)


async def test_one_process_hosts_200_agents(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    async with LocalMesos(fast_config(tmp_path, agents=200)) as mesos:
        assert len({a.port for a in mesos.agents}) == 200
        framework = RawFramework(mesos.master_url, codec.JSON, http)
        try:
            await framework.subscribe(framework_info())
            offers = await framework.wait_offers()
            assert len(offers) == 200 and len({o.agent_id.value for o in offers}) == 200
            assert {o.url.address.port for o in offers} == {a.port for a in mesos.agents}
        finally:
            await framework.close_stream()


async def test_executor_missing_reregistration_after_agent_restart(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    async with LocalMesos(fast_config(tmp_path, agents=1, executor_reregistration_timeout=0.3)) as mesos:
        framework = RawFramework(mesos.master_url, codec.PROTOBUF, http)
        executor: ExecutorStream | None = None
        try:
            await framework.subscribe(framework_info())  # checkpoint=True
            offer = (await framework.wait_offers())[0]
            silent = sample_executor_info("manual", codec.PROTOBUF)
            silent.command.value = "exec sleep 60"
            await framework.call(launch_call(offer, "orphan", silent))
            agent = mesos.agents[0]
            await _until(lambda: any(run.process is not None for run in agent.runs.values()))
            executor = ExecutorStream(
                http, agent.port, framework.framework_id or "", "manual", codec.PROTOBUF
            )
            assert await executor.subscribe() == 200
            await executor.wait(lambda e: e.type == epb.Event.LAUNCH)
            await mesos.restart_agent(0)  # the test-executor never subscribes again
            lost = await framework.wait_update("orphan", mpb.TASK_LOST)
            assert lost.reason == TaskStatus.REASON_EXECUTOR_REREGISTRATION_TIMEOUT
            assert lost.source == TaskStatus.SOURCE_AGENT and len(lost.uuid) == 16
        finally:
            if executor is not None:
                await executor.close()
            await framework.close_stream()
