"""A small HTTP/1.1 client on asyncio streams (stdlib only) for the executor side.

The executor runs from a zipapp on a stock Python, so it cannot use aiohttp. It needs two things: a POST that
returns status, headers and the whole body (one connection per call, ``Connection: close``), and a streaming
POST whose chunked body is read incrementally (the SUBSCRIBE event stream).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

MAX_HEADER_BYTES = 64 * 1024


class HttpError(ConnectionError):
    """The connection failed or the server broke the HTTP protocol."""


@dataclass
class HttpResponse:
    status: int
    reason: str
    headers: dict[str, str]
    """Header names lower-cased."""
    body: bytes = b""


class StreamingResponse:
    """A response whose body is read piece by piece; :meth:`close` ends the connection."""

    def __init__(
        self,
        status: int,
        reason: str,
        headers: dict[str, str],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers
        self._reader = reader
        self._writer = writer

    async def iter_body(self) -> AsyncIterator[bytes]:
        """Body bytes as they arrive; ends when the body ends or the server closes the connection."""
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            async for piece in _read_chunked(self._reader):
                yield piece
            return
        length = self.headers.get("content-length")
        if length is not None:
            remaining = int(length)
            while remaining > 0:
                piece = await self._reader.read(min(remaining, 65536))
                if not piece:
                    raise HttpError("connection closed before the end of the body")
                remaining -= len(piece)
                yield piece
            return
        while piece := await self._reader.read(65536):
            yield piece

    async def read_all(self) -> bytes:
        return b"".join([piece async for piece in self.iter_body()])

    async def close(self) -> None:
        self._writer.close()
        try:
            await self._writer.wait_closed()
        except (OSError, asyncio.CancelledError):
            pass


async def open_request(
    host: str,
    port: int,
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes = b"",
    connect_timeout: float = 10.0,
) -> StreamingResponse:
    """Send a request on a new connection and return once the status line and headers are read."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), connect_timeout)
    except (OSError, TimeoutError) as exc:
        raise HttpError(f"cannot connect to {host}:{port}: {exc}") from exc
    try:
        writer.write(_request_head(host, port, method, path, headers, len(body)) + body)
        await writer.drain()
        status, reason, response_headers = await _read_head(reader)
    except BaseException as exc:
        writer.close()
        if isinstance(exc, OSError | asyncio.IncompleteReadError | ValueError):
            raise HttpError(f"{method} {path} to {host}:{port} failed: {exc!r}") from exc
        raise
    return StreamingResponse(status, reason, response_headers, reader, writer)


async def request(
    host: str,
    port: int,
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes = b"",
    time_limit: float = 30.0,
) -> HttpResponse:
    """One request on its own connection; the whole response body is read."""

    async def exchange() -> HttpResponse:
        response = await open_request(host, port, method, path, headers, body)
        try:
            data = await response.read_all()
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            raise HttpError(f"{method} {path}: reading the response failed: {exc!r}") from exc
        finally:
            await response.close()
        return HttpResponse(response.status, response.reason, response.headers, data)

    try:
        return await asyncio.wait_for(exchange(), time_limit)
    except TimeoutError as exc:
        raise HttpError(f"{method} {path} to {host}:{port} timed out after {time_limit}s") from exc


def _request_head(
    host: str, port: int, method: str, path: str, headers: Mapping[str, str], length: int
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}"]
    names = {name.lower() for name in headers}
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if "content-length" not in names and (length or method in ("POST", "PUT")):
        lines.append(f"Content-Length: {length}")
    if "connection" not in names:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, str, dict[str, str]]:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError as exc:
        raise HttpError("response header too large") from exc
    if len(head) > MAX_HEADER_BYTES:
        raise HttpError("response header too large")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise HttpError(f"bad status line: {status_line!r}")
    headers: dict[str, str] = {}
    for line in header_lines:
        if not line:
            continue
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(parts[1]), (parts[2] if len(parts) > 2 else ""), headers


async def _read_chunked(reader: asyncio.StreamReader) -> AsyncIterator[bytes]:
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size_text = size_line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError as exc:
            raise HttpError(f"bad chunk size {size_text!r}") from exc
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                pass  # trailers
            return
        data = await reader.readexactly(size)
        if await reader.readexactly(2) != b"\r\n":
            raise HttpError("chunk not followed by CRLF")
        yield data
