"""SchedulerSession against small aiohttp masters on loopback."""

from __future__ import annotations

import asyncio
import base64
import random
from collections.abc import AsyncIterator

import pytest

from kafka_mesos.mesos import calls, codec, errors
from kafka_mesos.mesos.pb import mesos_pb2, scheduler_pb2
from kafka_mesos.mesos.recordio import encode_record
from kafka_mesos.mesos.scheduler_session import SchedulerSession
from kafka_mesos.mesos.subscription import Backoff

from .fake_master import FakeMaster

Event = scheduler_pb2.Event
Call = scheduler_pb2.Call
FAST = Backoff(initial=0.01, maximum=0.05)


class Recorder:
    def __init__(self) -> None:
        self.log: list[str] = []
        self.events: list[scheduler_pb2.Event] = []
        self.disconnects: list[errors.MesosError] = []
        self.changed = asyncio.Event()

    def _bump(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()

    async def on_subscribed(self, framework_id: str, master_info: mesos_pb2.MasterInfo | None) -> None:
        self.log.append(f"subscribed:{framework_id}")
        self._bump()

    async def on_event(self, event: scheduler_pb2.Event) -> None:
        await asyncio.sleep(0)  # a handler that yields must still see events in order
        self.events.append(event)
        self.log.append(Event.Type.Name(event.type))
        self._bump()

    async def on_disconnected(self, reason: errors.MesosError) -> None:
        self.disconnects.append(reason)
        self.log.append(f"disconnected:{type(reason).__name__}")
        self._bump()

    async def wait_for(self, predicate: object, deadline: float = 10.0) -> None:
        async def loop() -> None:
            while not predicate():  # type: ignore[operator]
                await self.changed.wait()

        await asyncio.wait_for(loop(), deadline)


def framework_info(fid: str | None = None) -> mesos_pb2.FrameworkInfo:
    info = mesos_pb2.FrameworkInfo(user="kafka", name="kafka-mesos", failover_timeout=604800.0)
    if fid:
        info.id.value = fid
    return info


@pytest.fixture
async def fake_master() -> AsyncIterator[FakeMaster]:
    master = await FakeMaster().start()
    yield master
    await master.stop()


async def started(
    master: FakeMaster | str, recorder: Recorder, **kwargs: object
) -> tuple[SchedulerSession, asyncio.Task[None]]:
    url = master if isinstance(master, str) else master.base_url
    session = SchedulerSession(url, framework_info(), recorder, backoff=FAST, rng=random.Random(1), **kwargs)  # type: ignore[arg-type]
    return session, asyncio.create_task(session.run())


async def finish(session: SchedulerSession, runner: asyncio.Task[None]) -> None:
    await session.stop()
    await asyncio.wait_for(runner, 10)


@pytest.mark.parametrize("content_type", [codec.PROTOBUF, codec.JSON])
async def test_subscribe_stream_and_calls(fake_master: FakeMaster, content_type: str) -> None:
    def offers() -> list[scheduler_pb2.Event]:
        event = Event(type=Event.OFFERS)
        offer = event.offers.offers.add(hostname="h")
        offer.id.value, offer.framework_id.value, offer.agent_id.value = "O1", "fw-0000", "S0"
        return [event]

    fake_master.first_events = offers
    recorder = Recorder()
    session, runner = await started(fake_master, recorder, content_type=content_type)
    await recorder.wait_for(lambda: "OFFERS" in recorder.log)
    assert recorder.log == ["subscribed:fw-0000", "HEARTBEAT", "OFFERS"]
    assert session.connected and session.framework_id == "fw-0000"
    assert session.master_url == fake_master.base_url

    sub = fake_master.subscribes[0]
    assert sub.headers["Content-Type"] == content_type and sub.headers["Accept"] == content_type
    assert "Mesos-Stream-Id" not in sub.headers
    assert not sub.call.HasField("framework_id") and not sub.call.subscribe.framework_info.HasField("id")

    await session.call(calls.decline(["O1"], refuse_seconds=3600))
    got = fake_master.received[-1]
    assert got.headers["Mesos-Stream-Id"] == fake_master.stream_ids[-1] == session.stream_id
    assert got.headers["Content-Type"] == content_type
    assert got.call.framework_id.value == "fw-0000" and got.call.decline.filters.refuse_seconds == 3600
    await finish(session, runner)
    assert not session.connected


async def test_events_are_handled_in_order_and_nothing_is_acknowledged(fake_master: FakeMaster) -> None:
    recorder = Recorder()
    session, runner = await started(fake_master, recorder)
    await recorder.wait_for(lambda: session.connected)
    for n in range(5):
        update = Event(type=Event.UPDATE)
        status = update.update.status
        status.task_id.value, status.state, status.uuid = f"t{n}", mesos_pb2.TASK_RUNNING, bytes(16)
        status.agent_id.value = "S0"
        await fake_master.push(update)
    await recorder.wait_for(lambda: len([e for e in recorder.events if e.type == Event.UPDATE]) == 5)
    updates = [e.update.status.task_id.value for e in recorder.events if e.type == Event.UPDATE]
    assert updates == ["t0", "t1", "t2", "t3", "t4"]
    assert not [r for r in fake_master.received if r.call.type == Call.ACKNOWLEDGE]
    await finish(session, runner)


async def test_records_split_across_http_chunks(fake_master: FakeMaster) -> None:
    recorder = Recorder()
    session, runner = await started(fake_master, recorder)
    await recorder.wait_for(lambda: session.connected)
    message = Event(type=Event.MESSAGE)
    message.message.agent_id.value, message.message.executor_id.value = "S0", "e"
    message.message.data = b"\x00\n\xff" * 100
    stream = encode_record(codec.encode(message, codec.PROTOBUF)) * 2
    for i in range(0, len(stream), 7):
        await fake_master.push_raw(stream[i : i + 7])
    await recorder.wait_for(lambda: recorder.log.count("MESSAGE") == 2)
    assert all(e.message.data == message.message.data for e in recorder.events if e.type == Event.MESSAGE)
    await finish(session, runner)


async def test_heartbeats_keep_the_stream_alive(fake_master: FakeMaster) -> None:
    # Watchdog = 10 intervals (1 s): generous on a loaded machine. The stream lives through
    # 25 heartbeats (~2.5 watchdog periods), so each heartbeat must have reset the watchdog.
    fake_master.heartbeat_interval = 0.1
    recorder = Recorder()
    session, runner = await started(fake_master, recorder, missed_heartbeats=10)
    await recorder.wait_for(lambda: recorder.log.count("HEARTBEAT") >= 25)
    assert len(fake_master.subscribes) == 1 and recorder.disconnects == []
    await finish(session, runner)


async def test_redirect_to_leader_with_protocol_relative_location(fake_master: FakeMaster) -> None:
    standby = await FakeMaster(redirect_to=f"//127.0.0.1:{fake_master.port}").start()
    try:
        recorder = Recorder()
        session, runner = await started(standby, recorder)
        await recorder.wait_for(lambda: session.connected)
        assert session.master_url == fake_master.base_url
        assert len(standby.subscribes) == 1 and len(fake_master.subscribes) == 1
        await session.call(calls.revive())
        assert fake_master.received[-1].call.type == Call.REVIVE and not standby.received
        await finish(session, runner)
    finally:
        await standby.stop()


async def test_redirect_without_usable_location_backs_off_and_retries(fake_master: FakeMaster) -> None:
    fake_master.redirect_to = ""  # Location: /api/v1/scheduler (no host)
    recorder = Recorder()
    session, runner = await started(fake_master, recorder)
    await fake_master.wait_for(lambda: len(fake_master.subscribes) >= 3)
    assert not runner.done() and not session.connected
    fake_master.redirect_to = None
    await recorder.wait_for(lambda: session.connected)
    assert session.master_url == fake_master.base_url
    await finish(session, runner)


async def test_503_and_404_back_off_then_subscribe(fake_master: FakeMaster) -> None:
    fake_master.subscribe_statuses = [503, 404, 503]
    recorder = Recorder()
    session, runner = await started(fake_master, recorder)
    await recorder.wait_for(lambda: session.connected)
    assert len(fake_master.subscribes) == 4
    assert recorder.disconnects == []  # never was connected before
    await finish(session, runner)


async def test_connection_refused_is_retried(fake_master: FakeMaster) -> None:
    port = fake_master.port
    await fake_master.stop()
    recorder = Recorder()
    session, runner = await started(f"127.0.0.1:{port}", recorder)
    await asyncio.sleep(0)  # let it fail a few times against the closed port
    revived = FakeMaster()
    try:
        await asyncio.wait_for(_restart_on(revived, port), 10)
        await recorder.wait_for(lambda: session.connected)
        assert len(revived.subscribes) == 1
        await finish(session, runner)
    finally:
        await revived.stop()


async def _restart_on(master: FakeMaster, port: int) -> None:
    from aiohttp import web

    app = web.Application()
    app.router.add_post("/api/v1/scheduler", master._handle)
    master._runner = web.AppRunner(app, shutdown_timeout=0.1)
    await master._runner.setup()
    await web.TCPSite(master._runner, "127.0.0.1", port).start()
    master.port = port


@pytest.mark.parametrize(
    ("status", "error"), [(401, errors.Unauthorized), (400, errors.BadRequest), (403, errors.Forbidden)]
)
async def test_final_subscribe_errors_end_run(fake_master: FakeMaster, status: int, error: type) -> None:
    fake_master.subscribe_statuses = [status]
    _session, runner = await started(fake_master, Recorder())
    with pytest.raises(error):
        await asyncio.wait_for(runner, 10)
    assert len(fake_master.subscribes) == 1


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, errors.BadRequest),
        (403, errors.Forbidden),
        (409, errors.Conflict),
        (415, errors.UnsupportedMediaType),
        (429, errors.TooManyRequests),
        (503, errors.ServiceUnavailable),
    ],
)
async def test_call_status_mapping(fake_master: FakeMaster, status: int, error: type) -> None:
    recorder = Recorder()
    session, runner = await started(fake_master, recorder)
    await recorder.wait_for(lambda: session.connected)
    fake_master.call_status, fake_master.call_body = status, "nope"
    with pytest.raises(error) as raised:
        await session.call(calls.suppress())
    assert raised.value.http_status == status and raised.value.body == "nope"
    await finish(session, runner)


