"""The capture scenario against a running local Mesos, in protobuf and in JSON."""

from __future__ import annotations

import asyncio

import aiohttp

from kafka_mesos.localmesos.cluster import LocalMesos
from kafka_mesos.mesos.pb import mesos_pb2 as mpb
from kafka_mesos.mesos.pb import scheduler_pb2 as spb
from tests.localmesos.client import Call, Event, RawFramework, framework_info
from tests.localmesos.conftest import launch_call, sample_executor_info

TaskStatus = mpb.TaskStatus


async def test_subscribe_gives_subscribed_heartbeat_offers(
    framework: RawFramework, mesos: LocalMesos
) -> None:
    await framework.subscribe(framework_info())
    offers = await framework.wait_offers()
    assert framework.subscribe_status == 200
    assert framework.subscribe_headers["Content-Type"] == framework.content_type
    assert framework.subscribe_headers["Transfer-Encoding"] == "chunked"
    assert "Content-Length" not in framework.subscribe_headers
    types = [e.type for e in framework.events]
    assert types[:2] == [Event.SUBSCRIBED, Event.HEARTBEAT]
    subscribed = framework.events[0].subscribed
    assert subscribed.framework_id.value == f"{mesos.master.id}-0000"
    assert subscribed.heartbeat_interval_seconds == 15.0
    assert subscribed.master_info.port == mesos.master.port
    assert subscribed.master_info.ip == 16777343
    assert {o.agent_id.value for o in offers} == {a.id for a in mesos.agents}
    offer = offers[0]
    assert offer.id.value.startswith(f"{mesos.master.id}-O")
    assert [r.name for r in offer.resources] == ["ports", "cpus", "mem", "disk"]
    assert all(r.role == "*" and not r.HasField("allocation_info") for r in offer.resources)
    assert offer.url.path == "/slave(1)" and offer.url.scheme == "http"
    assert [(a.name, a.text.value) for a in offer.attributes] == [("rack", "r0"), ("zone", "z0")] or (
        offer.agent_id.value.endswith("-S1")
    )


async def test_decline_filter_holds_offer_until_it_expires(framework: RawFramework) -> None:
    await framework.subscribe(framework_info())
    offers = await framework.wait_offers()
    declined = offers[0]
    mark = len(framework.events)
    loop = asyncio.get_running_loop()
    declined_at = loop.time()
    decline = Call(type=Call.DECLINE)
    decline.decline.offer_ids.add().CopyFrom(declined.id)
    decline.decline.filters.refuse_seconds = 1.5
    response = await framework.call(decline)
    assert (response.status, response.body) == (202, b"")
    assert "Content-Type" not in response.headers

    def same_agent(event: spb.Event) -> bool:
        return event.type == Event.OFFERS and any(
            o.agent_id == declined.agent_id for o in event.offers.offers
        )

    event = await framework.wait_for(same_agent, after=mark)
    assert loop.time() - declined_at >= 1.5
    again = next(o for o in event.offers.offers if o.agent_id == declined.agent_id)
    assert again.id != declined.id
    assert list(again.resources) == list(declined.resources)


