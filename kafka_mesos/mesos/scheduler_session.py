"""The scheduler's connection to the Mesos master (aiohttp; decisions in ``subscription``).

    session = SchedulerSession(master="zk://zk1:2181/mesos", framework_info=info, handler=h)
    runner = asyncio.create_task(session.run())   # subscribes, re-subscribes until stop()
    await session.call(calls.decline([offer_id], refuse_seconds=3600))
    await session.stop()

Events are handed to the handler one at a time, in stream order, each awaited before the
next is read. The session never acknowledges anything: the handler persists a status
update and then sends ``calls.acknowledge_status(status)`` itself.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import random
from collections.abc import Iterable
from typing import Any, Protocol

import aiohttp

from . import calls, codec, errors
from .master import MasterSource, StaticMaster, ZooKeeperMasterDetector, master_source, resolve_redirect
from .master import scheduler_url as _scheduler_url
from .pb import mesos_pb2, scheduler_pb2
from .recordio import RecordIODecoder, RecordIOError
from .subscription import DEFAULT_MISSED_HEARTBEATS, Backoff, Reconnect, Subscription

log = logging.getLogger(__name__)

Event = scheduler_pb2.Event


class SchedulerHandler(Protocol):
    async def on_subscribed(self, framework_id: str, master_info: mesos_pb2.MasterInfo | None) -> None:
        """SUBSCRIBED: persist the framework id first, drop cached offers, reconcile."""

    async def on_event(self, event: scheduler_pb2.Event) -> None:
        """Every other event (OFFERS, UPDATE, HEARTBEAT, …) except ERROR, in stream order."""

    async def on_disconnected(self, reason: errors.MesosError) -> None:
        """A subscription that was established has ended; the session will re-subscribe
        unless ``reason`` is final (then ``run()`` returns or raises it)."""


def basic_auth(principal: str, secret: str) -> str:
    """``Authorization`` value for HTTP framework authentication (Mesos' ``basic`` authenticator)."""
    return "Basic " + base64.b64encode(f"{principal}:{secret}".encode()).decode("ascii")


class SchedulerSession:
    def __init__(
        self,
        master: str | MasterSource,
        framework_info: mesos_pb2.FrameworkInfo,
        handler: SchedulerHandler,
        *,
        content_type: str = codec.PROTOBUF,
        principal: str | None = None,
        secret: str | None = None,
        suppressed_roles: Iterable[str] = (),
        backoff: Backoff | None = None,
        missed_heartbeats: int = DEFAULT_MISSED_HEARTBEATS,
        call_timeout: float = 75.0,
        connect_timeout: float = 10.0,
        rng: random.Random | None = None,
    ) -> None:
        self._source = master_source(master)
        self._owns_source = isinstance(master, str)
        self.framework_info = mesos_pb2.FrameworkInfo()
        self.framework_info.CopyFrom(framework_info)
        self.handler = handler
        self.content_type = codec.check_content_type(content_type)
        self.suppressed_roles = list(suppressed_roles)
        self._auth = basic_auth(principal, secret or "") if principal else None
        initial_id = framework_info.id.value if framework_info.HasField("id") else None
        self.subscription = Subscription(
            initial_id, backoff=backoff, missed_heartbeats=missed_heartbeats, rng=rng
        )
        self._call_timeout = call_timeout
        self._connect_timeout = connect_timeout
        self._http: aiohttp.ClientSession | None = None
        self._base_url: str | None = None  # master the stream is (being) opened to
        self._redirect_to: str | None = None
        self.master_info: mesos_pb2.MasterInfo | None = None
        self._stop = asyncio.Event()
        self._attempt: asyncio.Task[None] | None = None
        self._finished = asyncio.Event()
        self._running = False
        self._was_connected = False

    # ---------------------------------------------------------------- public state

    @property
    def framework_id(self) -> str | None:
        return self.subscription.framework_id

    @property
    def connected(self) -> bool:
        return self.subscription.connected

    @property
    def master_url(self) -> str | None:
        """Base URL of the master currently subscribed to (or being tried)."""
        return self._base_url

    @property
    def stream_id(self) -> str | None:
        return self.subscription.stream_id

    # ---------------------------------------------------------------- lifecycle

    async def run(self) -> None:
        """Subscribe and keep subscribed until :meth:`stop` (returns) or a final error
        (raised: ``FrameworkFailedOver``, ``FrameworkRemoved``, 4xx on SUBSCRIBE, …)."""
        if self._running:
            raise RuntimeError("SchedulerSession.run() is already running")
        self._running = True
        self._finished.clear()
        owned_detector = None
        if self._owns_source and isinstance(self._source, ZooKeeperMasterDetector):
            owned_detector = self._source
        try:
            # Inside the try: a stop or cancel while the detector connects must still close it.
            if owned_detector is not None:
                await owned_detector.start()
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
            await self._loop()
        finally:
            # A second cancellation during this cleanup must not leave stop() waiting forever.
            try:
                self.subscription.stop()
                http, self._http = self._http, None
                if http is not None:
                    await http.close()
                if owned_detector is not None:
                    await owned_detector.stop()
            finally:
                self._running = False
                self._finished.set()

    async def stop(self) -> None:
        """Stop re-subscribing, close the stream; returns once ``run()`` has finished."""
        self._stop.set()
        if not self._running:
            return
        if self._attempt is not None and self._attempt is asyncio.current_task():
            return  # called from a handler: run() ends when this event's handling unwinds
        await self._finished.wait()

    async def _loop(self) -> None:
        while not self._stop.is_set():
            base = self._redirect_to
            if base is None:
                current = asyncio.ensure_future(self._source.current())
                if not await self._until_stop(current):
                    return
                base = current.result()
            self._redirect_to = None
            self._base_url = base
            self.subscription.connecting()
            self._was_connected = False
            attempt = asyncio.create_task(self._subscribe(base), name="mesos-subscription")
            self._attempt = attempt
            try:
                if not await self._until_stop(attempt):
                    return
            finally:
                self._attempt = None
            error = attempt.exception()
            if error is None:
                return  # _subscribe only returns normally when stopping
            if not isinstance(error, errors.MesosError):
                raise error  # a handler failed: not ours to hide
            if isinstance(error, errors.NotLeader):
                try:
                    self._redirect_to = resolve_redirect(error.location, base)
                except ValueError:
                    error = errors.ProtocolError(
                        f"307 from {base} without a usable Location {error.location!r}"
                    )
            action = self.subscription.failed(error)
            log.info("Mesos subscription to %s ended: %s", base, error)
            if self._was_connected:
                await self.handler.on_disconnected(error)
            if not isinstance(action, Reconnect):
                if action.error is not None:
                    raise action.error
                return
            if action.delay > 0 and not await self._until_stop(
                asyncio.ensure_future(asyncio.sleep(action.delay))
            ):
                return

    async def _until_stop(self, task: asyncio.Future[Any]) -> bool:
        """Wait for ``task``; False (and ``task`` cancelled) if stop() came first."""
        stopper = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await stopper
        if task.done():
            return True
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        return False

    # ---------------------------------------------------------------- the stream

    async def _subscribe(self, base: str) -> None:
        assert self._http is not None
        info = mesos_pb2.FrameworkInfo()
        info.CopyFrom(self.framework_info)
        if self.subscription.framework_id:
            info.id.value = self.subscription.framework_id
        else:
            info.ClearField("id")
        body = codec.encode(calls.subscribe(info, self.suppressed_roles), self.content_type)
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=self._connect_timeout)
        # The stream's connection is never reused: a fresh one per subscription.
        headers = {**self._headers(), "Connection": "close"}
        try:
            async with self._http.post(
                _scheduler_url(base),
                data=body,
                headers=headers,
                allow_redirects=False,
                timeout=timeout,
            ) as resp:
                if resp.status != 200:
                    text = await resp.text(errors="replace")
                    raise errors.error_for_status(resp.status, text, resp.headers.get("Location"))
                stream_id = resp.headers.get("Mesos-Stream-Id")
                event_type = resp.headers.get("Content-Type", "")
                if event_type not in codec.CONTENT_TYPES:
                    raise errors.ProtocolError(f"unexpected event Content-Type {event_type!r}")
                await self._read_stream(resp, base, stream_id, event_type)
        except (aiohttp.ClientError, OSError) as exc:
            raise errors.MesosConnectionError(f"{base}: {exc or type(exc).__name__}") from exc

    async def _read_stream(
        self, resp: aiohttp.ClientResponse, base: str, stream_id: str | None, event_type: str
    ) -> None:
        decoder = RecordIODecoder()
        watch: asyncio.Task[str] | None = None
        if not isinstance(self._source, StaticMaster):
            watch = asyncio.create_task(self._source.wait_change(base), name="mesos-leader-watch")
        read: asyncio.Future[bytes] | None = None
        try:
            while True:
                read = asyncio.ensure_future(resp.content.readany())
                waiting: set[asyncio.Future[Any]] = {read} if watch is None else {read, watch}
                done, _ = await asyncio.wait(
                    waiting, timeout=self.subscription.read_timeout(), return_when=asyncio.FIRST_COMPLETED
                )
                if read not in done:
                    if watch is not None and watch in done:
                        raise errors.LeaderChanged(f"leading master moved to {watch.result()}")
                    raise errors.HeartbeatTimeout(
                        f"no data from {base} for {self.subscription.read_timeout():.1f}s"
                    )
                chunk = read.result()
                read = None
                if not chunk:
                    raise errors.StreamClosed(f"{base} closed the subscription stream")
                try:
                    records = decoder.feed(chunk)
                except RecordIOError as exc:
                    raise errors.ProtocolError(f"bad RecordIO from {base}: {exc}") from exc
                for record in records:
                    try:
                        event = codec.decode(record, event_type, Event)
                    except codec.CodecError as exc:
                        raise errors.ProtocolError(f"undecodable event from {base}: {exc}") from exc
                    await self._dispatch(event, stream_id)
        finally:
            for pending in (read, watch):
                if pending is not None and not pending.done():
                    pending.cancel()
                if pending is not None:
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await pending

    async def _dispatch(self, event: scheduler_pb2.Event, stream_id: str | None) -> None:
        if not event.HasField("type") or event.type == Event.UNKNOWN:
            log.info("ignored an event of a type this version does not know (%d bytes)", event.ByteSize())
            return
        if event.type == Event.SUBSCRIBED:
            sub = event.subscribed
            interval = sub.heartbeat_interval_seconds if sub.HasField("heartbeat_interval_seconds") else None
            self.subscription.subscribed(stream_id, sub.framework_id.value, interval)
            self._was_connected = True
            self.master_info = sub.master_info if sub.HasField("master_info") else None
            await self.handler.on_subscribed(sub.framework_id.value, self.master_info)
            return
        if event.type == Event.ERROR:
            raise errors.error_for_event(event.error.message)
        await self.handler.on_event(event)

    # ---------------------------------------------------------------- calls

    def _headers(self, stream_id: str | None = None) -> dict[str, str]:
        headers = {"Content-Type": self.content_type, "Accept": self.content_type}
        if stream_id is not None:
            headers["Mesos-Stream-Id"] = stream_id
        if self._auth is not None:
            headers["Authorization"] = self._auth
        return headers

    async def call(self, call: scheduler_pb2.Call) -> bytes:
        """Send a call on the current subscription; returns the response body (empty for 202).

        Fills ``framework_id`` when unset and adds ``Mesos-Stream-Id``. Raises
        ``NotSubscribed`` when there is no subscription, the typed HTTP error of
        :mod:`errors` for any status other than 200/202, ``MesosConnectionError`` on I/O errors.
        """
        if call.type == scheduler_pb2.Call.SUBSCRIBE:
            raise ValueError("SUBSCRIBE is sent by run(), not call()")
        sub = self.subscription
        if not sub.connected or self._http is None or self._base_url is None or sub.framework_id is None:
            raise errors.NotSubscribed("no active Mesos subscription")
        outgoing = scheduler_pb2.Call()
        outgoing.CopyFrom(call)
        if not outgoing.HasField("framework_id"):
            outgoing.framework_id.value = sub.framework_id
        body = codec.encode(outgoing, self.content_type)
        try:
            async with self._http.post(
                _scheduler_url(self._base_url),
                data=body,
                headers=self._headers(sub.stream_id),
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=self._call_timeout, sock_connect=self._connect_timeout),
            ) as resp:
                payload = await resp.read()
                if resp.status not in (200, 202):
                    raise errors.error_for_status(
                        resp.status, payload.decode(errors="replace"), resp.headers.get("Location")
                    )
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise errors.MesosConnectionError(f"{self._base_url}: {exc or type(exc).__name__}") from exc
        if call.type == scheduler_pb2.Call.TEARDOWN:
            sub.teardown_sent()
        return payload