async def test_call_without_subscription_is_refused() -> None:
    session = SchedulerSession("127.0.0.1:1", framework_info(), Recorder())
    with pytest.raises(errors.NotSubscribed):
        await session.call(calls.revive())
    with pytest.raises(ValueError):
        await session.call(calls.subscribe(framework_info()))


async def test_silent_master_triggers_resubscribe_with_framework_id(fake_master: FakeMaster) -> None:
    fake_master.heartbeat_interval = 0.05
    fake_master.send_heartbeats = False
    recorder = Recorder()
    session, runner = await started(fake_master, recorder, missed_heartbeats=3)
    await recorder.wait_for(
        lambda: len(fake_master.subscribes) >= 2 and recorder.log.count("subscribed:fw-0000") >= 2
    )
    assert isinstance(recorder.disconnects[0], errors.HeartbeatTimeout)
    resubscribe = fake_master.subscribes[1].call
    assert resubscribe.framework_id.value == "fw-0000"
    assert resubscribe.subscribe.framework_info.id.value == "fw-0000"
    # Calls now carry the new stream's id.
    fake_master.heartbeat_interval = 15.0
    await session.call(calls.revive())
    assert fake_master.received[-1].headers["Mesos-Stream-Id"] == fake_master.stream_ids[-1]
    assert fake_master.stream_ids[0] != fake_master.stream_ids[-1]
    await finish(session, runner)


