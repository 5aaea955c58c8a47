"""A test double of a Mesos agent's executor endpoint (aiohttp, tests only).

It speaks ``/api/v1/executor`` like the real agent: SUBSCRIBE answers a RecordIO event stream in the
requested type, UPDATE and MESSAGE answer 202. Tests push events, read the calls received, drop the stream
(agent restart) and choose whether UPDATEs are acknowledged at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

from kafka_mesos.mesos import codec, recordio
from kafka_mesos.mesos.pb import executor_pb2, mesos_pb2


@dataclass
class Stream:
    response: web.StreamResponse
    content_type: str
    queue: asyncio.Queue[executor_pb2.Event | None] = field(default_factory=asyncio.Queue)


class AgentDouble:
    def __init__(self, auto_ack: bool = True) -> None:
        self.auto_ack = auto_ack
        self.calls: list[executor_pb2.Call] = []
        self.headers: list[dict[str, str]] = []
        self.stream: Stream | None = None
        self.accepting = True
        self.changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self, port: int = 0) -> None:
        app = web.Application()
        app.router.add_post("/api/v1/executor", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        await self.drop_stream()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    # -- what tests use ------------------------------------------------------------------------------------

    def calls_of(self, call_type: int) -> list[executor_pb2.Call]:
        return [call for call in self.calls if call.type == call_type]

    def updates(self) -> list[mesos_pb2.TaskStatus]:
        return [call.update.status for call in self.calls_of(executor_pb2.Call.UPDATE)]

    def states(self) -> list[str]:
        return [mesos_pb2.TaskState.Name(status.state) for status in self.updates()]

    async def wait_for(self, predicate: Callable[[], bool], within: float = 20.0) -> None:
        async with asyncio.timeout(within):
            async with self.changed:
                await self.changed.wait_for(predicate)

    async def send(self, event: executor_pb2.Event) -> None:
        assert self.stream is not None, "no executor is subscribed"
        await self.stream.queue.put(event)

    async def launch(self, task: mesos_pb2.TaskInfo) -> None:
        event = executor_pb2.Event(type=executor_pb2.Event.LAUNCH)
        event.launch.task.CopyFrom(task)
        await self.send(event)

    async def kill(self, task_id: str) -> None:
        event = executor_pb2.Event(type=executor_pb2.Event.KILL)
        event.kill.task_id.value = task_id
        await self.send(event)

    async def message(self, data: bytes) -> None:
        event = executor_pb2.Event(type=executor_pb2.Event.MESSAGE)
        event.message.data = data
        await self.send(event)

    async def shutdown(self) -> None:
        await self.send(executor_pb2.Event(type=executor_pb2.Event.SHUTDOWN))

    async def acknowledge(self, status: mesos_pb2.TaskStatus) -> None:
        event = executor_pb2.Event(type=executor_pb2.Event.ACKNOWLEDGED)
        event.acknowledged.task_id.CopyFrom(status.task_id)
        event.acknowledged.uuid = status.uuid
        await self.send(event)

    async def drop_stream(self) -> None:
        """End the current event stream, as an agent restart does."""
        if self.stream is not None:
            await self.stream.queue.put(None)
            self.stream = None

    # -- the endpoint ------------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        content_type = request.headers.get("Content-Type", "")
        if content_type not in (codec.PROTOBUF, codec.JSON):
            return web.Response(status=415, text="Expecting 'Content-Type' of application/json or protobuf")
        if not self.accepting:
            return web.Response(status=503, text="Agent has not finished recovery")
        call = codec.decode(await request.read(), content_type, executor_pb2.Call)
        self.headers.append(dict(request.headers))
        async with self.changed:
            self.calls.append(call)
            self.changed.notify_all()
        if call.type == executor_pb2.Call.SUBSCRIBE:
            return await self._subscribe(request, call)
        if call.type == executor_pb2.Call.UPDATE and self.auto_ack and self.stream is not None:
            await self.acknowledge(call.update.status)
        return web.Response(status=202)

    async def _subscribe(self, request: web.Request, call: executor_pb2.Call) -> web.StreamResponse:
        accept = request.headers.get("Accept", "")
        event_type = codec.PROTOBUF if accept == codec.PROTOBUF else codec.JSON
        await self.drop_stream()
        response = web.StreamResponse(status=200, headers={"Content-Type": event_type})
        response.enable_chunked_encoding()
        await response.prepare(request)
        stream = Stream(response, event_type)
        self.stream = stream
        subscribed = executor_pb2.Event(type=executor_pb2.Event.SUBSCRIBED)
        info = subscribed.subscribed
        info.executor_info.executor_id.CopyFrom(call.executor_id)
        info.executor_info.type = mesos_pb2.ExecutorInfo.CUSTOM
        info.executor_info.command.value = "python3 executor.pyz"
        info.framework_info.user = "test"
        info.framework_info.name = "kafka"
        info.framework_info.id.CopyFrom(call.framework_id)
        info.agent_info.hostname = "127.0.0.1"
        info.agent_info.id.value = "agent-double-S0"
        await stream.queue.put(subscribed)
        with contextlib.suppress(ConnectionResetError, asyncio.CancelledError):
            while (event := await stream.queue.get()) is not None:
                await response.write(recordio.encode_record(codec.encode(event, event_type)))
        with contextlib.suppress(ConnectionResetError):
            await response.write_eof()
        return response
