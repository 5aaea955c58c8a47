"""A small raw test framework for the local Mesos: aiohttp + the project's codec and RecordIO.

Kept independent of the scheduler session on purpose: the tests check the master's wire
behaviour (headers, status codes, event order) directly."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp

from kafka_mesos.mesos import codec
from kafka_mesos.mesos.pb import mesos_pb2 as mpb
from kafka_mesos.mesos.pb import scheduler_pb2 as spb
from kafka_mesos.mesos.recordio import RecordIODecoder

Event = spb.Event
Call = spb.Call
DEADLINE = 20.0


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class RawFramework:
    base_url: str
    content_type: str
    session: aiohttp.ClientSession
    framework_id: str | None = None
    stream_id: str | None = None
    events: list[spb.Event] = field(default_factory=list)
    raw_events: list[bytes] = field(default_factory=list)
    subscribe_status: int = 0
    subscribe_headers: dict[str, str] = field(default_factory=dict)
    stream_ended: asyncio.Event = field(default_factory=asyncio.Event)
    _reader: asyncio.Task[None] | None = None
    _response: aiohttp.ClientResponse | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"{self.base_url}/api/v1/scheduler"

    def headers(self, with_stream: bool = True) -> dict[str, str]:
        headers = {"Content-Type": self.content_type, "Accept": self.content_type}
        if with_stream and self.stream_id is not None:
            headers["Mesos-Stream-Id"] = self.stream_id
        return headers

    async def subscribe(self, info: mpb.FrameworkInfo, *, framework_id: str | None = None) -> None:
        call = Call(type=Call.SUBSCRIBE)
        call.subscribe.framework_info.CopyFrom(info)
        fid = framework_id or self.framework_id
        if fid is not None:
            call.framework_id.value = fid
            call.subscribe.framework_info.id.value = fid
        self.stream_ended = asyncio.Event()
        response = await self.session.post(
            self.url,
            data=codec.encode(call, self.content_type),
            headers=self.headers(with_stream=False),
            timeout=aiohttp.ClientTimeout(total=None, sock_read=None),
        )
        self._response = response
        self.subscribe_status = response.status
        self.subscribe_headers = dict(response.headers)
        if response.status == 200:
            self.stream_id = response.headers["Mesos-Stream-Id"]
            self._reader = asyncio.create_task(self._read(response))
            subscribed = await self.wait_for(lambda e: e.type in (Event.SUBSCRIBED, Event.ERROR))
            if subscribed.type == Event.SUBSCRIBED:
                self.framework_id = subscribed.subscribed.framework_id.value

    async def _read(self, response: aiohttp.ClientResponse) -> None:
        decoder = RecordIODecoder()
        event_type = response.headers["Content-Type"]
        try:
            async for chunk in response.content.iter_any():
                for record in decoder.feed(chunk):
                    self.raw_events.append(record)
                    self.events.append(codec.decode(record, event_type, Event))
                    self._changed.set()
        except (aiohttp.ClientError, asyncio.CancelledError):
            pass
        finally:
            self.stream_ended.set()
            self._changed.set()

    async def close_stream(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        if self._response is not None:
            self._response.close()
            self._response = None

    async def post(self, call: spb.Call | bytes, headers: dict[str, str] | None = None) -> Response:
        body = call if isinstance(call, bytes) else codec.encode(call, self.content_type)
        headers = headers or self.headers()
        skip = () if "Content-Type" in headers else ("Content-Type",)
        async with self.session.post(
            self.url, data=body, headers=headers, skip_auto_headers=skip
        ) as response:
            return Response(response.status, dict(response.headers), await response.read())

    async def call(self, call: spb.Call) -> Response:
        if self.framework_id is not None and not call.HasField("framework_id"):
            call.framework_id.value = self.framework_id
        return await self.post(call)

    async def wait_for(
        self, predicate: Callable[[spb.Event], bool], *, after: int = 0, deadline: float = DEADLINE
    ) -> spb.Event:
        """The first event at index >= `after` matching; polls on a change signal until a deadline."""
        loop = asyncio.get_running_loop()
        end = loop.time() + deadline
        while True:
            for event in self.events[after:]:
                if predicate(event):
                    return event
            remaining = end - loop.time()
            if remaining <= 0:
                types = [Event.Type.Name(e.type) for e in self.events[after:]]
                raise AssertionError(f"no matching event within {deadline}s; saw {types}")
            self._changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.5))

    async def wait_update(
        self, task_id: str, state: int, *, after: int = 0, deadline: float = DEADLINE
    ) -> mpb.TaskStatus:
        event = await self.wait_for(
            lambda e: (
                e.type == Event.UPDATE
                and e.update.status.task_id.value == task_id
                and e.update.status.state == state
            ),
            after=after,
            deadline=deadline,
        )
        return event.update.status

    async def acknowledge(self, status: mpb.TaskStatus) -> Response:
        call = Call(type=Call.ACKNOWLEDGE)
        call.acknowledge.agent_id.CopyFrom(status.agent_id)
        call.acknowledge.task_id.CopyFrom(status.task_id)
        call.acknowledge.uuid = status.uuid
        return await self.call(call)

    async def wait_offers(self, *, after: int = 0, deadline: float = DEADLINE) -> list[mpb.Offer]:
        event = await self.wait_for(lambda e: e.type == Event.OFFERS, after=after, deadline=deadline)
        return list(event.offers.offers)


def framework_info(
    name: str = "local-mesos-test", *, failover_timeout: float = 60.0, capabilities: tuple[str, ...] = ()
) -> mpb.FrameworkInfo:
    info = mpb.FrameworkInfo(user="nobody", name=name, failover_timeout=failover_timeout, checkpoint=True)
    for capability in capabilities:
        info.capabilities.add(type=mpb.FrameworkInfo.Capability.Type.Value(capability))
    return info
