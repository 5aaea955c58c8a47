"""The project's own scheduler session (kafka_mesos.mesos.scheduler_session) against the local
Mesos: subscribe, launch with the sample executor, acknowledge through the session, TEARDOWN."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from kafka_mesos.localmesos.cluster import LocalMesos
from kafka_mesos.mesos import calls, errors
from kafka_mesos.mesos.pb import mesos_pb2 as mpb
from kafka_mesos.mesos.pb import scheduler_pb2 as spb
from kafka_mesos.mesos.scheduler_session import SchedulerSession
from tests.localmesos.client import framework_info
from tests.localmesos.conftest import launch_call, sample_executor_info

Event = spb.Event


class Recorder:
    def __init__(self) -> None:
        self.subscribed: list[str] = []
        self.events: list[spb.Event] = []
        self.session: SchedulerSession | None = None

    async def on_subscribed(self, framework_id: str, master_info: mpb.MasterInfo | None) -> None:
        self.subscribed.append(framework_id)

    async def on_event(self, event: spb.Event) -> None:
        self.events.append(event)
        if event.type == Event.UPDATE and event.update.status.HasField("uuid") and self.session is not None:
            ack = calls.acknowledge_status(event.update.status)
            if ack is not None:
                await self.session.call(ack)

    async def on_disconnected(self, reason: errors.MesosError) -> None:
        pass


async def test_scheduler_session_round_trip(mesos: LocalMesos, content_type: str) -> None:
    recorder = Recorder()
    session = SchedulerSession(mesos.master_url, framework_info(), recorder, content_type=content_type)
    recorder.session = session
    runner = asyncio.create_task(session.run())
    try:
        await _until(lambda: any(e.type == Event.OFFERS for e in recorder.events))
        offer = next(e for e in recorder.events if e.type == Event.OFFERS).offers.offers[0]
        executor = sample_executor_info("session-exec", content_type)
        await session.call(launch_call(offer, "session-task", executor))
        await _until(lambda: _has_state(recorder, mpb.TASK_RUNNING))
        running = next(
            e.update.status
            for e in recorder.events
            if e.type == Event.UPDATE and e.update.status.state == mpb.TASK_RUNNING
        )
        assert running.data == b"task-data"
        # RUNNING was delivered, so the session's STARTING acknowledgement reached the agent.
        agent = next(a for a in mesos.agents if a.id == offer.agent_id.value)
        await _until(lambda: not agent.updates.pending(session.framework_id or "", "session-task"))
        framework_id = session.framework_id
        assert recorder.subscribed == [framework_id]
        assert mesos.master.frameworks[framework_id or ""].tasks["session-task"].state == mpb.TASK_RUNNING

        await session.call(calls.teardown())
        with contextlib.suppress(errors.MesosError):
            await asyncio.wait_for(runner, 30)
        assert framework_id not in mesos.master.frameworks
    finally:
        await session.stop()
        runner.cancel()
        with contextlib.suppress(BaseException):
            await runner


def _has_state(recorder: Recorder, state: mpb.TaskState) -> bool:
    return any(e.type == Event.UPDATE and e.update.status.state == state for e in recorder.events)


async def _until(predicate: Callable[[], bool], limit: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + limit
    while not predicate():
        assert loop.time() < end, "condition not met before the deadline"
        await asyncio.sleep(0.02)
