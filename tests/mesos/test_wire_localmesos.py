"""Cross-check: the wire layer's SchedulerSession against the project's local Mesos."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from kafka_mesos.mesos import calls, codec, errors
from kafka_mesos.mesos.pb import scheduler_pb2
from kafka_mesos.mesos.scheduler_session import SchedulerSession

from .test_wire_session import Recorder, framework_info

Event = scheduler_pb2.Event
pytestmark = pytest.mark.integration


@pytest.mark.parametrize("content_type", [codec.PROTOBUF, codec.JSON])
async def test_session_against_local_mesos(tmp_path: Path, content_type: str) -> None:
    from kafka_mesos.localmesos.cluster import LocalMesos
    from kafka_mesos.localmesos.config import LocalMesosConfig

    async with LocalMesos(LocalMesosConfig(agents=2, work_dir=tmp_path)) as local:
        recorder = Recorder()
        session = SchedulerSession(local.master_url, framework_info(), recorder, content_type=content_type)
        runner = asyncio.create_task(session.run())
        try:
            await recorder.wait_for(lambda: any(e.type == Event.OFFERS for e in recorder.events), deadline=30)
            offers = [o for e in recorder.events if e.type == Event.OFFERS for o in e.offers.offers]
            assert {o.framework_id.value for o in offers} == {session.framework_id}
            assert recorder.log[0] == f"subscribed:{session.framework_id}"
            await session.call(calls.decline([o.id.value for o in offers], refuse_seconds=3600))
            await session.call(calls.reconcile([("no-such-task", offers[0].agent_id.value)]))
            await recorder.wait_for(lambda: any(e.type == Event.UPDATE for e in recorder.events), deadline=30)
            update = next(e for e in recorder.events if e.type == Event.UPDATE).update.status
            assert update.task_id.value == "no-such-task" and not update.HasField("uuid")
            assert calls.acknowledge_status(update) is None
            # A call with a stale stream id is refused with the typed error.
            stale = scheduler_pb2.Call()
            stale.CopyFrom(calls.revive())
            with pytest.raises(errors.BadRequest):
                session.subscription.stream_id = "00000000-0000-0000-0000-000000000000"
                await session.call(stale)
            await session.stop()
            await asyncio.wait_for(runner, 10)
        finally:
            if not runner.done():
                runner.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await runner