async def test_task_lifecycle(
    framework: RawFramework, mesos: LocalMesos, http: aiohttp.ClientSession
) -> None:
    """Launch with a fetched custom executor, STARTING/RUNNING with data, one update in flight per
    task, MESSAGE both ways, reconciliation, KILL, failover and re-SUBSCRIBE, TEARDOWN."""
    await framework.subscribe(framework_info())
    offer = (await framework.wait_offers())[0]
    executor = sample_executor_info("exec-1", framework.content_type)
    response = await framework.call(launch_call(offer, "task-1", executor, data=b"host:31000"))
    assert response.status == 202

    starting = await framework.wait_update("task-1", mpb.TASK_STARTING)
    assert starting.source == TaskStatus.SOURCE_EXECUTOR
    assert starting.agent_id == offer.agent_id
    assert starting.executor_id.value == "exec-1"
    assert len(starting.uuid) == 16
    assert starting.container_status.container_id.value
    assert starting.container_status.executor_pid > 0
    assert starting.container_status.network_infos[0].ip_addresses[0].ip_address == "127.0.0.1"
    # RUNNING stays queued on the agent until STARTING is acknowledged.
    agent = next(a for a in mesos.agents if a.id == offer.agent_id.value)
    await _until(lambda: len(agent.updates.pending(framework.framework_id or "", "task-1")) == 2)
    assert not any(
        e.type == Event.UPDATE and e.update.status.state == mpb.TASK_RUNNING for e in framework.events
    )
    mark = len(framework.events)
    assert (await framework.acknowledge(starting)).status == 202
    running = await framework.wait_update("task-1", mpb.TASK_RUNNING, after=mark)
    assert running.data == b"host:31000"
    assert (await framework.acknowledge(running)).status == 202

    # MESSAGE both ways (bytes survive).
    message = Call(type=Call.MESSAGE)
    message.message.agent_id.CopyFrom(offer.agent_id)
    message.message.executor_id.value = "exec-1"
    message.message.data = b"hello \x00\xff\n"
    mark = len(framework.events)
    assert (await framework.call(message)).status == 202
    echo = await framework.wait_for(lambda e: e.type == Event.MESSAGE, after=mark)
    assert echo.message.data == b"echo:hello \x00\xff\n"
    assert echo.message.executor_id.value == "exec-1" and echo.message.agent_id == offer.agent_id

    # Reconciliation: explicit, implicit, unknown.
    for tasks, expected in (
        (
            [("task-1", offer.agent_id.value)],
            ("task-1", mpb.TASK_RUNNING, "Reconciliation: Latest task state"),
        ),
        ([], ("task-1", mpb.TASK_RUNNING, "Reconciliation: Latest task state")),
        (
            [("no-such-task", offer.agent_id.value)],
            ("no-such-task", mpb.TASK_LOST, "Reconciliation: Task is unknown to the agent"),
        ),
        ([("no-such-task", None)], ("no-such-task", mpb.TASK_LOST, "Reconciliation: Task is unknown")),
    ):
        reconcile = Call(type=Call.RECONCILE)
        reconcile.reconcile.SetInParent()
        for task_id, agent_id in tasks:
            item = reconcile.reconcile.tasks.add()
            item.task_id.value = task_id
            if agent_id:
                item.agent_id.value = agent_id
        mark = len(framework.events)
        assert (await framework.call(reconcile)).status == 202
        answer = await framework.wait_update(expected[0], expected[1], after=mark)
        assert answer.message == expected[2]
        assert answer.source == TaskStatus.SOURCE_MASTER
        assert answer.reason == TaskStatus.REASON_RECONCILIATION
        assert not answer.HasField("uuid") and not answer.HasField("data")
        if expected[1] == mpb.TASK_RUNNING:
            assert answer.executor_id.value == "exec-1"
            assert answer.container_status.container_id == running.container_status.container_id

    # KILL reaches the executor; its TASK_KILLED is withheld (no ACK) across a failover.
    kill = Call(type=Call.KILL)
    kill.kill.task_id.value = "task-1"
    kill.kill.agent_id.CopyFrom(offer.agent_id)
    mark = len(framework.events)
    assert (await framework.call(kill)).status == 202
    killed = await framework.wait_update("task-1", mpb.TASK_KILLED, after=mark)
    assert killed.message == "sample: killed on KILL"

    # The scheduler closes its stream: calls get 403 until it re-subscribes with its id.
    old_stream = framework.stream_id
    framework_id = framework.framework_id
    await framework.close_stream()
    revive = Call(type=Call.REVIVE)
    response = await _until_response(framework, revive, 403)
    assert response.body == b"Framework is not subscribed"
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"

    framework.events.clear()
    await framework.subscribe(framework_info())
    assert framework.framework_id == framework_id and framework.stream_id != old_stream
    resent = await framework.wait_update("task-1", mpb.TASK_KILLED)
    assert resent.uuid == killed.uuid
    assert (await framework.acknowledge(resent)).status == 202
    stale = await framework.post(
        _with_id(revive, framework_id), headers={**framework.headers(), "Mesos-Stream-Id": old_stream or ""}
    )
    assert stale.status == 400
    assert stale.body.decode() == (
        f"The stream ID '{old_stream}' included in this request didn't match the stream ID currently "
        f"associated with framework ID {framework_id}"
    )

    # TEARDOWN ends the stream; the framework is gone for good.
    teardown = Call(type=Call.TEARDOWN)
    assert (await framework.call(teardown)).status == 202
    await asyncio.wait_for(framework.stream_ended.wait(), 10)
    state = await _state(http, mesos)
    assert state["frameworks"] == [] and state["completed_frameworks"][0]["id"] == framework_id
    framework.events.clear()
    await framework.subscribe(framework_info())
    error = await framework.wait_for(lambda e: e.type == Event.ERROR)
    assert error.error.message == "Framework has been removed"


