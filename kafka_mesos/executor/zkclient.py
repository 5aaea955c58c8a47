"""A minimal read-only ZooKeeper client on asyncio streams (stdlib only).

The executor only needs to see whether ``/brokers/ids/<id>`` exists and read it, with watches to wake up.
kazoo would work too, but it brings threads and costs a tenth of a second of import time in every executor;
this speaks the few requests of ZooKeeper's jute protocol we need: connect, exists, getData, ping, close.
The session is disposable: on any connection problem the caller reconnects with a fresh one.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from dataclasses import dataclass

OP_EXISTS = 3
OP_GET_DATA = 4
OP_PING = 11
OP_CLOSE = -11
XID_WATCH_EVENT = -1
XID_PING = -2
ERR_NO_NODE = -101

_STAT = struct.Struct(">qqqqiiiqiiq")
_REPLY_HEADER = struct.Struct(">iqi")


class ZkError(ConnectionError):
    pass


@dataclass(frozen=True)
class Stat:
    czxid: int
    mzxid: int
    ctime_ms: int
    mtime_ms: int
    version: int
    ephemeral_owner: int


def parse_connect(connect: str) -> tuple[list[tuple[str, int]], str]:
    """``h1:2181,h2:2182/chroot`` → ([(h1, 2181), (h2, 2182)], ``/chroot``)."""
    hosts_text, slash, chroot = connect.partition("/")
    hosts: list[tuple[str, int]] = []
    for item in hosts_text.split(","):
        host, _, port = item.strip().rpartition(":")
        if not host:
            host, port = item.strip(), "2181"
        hosts.append((host.strip("[]"), int(port)))
    root = "/" + chroot.strip("/") if slash and chroot.strip("/") else ""
    return hosts, root


def _string(text: str) -> bytes:
    data = text.encode("utf-8")
    return struct.pack(">i", len(data)) + data


def _stat(data: bytes, offset: int) -> Stat:
    czxid, mzxid, ctime, mtime, version, _, _, owner, _, _, _ = _STAT.unpack_from(data, offset)
    return Stat(czxid, mzxid, ctime, mtime, version, owner)


class ZkReader:
    """One ZooKeeper session. ``changed`` is set whenever a watch fires or the connection is lost."""

    def __init__(self, connect: str, session_timeout_ms: int = 10000) -> None:
        self.hosts, self.chroot = parse_connect(connect)
        self.session_timeout_ms = session_timeout_ms
        self.changed = asyncio.Event()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._pending: dict[int, asyncio.Future[tuple[int, bytes]]] = {}
        self._xid = 0
        self._tasks: list[asyncio.Task[None]] = []
        self.closed = True

    async def connect(self, per_host_timeout: float = 5.0) -> None:
        errors: list[str] = []
        for host, port in self.hosts:
            try:
                await asyncio.wait_for(self._connect_to(host, port), per_host_timeout)
                return
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ZkError) as exc:
                errors.append(f"{host}:{port}: {exc!r}")
                await self._drop()
        raise ZkError("cannot connect to ZooKeeper: " + "; ".join(errors))

    async def _connect_to(self, host: str, port: int) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        self._reader, self._writer = reader, writer
        request = struct.pack(">iqiq", 0, 0, self.session_timeout_ms, 0) + struct.pack(">i", 16) + bytes(16)
        request += b"\x00"  # readOnly = false
        writer.write(struct.pack(">i", len(request)) + request)
        await writer.drain()
        (length,) = struct.unpack(">i", await reader.readexactly(4))
        response = await reader.readexactly(length)
        _, negotiated_timeout = struct.unpack_from(">ii", response)
        if negotiated_timeout <= 0:
            raise ZkError("ZooKeeper refused the session")
        self.closed = False
        self._tasks = [
            asyncio.create_task(self._read_loop(reader), name="zk-reader"),
            asyncio.create_task(self._ping_loop(negotiated_timeout / 3000.0), name="zk-ping"),
        ]

    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                (length,) = struct.unpack(">i", await reader.readexactly(4))
                frame = await reader.readexactly(length)
                xid, _, err = _REPLY_HEADER.unpack_from(frame)
                if xid == XID_WATCH_EVENT:
                    self.changed.set()
                    continue
                future = self._pending.pop(xid, None)
                if future is not None and not future.done():
                    future.set_result((err, frame[_REPLY_HEADER.size :]))
        except (OSError, asyncio.IncompleteReadError, struct.error):
            pass
        finally:
            self._fail_pending()

    def _fail_pending(self) -> None:
        self.closed = True
        self.changed.set()
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ZkError("ZooKeeper connection lost"))
        self._pending.clear()

    async def _ping_loop(self, interval: float) -> None:
        with contextlib.suppress(OSError, ZkError):
            while not self.closed:
                await asyncio.sleep(interval)
                self._send(XID_PING, OP_PING, b"")

    def _send(self, xid: int, op: int, body: bytes) -> None:
        if self._writer is None or self.closed:
            raise ZkError("not connected to ZooKeeper")
        payload = struct.pack(">ii", xid, op) + body
        self._writer.write(struct.pack(">i", len(payload)) + payload)

    async def _call(self, op: int, body: bytes) -> tuple[int, bytes]:
        self._xid += 1
        xid = self._xid
        future: asyncio.Future[tuple[int, bytes]] = asyncio.get_running_loop().create_future()
        self._pending[xid] = future
        self._send(xid, op, body)
        return await asyncio.wait_for(future, self.session_timeout_ms / 1000.0)

    def _path_request(self, path: str, watch: bool) -> bytes:
        return _string(self.chroot + path) + (b"\x01" if watch else b"\x00")

    async def exists(self, path: str, watch: bool = False) -> Stat | None:
        err, body = await self._call(OP_EXISTS, self._path_request(path, watch))
        if err == ERR_NO_NODE:
            return None
        if err:
            raise ZkError(f"exists {path}: error {err}")
        return _stat(body, 0)

    async def get_data(self, path: str, watch: bool = False) -> tuple[bytes, Stat] | None:
        err, body = await self._call(OP_GET_DATA, self._path_request(path, watch))
        if err == ERR_NO_NODE:
            return None
        if err:
            raise ZkError(f"getData {path}: error {err}")
        (length,) = struct.unpack_from(">i", body)
        data = body[4 : 4 + length] if length > 0 else b""
        return data, _stat(body, 4 + max(length, 0))

    async def close(self) -> None:
        if not self.closed:
            with contextlib.suppress(OSError, ZkError):
                self._send(self._xid + 1, OP_CLOSE, b"")
        await self._drop()

    async def _drop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
        self._reader = self._writer = None
        self._fail_pending()
