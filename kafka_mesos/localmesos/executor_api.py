"""The agent's `/api/v1/executor` endpoint (a mixin of `LocalAgent`): validation and status codes
as the Mesos agent has them, SUBSCRIBE streams, UPDATE, MESSAGE, HEARTBEAT."""

from __future__ import annotations

import asyncio

from aiohttp import web

from kafka_mesos.localmesos.config import LocalMesosConfig
from kafka_mesos.localmesos.executor_run import ExecutorRun, MasterLink
from kafka_mesos.localmesos.validation import is_valid_uuid
from kafka_mesos.localmesos.wire import (
    JSON,
    EventStream,
    HttpError,
    accepted,
    request_content_type,
    response_content_type,
)
from kafka_mesos.mesos import codec
from kafka_mesos.mesos.pb import executor_pb2 as epb
from kafka_mesos.mesos.pb import mesos_pb2 as mpb

TaskStatus = mpb.TaskStatus


class ExecutorApi:
    """Needs the agent's state and two of its methods (declared here, provided by `LocalAgent`)."""

    id: str
    config: LocalMesosConfig
    master: MasterLink
    runs: dict[tuple[str, str], ExecutorRun]

    def agent_info(self) -> mpb.AgentInfo:
        raise NotImplementedError

    def _executor_update(self, run: ExecutorRun, status: mpb.TaskStatus) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------------ /api/v1/executor

    async def _handle_executor_call(self, request: web.Request) -> web.StreamResponse:
        try:
            if request.method != "POST":
                raise HttpError(405, f"Expecting 'POST', received '{request.method}'")
            content_type = request_content_type(request)
            body = await request.read()
            try:
                call = codec.decode(body, content_type, epb.Call, require_initialized=True)
            except codec.CodecError as exc:
                kind = "JSON" if content_type == JSON else "protobuf"
                raise HttpError(400, f"Failed to parse body into Call {kind}: {exc}") from exc
            return await self._dispatch(request, call)
        except HttpError as error:
            return error.response()

    async def _dispatch(self, request: web.Request, call: epb.Call) -> web.StreamResponse:
        if not call.HasField("type") or call.type == epb.Call.UNKNOWN:
            raise HttpError(400, "Failed to validate executor::Call: Expecting 'type' to be present")
        if call.type == epb.Call.HEARTBEAT:
            return accepted()
        run = self.runs.get((call.framework_id.value, call.executor_id.value))
        if run is None:
            if not any(r.framework_id == call.framework_id.value for r in self.runs.values()):
                raise HttpError(400, "Framework cannot be found")
            raise HttpError(400, "Executor cannot be found")
        if call.type == epb.Call.SUBSCRIBE:
            if not call.HasField("subscribe"):
                raise HttpError(400, "Failed to validate executor::Call: Expecting 'subscribe' to be present")
            return await self._subscribe(request, run, call.subscribe)
        if not run.subscribed:
            raise HttpError(403, "Executor has not subscribed")
        if call.type == epb.Call.UPDATE:
            self._validate_update(call)
            self._executor_update(run, call.update.status)
            return accepted()
        if call.type == epb.Call.MESSAGE:
            if not call.HasField("message"):
                raise HttpError(400, "Failed to validate executor::Call: Expecting 'message' to be present")
            self.master.executor_message(self.id, run.framework_id, run.executor_id, call.message.data)
            return accepted()
        raise HttpError(501, "Unsupported executor call")

    @staticmethod
    def _validate_update(call: epb.Call) -> None:
        prefix = "Failed to validate executor::Call: "
        if not call.HasField("update"):
            raise HttpError(400, prefix + "Expecting 'update' to be present")
        status = call.update.status
        if not status.HasField("uuid") or not is_valid_uuid(status.uuid):
            raise HttpError(400, prefix + "'uuid' is not a valid UUID")
        if status.HasField("executor_id") and status.executor_id.value != call.executor_id.value:
            raise HttpError(400, prefix + "ExecutorID in Call does not match the one in TaskStatus")
        if status.source != TaskStatus.SOURCE_EXECUTOR:
            raise HttpError(400, prefix + "Received Call from executor with invalid source")
        if status.state == mpb.TASK_STAGING:
            raise HttpError(400, prefix + "Received TASK_STAGING from executor")

    async def _subscribe(
        self, request: web.Request, run: ExecutorRun, subscribe: epb.Call.Subscribe
    ) -> web.StreamResponse:
        if run.terminating:
            raise HttpError(400, "Executor is terminating")
        stream = EventStream(response_content_type(request))
        if run.stream is not None:
            run.stream.close()
        run.stream = stream
        run.subscribed = True
        for update in subscribe.unacknowledged_updates:
            status = mpb.TaskStatus()
            status.CopyFrom(update.status)
            if status.HasField("uuid"):
                self._executor_update(run, status)
        stream.send(self._subscribed_event(run))
        for task_id, task in list(run.queued.items()):
            run.launched[task_id] = run.queued.pop(task_id)
            stream.send(epb.Event(type=epb.Event.LAUNCH, launch=epb.Event.Launch(task=task)))
        try:
            return await stream.pump(request, {})
        except (asyncio.CancelledError, ConnectionError):
            if run.stream is stream:
                run.stream = None
            stream.close()
            raise

    def _subscribed_event(self, run: ExecutorRun) -> epb.Event:
        subscribed = epb.Event.Subscribed()
        subscribed.executor_info.CopyFrom(run.info)
        subscribed.framework_info.CopyFrom(run.framework_info)
        subscribed.agent_info.CopyFrom(self.agent_info())
        subscribed.container_id.value = run.container_id
        return epb.Event(type=epb.Event.SUBSCRIBED, subscribed=subscribed)
