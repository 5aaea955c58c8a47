"""A scriptable stand-in for a Mesos master's /api/v1/scheduler, for session tests only.

It speaks just enough of the protocol (SUBSCRIBE stream with RecordIO events, 202 for
calls, stream-id checks) and lets a test script status codes, redirects and silence.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

from kafka_mesos.mesos import codec
from kafka_mesos.mesos.pb import scheduler_pb2
from kafka_mesos.mesos.recordio import encode_record

Event = scheduler_pb2.Event
Call = scheduler_pb2.Call


@dataclass
class Received:
    call: scheduler_pb2.Call
    headers: dict[str, str]


@dataclass
class FakeMaster:
    framework_id: str = "fw-0000"
    heartbeat_interval: float = 15.0
    send_heartbeats: bool = True
    # Status codes answered to the next SUBSCRIBE requests (popped); None = serve the stream.
    subscribe_statuses: list[int] = field(default_factory=list)
    redirect_to: str | None = None  # "//host:port" answered with 307 to every SUBSCRIBE
    call_status: int = 202
    call_body: str = ""
    first_events: Callable[[], list[scheduler_pb2.Event]] | None = None
    received: list[Received] = field(default_factory=list)
    subscribes: list[Received] = field(default_factory=list)
    stream_ids: list[str] = field(default_factory=list)
    streams: list[web.StreamResponse] = field(default_factory=list)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    port: int = 0
    _runner: web.AppRunner | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    ended: set[int] = field(default_factory=set)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> FakeMaster:
        app = web.Application()
        app.router.add_post("/api/v1/scheduler", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        if self._runner is not None:
            await self._runner.cleanup()

    async def _notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    async def wait_for(self, predicate: Callable[[], bool], deadline: float = 10.0) -> None:
        async def waiter() -> None:
            async with self.changed:
                await self.changed.wait_for(predicate)

        await asyncio.wait_for(waiter(), deadline)

    async def push(self, event: scheduler_pb2.Event, stream: int = -1) -> None:
        response = self.streams[stream]
        content_type = response.headers["Content-Type"]
        await response.write(encode_record(codec.encode(event, content_type, emit_defaults=True)))

    async def push_raw(self, data: bytes, stream: int = -1) -> None:
        await self.streams[stream].write(data)

    async def end_stream(self, stream: int = -1) -> None:
        response = self.streams[stream]
        self.ended.add(id(response))
        await response.write_eof()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        content_type = request.headers.get("Content-Type", "")
        if content_type not in codec.CONTENT_TYPES:
            return web.Response(status=415, text="Expecting 'Content-Type' of application/json or protobuf")
        call = codec.decode(await request.read(), content_type, Call)
        received = Received(call, dict(request.headers))
        if call.type == Call.SUBSCRIBE:
            self.subscribes.append(received)
            await self._notify()
            return await self._subscribe(request, call)
        self.received.append(received)
        await self._notify()
        stream_id = request.headers.get("Mesos-Stream-Id")
        if not self.stream_ids or stream_id != self.stream_ids[-1]:
            return web.Response(status=400, text="The stream ID included in this request didn't match")
        if self.call_status != 202:
            return web.Response(status=self.call_status, text=self.call_body)
        return web.Response(status=202)

    async def _subscribe(self, request: web.Request, call: scheduler_pb2.Call) -> web.StreamResponse:
        if self.redirect_to is not None:
            return web.Response(status=307, headers={"Location": f"{self.redirect_to}/api/v1/scheduler"})
        if self.subscribe_statuses:
            return web.Response(status=self.subscribe_statuses.pop(0), text="scripted failure")
        accept = request.headers.get("Accept", "")
        event_type = codec.PROTOBUF if accept == codec.PROTOBUF else codec.JSON
        stream_id = str(uuid.uuid4())
        self.stream_ids.append(stream_id)
        response = web.StreamResponse(
            status=200, headers={"Content-Type": event_type, "Mesos-Stream-Id": stream_id}
        )
        response.enable_chunked_encoding()
        await response.prepare(request)
        self.streams.append(response)
        subscribed = Event(type=Event.SUBSCRIBED)
        subscribed.subscribed.framework_id.value = self.framework_id
        subscribed.subscribed.heartbeat_interval_seconds = self.heartbeat_interval
        subscribed.subscribed.master_info.id = "master-1"
        subscribed.subscribed.master_info.ip = 16777343
        subscribed.subscribed.master_info.port = self.port
        events = [subscribed, Event(type=Event.HEARTBEAT)]
        if self.first_events is not None:
            events += self.first_events()
        for event in events:
            await response.write(encode_record(codec.encode(event, event_type, emit_defaults=True)))
        await self._notify()
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)  # type: ignore[arg-type]
        try:
            while id(response) not in self.ended:
                await asyncio.sleep(self.heartbeat_interval)
                if self.send_heartbeats and id(response) not in self.ended:
                    await response.write(encode_record(codec.encode(Event(type=Event.HEARTBEAT), event_type)))
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(task)  # type: ignore[arg-type]
        return response
