"""The master's HTTP endpoints: `/api/v1/scheduler` (status codes and error texts as recorded from
Mesos 1.12), `/state`, `/health`, `/redirect`."""

from __future__ import annotations

import asyncio
import uuid

from aiohttp import web

from kafka_mesos.localmesos.master import Master
from kafka_mesos.localmesos.state_json import master_state
from kafka_mesos.localmesos.validation import CallInvalid, validate_scheduler_call
from kafka_mesos.localmesos.wire import (
    JSON,
    MAX_REQUEST_BYTES,
    EventStream,
    HttpError,
    accepted,
    request_content_type,
    response_content_type,
)
from kafka_mesos.mesos import codec
from kafka_mesos.mesos.pb import scheduler_pb2 as spb

Call = spb.Call
STREAM_ID_HEADER = "Mesos-Stream-Id"


def build_app(master: Master) -> web.Application:
    api = SchedulerApi(master)
    app = web.Application(client_max_size=MAX_REQUEST_BYTES)
    for path in ("/api/v1/scheduler", "/master/api/v1/scheduler"):
        app.router.add_route("*", path, api.handle)
    for path in ("/state", "/master/state", "/state.json", "/master/state.json"):
        app.router.add_get(path, api.state)
    for path in ("/health", "/master/health"):
        app.router.add_get(path, api.health)
    for path in ("/redirect", "/master/redirect"):
        app.router.add_get(path, api.redirect)
    return app


class SchedulerApi:
    def __init__(self, master: Master) -> None:
        self.master = master

    async def state(self, request: web.Request) -> web.Response:
        body = codec.json_dumps(master_state(self.master)).encode()
        return web.Response(body=body, headers={"Content-Type": JSON})

    async def health(self, request: web.Request) -> web.Response:
        return web.Response(status=200)

    async def redirect(self, request: web.Request) -> web.Response:
        location = f"//{self.master.config.hostname}:{self.master.port}"
        return web.Response(status=307, headers={"Location": location})

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            if request.method != "POST":
                raise HttpError(405, f"Expecting 'POST', received '{request.method}'")
            content_type = request_content_type(request)
            call = self._parse(await request.read(), content_type)
            if call.type == Call.SUBSCRIBE:
                if STREAM_ID_HEADER in request.headers:
                    raise HttpError(400, "Subscribe calls should not include the 'Mesos-Stream-Id' header")
                return await self._subscribe(request, call, response_content_type(request))
            return self._call(request, call)
        except HttpError as error:
            return error.response()

    @staticmethod
    def _parse(body: bytes, content_type: str) -> spb.Call:
        try:
            call = codec.decode(body, content_type, Call, require_initialized=True)
        except codec.CodecError as exc:
            kind = "JSON" if content_type == JSON else "protobuf"
            raise HttpError(400, f"Failed to parse body into Call {kind}: {exc}") from exc
        try:
            validate_scheduler_call(call)
        except CallInvalid as exc:
            raise HttpError(400, f"Failed to validate scheduler::Call: {exc}") from exc
        if call.type == Call.UNKNOWN:
            raise HttpError(501, "Received an unexpected 'UNKNOWN' call")
        return call

    async def _subscribe(self, request: web.Request, call: spb.Call, content_type: str) -> web.StreamResponse:
        stream = EventStream(content_type)
        stream_id = str(uuid.uuid4())
        self.master.subscribe(call, stream, stream_id)
        try:
            return await stream.pump(request, {STREAM_ID_HEADER: stream_id})
        except (asyncio.CancelledError, ConnectionError):
            stream.close()
            self.master.stream_closed(stream)
            raise

    def _call(self, request: web.Request, call: spb.Call) -> web.Response:
        framework = self.master.frameworks.get(call.framework_id.value)
        if framework is None:
            raise HttpError(400, "Framework cannot be found")
        if not framework.connected:
            raise HttpError(403, "Framework is not subscribed")
        stream_id = request.headers.get(STREAM_ID_HEADER)
        if stream_id is None:
            raise HttpError(400, "All non-subscribe calls should include the 'Mesos-Stream-Id' header")
        if stream_id != framework.stream_id:
            raise HttpError(
                400,
                f"The stream ID '{stream_id}' included in this request didn't match the stream ID "
                f"currently associated with framework ID {framework.id}",
            )
        master = self.master
        kind = call.type
        if kind == Call.TEARDOWN:
            master.remove_framework(framework.id)
        elif kind == Call.ACCEPT:
            master.accept(framework, call.accept)
        elif kind == Call.DECLINE:
            master.decline(framework, call.decline)
        elif kind == Call.REVIVE:
            master.revive(framework, list(call.revive.roles))
        elif kind == Call.SUPPRESS:
            master.suppress(framework, list(call.suppress.roles))
        elif kind == Call.KILL:
            master.kill(framework, call.kill)
        elif kind == Call.SHUTDOWN:
            master.shutdown(framework, call.shutdown)
        elif kind == Call.ACKNOWLEDGE:
            master.acknowledge(framework, call.acknowledge)
        elif kind == Call.RECONCILE:
            master.reconcile(framework, call.reconcile)
        elif kind == Call.MESSAGE:
            master.message(framework, call.message)
        elif kind == Call.UPDATE_FRAMEWORK:
            problem = master.update_framework(framework, call.update_framework)
            if problem is not None:
                raise HttpError(400, problem)
            return web.Response(status=200)
        return accepted()
