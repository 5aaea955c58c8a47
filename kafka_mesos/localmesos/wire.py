"""HTTP plumbing shared by the master and agent endpoints: content negotiation, error bodies,
RecordIO event streams."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web

from kafka_mesos.mesos import codec
from kafka_mesos.mesos.recordio import encode_record

log = logging.getLogger(__name__)

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
TEXT_PLAIN = "text/plain; charset=utf-8"
WRONG_CONTENT_TYPE = "Expecting 'Content-Type' of application/json or application/x-protobuf"
MISSING_CONTENT_TYPE = "Expecting 'Content-Type' to be present"
# aiohttp refuses bodies over 1 MiB by default; an ACCEPT launching a thousand tasks is bigger.
MAX_REQUEST_BYTES = 256 * 1024 * 1024
NOT_ACCEPTABLE = "Expecting 'Accept' to allow application/json or application/x-protobuf"


class HttpError(Exception):
    """An error answered as `text/plain; charset=utf-8`, like libprocess does."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text

    def response(self) -> web.Response:
        return text_response(self.status, self.text)


def text_response(status: int, text: str) -> web.Response:
    body = text.encode()
    return web.Response(status=status, body=body, headers={"Content-Type": TEXT_PLAIN})


def accepted() -> web.Response:
    """202 with an empty body and no Content-Type (captures: `Content-Length: 0` only)."""
    return web.Response(status=202)


def request_content_type(request: web.Request) -> str:
    """The body's type, compared byte for byte: a parameter such as `; charset=utf-8` is a 415."""
    value = request.headers.get("Content-Type")
    if value is None:
        raise HttpError(400, MISSING_CONTENT_TYPE)
    if value not in (PROTOBUF, JSON):
        raise HttpError(415, WRONG_CONTENT_TYPE)
    return value


def _accept_quality(accept: str, media_type: str) -> float:
    main_type = media_type.split("/")[0]
    best: tuple[int, float] = (-1, 0.0)
    for item in accept.split(","):
        parts = [p.strip() for p in item.split(";")]
        if not parts[0]:
            continue
        quality = 1.0
        for param in parts[1:]:
            key, _, val = param.partition("=")
            if key.strip() == "q":
                try:
                    quality = float(val)
                except ValueError:
                    quality = 0.0
        candidate = parts[0].lower()
        if candidate == media_type:
            specificity = 2
        elif candidate == f"{main_type}/*":
            specificity = 1
        elif candidate == "*/*":
            specificity = 0
        else:
            continue
        if specificity > best[0]:
            best = (specificity, quality)
    return best[1]


def response_content_type(request: web.Request) -> str:
    """Mesos asks "is JSON acceptable?" first, then protobuf; no Accept means JSON."""
    accept = request.headers.get("Accept")
    if accept is None:
        return JSON
    if _accept_quality(accept, JSON) > 0:
        return JSON
    if _accept_quality(accept, PROTOBUF) > 0:
        return PROTOBUF
    raise HttpError(406, NOT_ACCEPTABLE)


def decode_body(data: bytes, content_type: str, cls: type[Any]) -> Any:
    try:
        return codec.decode(data, content_type, cls)
    except Exception as exc:  # any parse failure is a 400, as in Mesos
        kind = "JSON" if content_type == JSON else "protobuf"
        raise HttpError(400, f"Failed to parse body into Call {kind}: {exc}") from exc


def encode_event(event: Any, content_type: str) -> bytes:
    if content_type == JSON:
        return codec.encode(event, content_type, emit_defaults=True)
    return codec.encode(event, content_type)


class EventStream:
    """One subscriber's outgoing RecordIO stream; events are queued synchronously, written by the
    request handler that owns the HTTP response."""

    def __init__(self, content_type: str) -> None:
        self.content_type = content_type
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.closed = False

    def send(self, event: Any) -> None:
        if not self.closed:
            self._queue.put_nowait(encode_record(encode_event(event, self.content_type)))

    def send_payload(self, payload: bytes) -> None:
        """An event already encoded in this stream's content type."""
        if not self.closed:
            self._queue.put_nowait(encode_record(payload))

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._queue.put_nowait(None)

    async def pump(self, request: web.Request, headers: dict[str, str]) -> web.StreamResponse:
        """Write queued events until `close()`. Returns when the stream ended; raises
        CancelledError/ConnectionError when the client went away."""
        response = web.StreamResponse(status=200, headers={"Content-Type": self.content_type, **headers})
        response.enable_chunked_encoding()
        await response.prepare(request)
        while True:
            record = await self._queue.get()
            if record is None:
                break
            await response.write(record)
        await response.write_eof()
        return response