async def test_stream_end_resubscribes(fake_master: FakeMaster) -> None:
    recorder = Recorder()
    session, runner = await started(fake_master, recorder)
    await recorder.wait_for(lambda: session.connected)
    await fake_master.end_stream()
    await recorder.wait_for(lambda: recorder.log.count("subscribed:fw-0000") == 2)
    assert isinstance(recorder.disconnects[0], errors.StreamClosed)
    await finish(session, runner)


async def test_failed_over_error_event_stops(fake_master: FakeMaster) -> None:
    recorder = Recorder()
    session, runner = await started(fake_master, recorder)
    await recorder.wait_for(lambda: session.connected)
    error = Event(type=Event.ERROR)
    error.error.message = "Framework failed over"
    await fake_master.push(error)
    with pytest.raises(errors.FrameworkFailedOver):
        await asyncio.wait_for(runner, 10)
    assert len(fake_master.subscribes) == 1
    assert session.framework_id == "fw-0000"


async def test_removed_error_event_clears_framework_id(fake_master: FakeMaster) -> None:
    recorder = Recorder()
    session, runner = await started(fake_master, recorder)
    await recorder.wait_for(lambda: session.connected)
    error = Event(type=Event.ERROR)
    error.error.message = "Framework has been removed"
    await fake_master.push(error)
    with pytest.raises(errors.FrameworkRemoved):
        await asyncio.wait_for(runner, 10)
    assert session.framework_id is None


async def test_teardown_ends_run_when_stream_closes(fake_master: FakeMaster) -> None:
    recorder = Recorder()
    session, runner = await started(fake_master, recorder)
    await recorder.wait_for(lambda: session.connected)
    await session.call(calls.teardown())
    await fake_master.end_stream()
    await asyncio.wait_for(runner, 10)
    assert len(fake_master.subscribes) == 1


async def test_basic_auth_on_every_request(fake_master: FakeMaster) -> None:
    recorder = Recorder()
    session, runner = await started(fake_master, recorder, principal="kafka", secret="s3cret")
    await recorder.wait_for(lambda: session.connected)
    await session.call(calls.revive())
    expected = "Basic " + base64.b64encode(b"kafka:s3cret").decode()
    assert fake_master.subscribes[0].headers["Authorization"] == expected
    assert fake_master.received[-1].headers["Authorization"] == expected
    await finish(session, runner)


async def test_stop_from_inside_a_handler(fake_master: FakeMaster) -> None:
    class Stopper(Recorder):
        session: SchedulerSession

        async def on_subscribed(self, framework_id: str, master_info: mesos_pb2.MasterInfo | None) -> None:
            await super().on_subscribed(framework_id, master_info)
            await self.session.stop()

    recorder = Stopper()
    session = SchedulerSession(fake_master.base_url, framework_info(), recorder, backoff=FAST)
    recorder.session = session
    await asyncio.wait_for(session.run(), 10)
    assert recorder.log[0] == "subscribed:fw-0000"
