"""The executor side of the Mesos v1 executor API (``/api/v1/executor``), stdlib asyncio only.

Sans-IO parts (:func:`parse_duration`, :class:`ExecutorEnv`, :class:`UpdateBook`) hold the rules; the
:class:`ExecutorSession` moves bytes: SUBSCRIBE as a streaming POST read as RecordIO, every other call on its
own connection. Unacknowledged updates and tasks are kept until ACKNOWLEDGED and re-sent in SUBSCRIBE after a
reconnect. When the agent goes away the session ends at once (no checkpointing) or retries SUBSCRIBE at random
intervals in ``[0, MESOS_SUBSCRIPTION_BACKOFF_MAX]`` until ``MESOS_RECOVERY_TIMEOUT`` (checkpointing).
Event handlers are awaited in order on the stream's task, so they must return quickly: long work (stopping a
broker) belongs in tasks the handler starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from kafka_mesos.mesos import codec, recordio, stdhttp
from kafka_mesos.mesos.pb import executor_pb2, mesos_pb2

log = logging.getLogger(__name__)

EXECUTOR_API_PATH = "/api/v1/executor"
PROTOBUF = "application/x-protobuf"
JSON = "application/json"

DEFAULT_RECOVERY_TIMEOUT = 15 * 60.0
DEFAULT_SUBSCRIPTION_BACKOFF_MAX = 2.0
DEFAULT_SHUTDOWN_GRACE_PERIOD = 5.0

_DURATION = re.compile(r"^\s*(?P<number>[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(?P<unit>[a-z]+)\s*$")
_UNIT_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "ms": 1e-3,
    "secs": 1.0,
    "mins": 60.0,
    "hrs": 3600.0,
    "days": 86400.0,
    "weeks": 604800.0,
}


def parse_duration(text: str) -> float:
    """A Mesos duration (``15mins``, ``2secs``, ``1500ms``, ``2.5secs``) in seconds."""
    match = _DURATION.match(text)
    if not match or match.group("unit") not in _UNIT_SECONDS:
        raise ValueError(f"not a Mesos duration: {text!r} (expected e.g. 5secs, 1500ms, 15mins)")
    return float(match.group("number")) * _UNIT_SECONDS[match.group("unit")]


class ExecutorEnvError(ValueError):
    pass


@dataclass(frozen=True)
class ExecutorEnv:
    """The ``MESOS_*`` environment an agent gives an executor it starts."""

    framework_id: str
    executor_id: str
    agent_host: str
    agent_port: int
    directory: str
    sandbox: str
    checkpoint: bool
    recovery_timeout: float = DEFAULT_RECOVERY_TIMEOUT
    subscription_backoff_max: float = DEFAULT_SUBSCRIPTION_BACKOFF_MAX
    shutdown_grace_period: float = DEFAULT_SHUTDOWN_GRACE_PERIOD
    auth_token: str | None = None
    agent_id: str | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ExecutorEnv:
        def required(name: str) -> str:
            value = environ.get(name, "")
            if not value:
                raise ExecutorEnvError(f"{name} is not set: this program is started by a Mesos agent")
            return value

        def duration(name: str, default: float) -> float:
            text = environ.get(name)
            if not text:
                return default
            try:
                return parse_duration(text)
            except ValueError as exc:
                raise ExecutorEnvError(f"{name}: {exc}") from exc

        host, port = split_endpoint(required("MESOS_AGENT_ENDPOINT"))
        directory = environ.get("MESOS_DIRECTORY") or environ.get("MESOS_SANDBOX") or "."
        checkpoint_text = environ.get("MESOS_CHECKPOINT", "0")
        if checkpoint_text not in ("0", "1"):
            raise ExecutorEnvError(f"MESOS_CHECKPOINT must be 1 or 0, not {checkpoint_text!r}")
        return cls(
            framework_id=required("MESOS_FRAMEWORK_ID"),
            executor_id=required("MESOS_EXECUTOR_ID"),
            agent_host=host,
            agent_port=port,
            directory=directory,
            sandbox=environ.get("MESOS_SANDBOX") or directory,
            checkpoint=checkpoint_text == "1",
            recovery_timeout=duration("MESOS_RECOVERY_TIMEOUT", DEFAULT_RECOVERY_TIMEOUT),
            subscription_backoff_max=duration(
                "MESOS_SUBSCRIPTION_BACKOFF_MAX", DEFAULT_SUBSCRIPTION_BACKOFF_MAX
            ),
            shutdown_grace_period=duration(
                "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", DEFAULT_SHUTDOWN_GRACE_PERIOD
            ),
            auth_token=environ.get("MESOS_EXECUTOR_AUTHENTICATION_TOKEN") or None,
            agent_id=environ.get("MESOS_SLAVE_ID") or environ.get("MESOS_AGENT_ID") or None,
        )


def split_endpoint(endpoint: str) -> tuple[str, int]:
    """``ip:port`` or ``[v6]:port`` → (host, port)."""
    host, sep, port_text = endpoint.rpartition(":")
    if not sep or not host or not port_text.isdigit():
        raise ExecutorEnvError(f"MESOS_AGENT_ENDPOINT must be host:port, not {endpoint!r}")
    return host.strip("[]"), int(port_text)


def new_status_uuid() -> bytes:
    """16 raw bytes of a random (version 4) UUID, as the agent validates."""
    return uuid.uuid4().bytes


class UpdateBook:
    """What the agent has not acknowledged yet, and the calls that carry it. Pure: no I/O, no clock."""

    def __init__(self, framework_id: str, executor_id: str) -> None:
        self.framework_id = framework_id
        self.executor_id = executor_id
        self.unacknowledged_updates: dict[bytes, executor_pb2.Call.Update] = {}
        self.unacknowledged_tasks: dict[str, mesos_pb2.TaskInfo] = {}

    def _call(self, call_type: int) -> executor_pb2.Call:
        call = executor_pb2.Call()
        call.framework_id.value = self.framework_id
        call.executor_id.value = self.executor_id
        call.type = call_type  # type: ignore[assignment]
        return call

    def launched(self, task: mesos_pb2.TaskInfo) -> None:
        self.unacknowledged_tasks[task.task_id.value] = task

    def update_call(
        self, status: mesos_pb2.TaskStatus, status_uuid: bytes, timestamp: float
    ) -> executor_pb2.Call:
        """The UPDATE call for ``status`` (uuid, source, executor id, timestamp filled) and remember it."""
        call = self._call(executor_pb2.Call.UPDATE)
        call.update.status.CopyFrom(status)
        filled = call.update.status
        filled.uuid = status_uuid
        filled.source = mesos_pb2.TaskStatus.SOURCE_EXECUTOR
        filled.executor_id.value = self.executor_id
        if not filled.HasField("timestamp"):
            filled.timestamp = timestamp
        update = executor_pb2.Call.Update()
        update.CopyFrom(call.update)
        self.unacknowledged_updates[status_uuid] = update
        return call

    def acknowledged(self, task_id: str, status_uuid: bytes) -> mesos_pb2.TaskStatus | None:
        """Forget the acknowledged update; returns its status (``None`` if it was not ours)."""
        update = self.unacknowledged_updates.pop(status_uuid, None)
        if update is None:
            return None
        self.unacknowledged_tasks.pop(task_id, None)
        return update.status

    def is_pending(self, task_id: str) -> bool:
        return any(update.status.task_id.value == task_id for update in self.unacknowledged_updates.values())

    def subscribe_call(self) -> executor_pb2.Call:
        call = self._call(executor_pb2.Call.SUBSCRIBE)
        call.subscribe.SetInParent()
        call.subscribe.unacknowledged_tasks.extend(self.unacknowledged_tasks.values())
        call.subscribe.unacknowledged_updates.extend(self.unacknowledged_updates.values())
        return call

    def message_call(self, data: bytes) -> executor_pb2.Call:
        call = self._call(executor_pb2.Call.MESSAGE)
        call.message.data = data
        return call


class ExecutorEventHandler(Protocol):
    """What the executor does with events. Awaited in stream order; return quickly."""

    async def on_subscribed(self, subscribed: executor_pb2.Event.Subscribed) -> None: ...

    async def on_launch(self, task: mesos_pb2.TaskInfo) -> None: ...

    async def on_kill(self, task_id: str, grace_seconds: float | None) -> None: ...

    async def on_acknowledged(self, status: mesos_pb2.TaskStatus) -> None: ...

    async def on_message(self, data: bytes) -> None: ...

    async def on_shutdown(self) -> None: ...

    async def on_error(self, message: str) -> None: ...


class SessionEnd(Enum):
    STOPPED = "stopped"
    """:meth:`ExecutorSession.stop` was called."""
    AGENT_GONE = "agent-gone"
    """The connection to the agent ended and the framework does not checkpoint."""
    RECOVERY_TIMEOUT = "recovery-timeout"
    """Checkpointing, but the agent did not come back within the recovery timeout."""
    REJECTED = "rejected"
    """The agent refused SUBSCRIBE with a permanent HTTP error."""


class ExecutorSession:
    def __init__(
        self,
        env: ExecutorEnv,
        handler: ExecutorEventHandler,
        content_type: str = PROTOBUF,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if content_type not in (PROTOBUF, JSON):
            raise ValueError(f"content type must be {PROTOBUF} or {JSON}")
        self.env = env
        self.handler = handler
        self.content_type = content_type
        self.book = UpdateBook(env.framework_id, env.executor_id)
        self._clock = clock
        self._stopping = False
        self._stop_event = asyncio.Event()
        self._stream_task: asyncio.Task[None] | None = None
        self.subscribed = asyncio.Event()
        self.subscriptions = 0
        self.end_detail = ""

    # -- calls -----------------------------------------------------------------------------------------

    def _headers(self, accept: str) -> dict[str, str]:
        headers = {"Content-Type": self.content_type, "Accept": accept}
        if self.env.auth_token:
            headers["Authorization"] = f"Bearer {self.env.auth_token}"
        return headers

    async def _post(self, call: executor_pb2.Call) -> stdhttp.HttpResponse:
        body = codec.encode(call, self.content_type)
        headers = self._headers(self.content_type)
        return await stdhttp.request(
            self.env.agent_host, self.env.agent_port, "POST", EXECUTOR_API_PATH, headers, body
        )

    async def send_update(self, status: mesos_pb2.TaskStatus) -> bytes:
        """Send a status update reliably; returns its uuid. Kept (and re-sent) until ACKNOWLEDGED."""
        status_uuid = new_status_uuid()
        call = self.book.update_call(status, status_uuid, self._clock())
        try:
            response = await self._post(call)
        except stdhttp.HttpError as exc:
            log.warning("UPDATE %s not delivered now (re-sent on resubscribe): %s", _describe(status), exc)
            return status_uuid
        if response.status != 202:
            log.warning("UPDATE %s answered %d: %s", _describe(status), response.status, _text(response.body))
        return status_uuid

    async def send_message(self, data: bytes) -> bool:
        """A framework message to the scheduler (best effort, like Mesos)."""
        try:
            response = await self._post(self.book.message_call(data))
        except stdhttp.HttpError as exc:
            log.warning("MESSAGE not delivered: %s", exc)
            return False
        if response.status != 202:
            log.warning("MESSAGE answered %d: %s", response.status, _text(response.body))
        return response.status == 202

    # -- lifecycle ---------------------------------------------------------------------------------------

    def stop(self) -> None:
        self._stopping = True
        self._stop_event.set()
        if self._stream_task is not None:
            self._stream_task.cancel()

    async def run(self) -> SessionEnd:
        loop = asyncio.get_running_loop()
        recovery_deadline: float | None = None
        while not self._stopping:
            status = await self._subscribe_once()
            if self._stopping:
                break
            if status is not None and status != 200 and not _transient(status):
                return SessionEnd.REJECTED
            if status == 200:
                recovery_deadline = None
            if not self.env.checkpoint:
                return SessionEnd.AGENT_GONE
            if recovery_deadline is None:
                recovery_deadline = loop.time() + self.env.recovery_timeout
            if loop.time() >= recovery_deadline:
                return SessionEnd.RECOVERY_TIMEOUT
            pause = random.uniform(0.0, self.env.subscription_backoff_max)
            pause = min(pause, max(0.0, recovery_deadline - loop.time()))
            try:
                await asyncio.wait_for(self._stop_event.wait(), pause)
            except TimeoutError:
                pass
        return SessionEnd.STOPPED

    async def _subscribe_once(self) -> int | None:
        """One SUBSCRIBE; reads its stream to the end. Returns the HTTP status (``None``: no connection)."""
        self.subscribed.clear()
        body = codec.encode(self.book.subscribe_call(), self.content_type)
        try:
            response = await stdhttp.open_request(
                self.env.agent_host,
                self.env.agent_port,
                "POST",
                EXECUTOR_API_PATH,
                self._headers(self.content_type),
                body,
            )
        except stdhttp.HttpError as exc:
            self.end_detail = str(exc)
            log.info("SUBSCRIBE failed: %s", exc)
            return None
        try:
            if response.status != 200:
                text = _text(await _read_small(response))
                self.end_detail = f"SUBSCRIBE answered {response.status}: {text}"
                log.warning("%s", self.end_detail)
                return response.status
            if self._stopping:
                return 200
            event_type = response.headers.get("content-type", self.content_type)
            # The stream is read in a task of its own so that stop() (possibly called by a handler running
            # on it) cancels the reading and nothing else.
            reader = asyncio.create_task(self._read_events(response, event_type), name="executor-events")
            self._stream_task = reader
            try:
                await asyncio.wait({reader})
            finally:
                if not reader.done():  # we are being cancelled ourselves
                    reader.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await reader
            error = None if reader.cancelled() else reader.exception()
            if error is None:
                self.end_detail = "stopped" if reader.cancelled() else "the agent closed the event stream"
            elif isinstance(error, stdhttp.HttpError | OSError | asyncio.IncompleteReadError | ValueError):
                # ValueError: codec.CodecError / recordio.RecordIOError on a garbled stream
                self.end_detail = f"event stream broken: {error!r}"
                log.info("%s", self.end_detail)
            else:
                raise error
        finally:
            self._stream_task = None
            await response.close()
        return 200

    async def _read_events(self, response: stdhttp.StreamingResponse, event_type: str) -> None:
        decoder = recordio.RecordIODecoder()
        async for chunk in response.iter_body():
            for record in decoder.feed(chunk):
                event = codec.decode(record, event_type, executor_pb2.Event)
                await self._dispatch(event)

    async def _dispatch(self, event: executor_pb2.Event) -> None:
        kind = event.type
        Event = executor_pb2.Event
        if kind == Event.SUBSCRIBED:
            self.subscriptions += 1
            self.subscribed.set()
            await self.handler.on_subscribed(event.subscribed)
        elif kind == Event.LAUNCH:
            self.book.launched(event.launch.task)
            await self.handler.on_launch(event.launch.task)
        elif kind == Event.LAUNCH_GROUP:
            await self._refuse_group(event.launch_group.task_group)
        elif kind == Event.KILL:
            grace: float | None = None
            if event.kill.HasField("kill_policy") and event.kill.kill_policy.HasField("grace_period"):
                grace = event.kill.kill_policy.grace_period.nanoseconds / 1e9
            await self.handler.on_kill(event.kill.task_id.value, grace)
        elif kind == Event.ACKNOWLEDGED:
            status = self.book.acknowledged(event.acknowledged.task_id.value, event.acknowledged.uuid)
            if status is not None:
                await self.handler.on_acknowledged(status)
        elif kind == Event.MESSAGE:
            await self.handler.on_message(event.message.data)
        elif kind == Event.SHUTDOWN:
            await self.handler.on_shutdown()
        elif kind == Event.ERROR:
            log.error("agent reported an error: %s", event.error.message)
            await self.handler.on_error(event.error.message)
        elif kind == Event.HEARTBEAT:
            pass
        else:
            log.info("ignoring unknown event type %d", kind)

    async def _refuse_group(self, group: mesos_pb2.TaskGroupInfo) -> None:
        for task in group.tasks:
            self.book.launched(task)
            status = mesos_pb2.TaskStatus()
            status.task_id.CopyFrom(task.task_id)
            status.state = mesos_pb2.TASK_ERROR
            status.message = "this executor runs one Kafka broker per task; LAUNCH_GROUP is not supported"
            await self.send_update(status)


def _transient(status: int) -> bool:
    return status in (404, 429) or status >= 500


async def _read_small(response: stdhttp.StreamingResponse) -> bytes:
    try:
        return await asyncio.wait_for(response.read_all(), 5.0)
    except (stdhttp.HttpError, OSError, TimeoutError, asyncio.IncompleteReadError):
        return b""


def _text(body: bytes) -> str:
    return body[:500].decode("utf-8", "replace").strip()


def _describe(status: mesos_pb2.TaskStatus) -> str:
    return f"{mesos_pb2.TaskState.Name(status.state)} of {status.task_id.value}"