async def test_second_subscribe_fails_the_old_stream_over(
    mesos: LocalMesos, http: aiohttp.ClientSession, content_type: str
) -> None:
    first = RawFramework(mesos.master_url, content_type, http)
    second = RawFramework(mesos.master_url, content_type, http)
    try:
        await first.subscribe(framework_info())
        await second.subscribe(framework_info(), framework_id=first.framework_id)
        error = await first.wait_for(lambda e: e.type == Event.ERROR)
        assert error.error.message == "Framework failed over"
        await asyncio.wait_for(first.stream_ended.wait(), 10)
        assert second.framework_id == first.framework_id
    finally:
        await first.close_stream()
        await second.close_stream()


async def test_framework_removed_after_failover_timeout(
    framework: RawFramework, mesos: LocalMesos, http: aiohttp.ClientSession
) -> None:
    await framework.subscribe(framework_info(failover_timeout=0.5))
    offer = (await framework.wait_offers())[0]
    executor = sample_executor_info("exec-ft", framework.content_type)
    await framework.call(launch_call(offer, "task-ft", executor))
    await framework.wait_update("task-ft", mpb.TASK_STARTING)
    await framework.close_stream()
    await _until(lambda: not mesos.master.frameworks)
    state = await _state(http, mesos)
    completed = state["completed_frameworks"][0]
    assert completed["id"] == framework.framework_id
    assert [t["state"] for t in completed["completed_tasks"]] == ["TASK_KILLED"]
    agent = next(a for a in mesos.agents if a.id == offer.agent_id.value)
    await _until(lambda: not agent.runs)  # the executor got SHUTDOWN and exited
    framework.events.clear()
    await framework.subscribe(framework_info())
    error = await framework.wait_for(lambda e: e.type == Event.ERROR)
    assert error.error.message == "Framework has been removed"


async def test_executor_exit_fails_live_tasks(framework: RawFramework) -> None:
    await framework.subscribe(framework_info())
    offer = (await framework.wait_offers())[0]
    executor = sample_executor_info("exec-exit", framework.content_type)
    await framework.call(launch_call(offer, "task-exit", executor, data=b"exit"))
    for state in (mpb.TASK_STARTING, mpb.TASK_RUNNING):
        await framework.acknowledge(await framework.wait_update("task-exit", state))
    failed = await framework.wait_update("task-exit", mpb.TASK_FAILED)
    assert failed.source == TaskStatus.SOURCE_AGENT
    assert failed.reason == TaskStatus.REASON_EXECUTOR_TERMINATED
    assert len(failed.uuid) == 16
    failure = await framework.wait_for(lambda e: e.type == Event.FAILURE)
    assert failure.failure.executor_id.value == "exec-exit"
    assert failure.failure.status == 3 << 8


async def _state(http: aiohttp.ClientSession, mesos: LocalMesos) -> dict[str, object]:
    async with http.get(f"{mesos.master_url}/state") as response:
        assert response.status == 200
        return dict(await response.json())


async def _until(predicate: object, limit: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not predicate():  # type: ignore[operator]
        assert loop.time() < deadline, "condition not met before the deadline"
        await asyncio.sleep(0.02)


async def _until_response(framework: RawFramework, call: spb.Call, status: int) -> object:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while True:
        response = await framework.call(call)
        if response.status == status or loop.time() > deadline:
            return response
        await asyncio.sleep(0.02)


def _with_id(call: spb.Call, framework_id: str | None) -> spb.Call:
    call.framework_id.value = framework_id or ""
    return call
