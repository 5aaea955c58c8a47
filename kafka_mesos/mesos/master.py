"""Where the leading Mesos master is.

Address forms (``--master``):

* ``host:port`` or ``host`` (port 5050) → ``http://host:port``
* ``http://host:port`` / ``https://host:port`` (a path, if any, is dropped)
* ``zk://h1:p1,h2:p2/mesos`` or ``zk://user:pass@h1:p1/mesos`` (digest auth): the masters
  register ephemeral sequential children ``json.info_<seq>`` holding their MasterInfo as
  JSON; the leader is the one with the lowest sequence number.

A *master source* gives the base URL (``scheme://host:port``) of the current leader:
:class:`StaticMaster` for fixed addresses, :class:`ZooKeeperMasterDetector` for ``zk://``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import socket
import struct
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from . import codec
from .pb import mesos_pb2

log = logging.getLogger(__name__)

DEFAULT_PORT = 5050
SCHEDULER_PATH = "/api/v1/scheduler"
_MEMBER = re.compile(r"^json\.info_(\d+)$")


@dataclass(frozen=True)
class ZkAddress:
    hosts: str  # "h1:p1,h2:p2"
    path: str  # "/mesos"
    credentials: tuple[str, str] | None = None  # (user, password) for digest auth

    def __str__(self) -> str:
        auth = f"{self.credentials[0]}:***@" if self.credentials else ""
        return f"zk://{auth}{self.hosts}{self.path}"


def parse_master(address: str) -> str | ZkAddress:
    """A base URL ``http(s)://host:port`` or a :class:`ZkAddress`; ``ValueError`` if malformed."""
    address = address.strip()
    if not address:
        raise ValueError("empty master address")
    if address.startswith("zk://"):
        return _parse_zk(address)
    if "://" in address:
        parts = urlsplit(address)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"unsupported master address {address!r}: use host:port, http(s):// or zk://")
        port = _port(parts.port if parts.port is not None else DEFAULT_PORT, address)
        return f"{parts.scheme}://{_host(parts.hostname)}:{port}"
    host, sep, port_text = address.rpartition(":")
    if not sep:
        host, port_text = address, str(DEFAULT_PORT)
    if not host or "/" in host or not port_text.isdigit():
        raise ValueError(f"malformed master address {address!r}: expected host:port")
    return f"http://{host}:{_port(int(port_text), address)}"


def _host(hostname: str) -> str:
    return f"[{hostname}]" if ":" in hostname else hostname


def _port(port: int, address: str) -> int:
    if not 0 < port < 65536:
        raise ValueError(f"port out of range in master address {address!r}")
    return port


def _parse_zk(address: str) -> ZkAddress:
    rest = address[len("zk://") :]
    slash = rest.find("/")
    if slash <= 0 or slash == len(rest) - 1:
        raise ValueError(f"malformed ZooKeeper master address {address!r}: expected zk://host:port/path")
    authority, path = rest[:slash], rest[slash:].rstrip("/")
    credentials = None
    if "@" in authority:
        userinfo, authority = authority.rsplit("@", 1)
        user, sep, password = userinfo.partition(":")
        if not sep or not user:
            raise ValueError(f"malformed credentials in {address!r}: expected zk://user:pass@host:port/path")
        credentials = (user, password)
    if not authority or any(not h for h in authority.split(",")):
        raise ValueError(f"malformed ZooKeeper hosts in {address!r}")
    return ZkAddress(authority, path, credentials)


def scheduler_url(base_url: str) -> str:
    return base_url.rstrip("/") + SCHEDULER_PATH


def resolve_redirect(location: str, current_base_url: str) -> str:
    """Base URL of the leader named by a 307 ``Location`` (protocol-relative ``//host:port/path``
    as Mesos sends it, or absolute)."""
    scheme = urlsplit(current_base_url).scheme or "http"
    target = f"{scheme}:{location}" if location.startswith("//") else location
    if "://" not in target:
        target = f"{scheme}://{target}"
    parts = urlsplit(target)
    if not parts.hostname:
        raise ValueError(f"cannot resolve redirect location {location!r}")
    port = parts.port if parts.port is not None else DEFAULT_PORT
    return f"{parts.scheme}://{_host(parts.hostname)}:{port}"


# ---------------------------------------------------------------- MasterInfo


def leader_child(children: Iterable[str]) -> str | None:
    """The ``json.info_<seq>`` child with the lowest sequence number (others are ignored)."""
    members = [(int(m.group(1)), name) for name in children if (m := _MEMBER.match(name))]
    return min(members)[1] if members else None


def parse_master_info(data: bytes) -> mesos_pb2.MasterInfo:
    try:
        obj = json.loads(data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"MasterInfo is not JSON: {exc}") from exc
    try:
        return codec.dict_to_message(obj, mesos_pb2.MasterInfo)
    except codec.CodecError as exc:
        raise ValueError(f"malformed MasterInfo: {exc}") from exc


def master_base_url(info: mesos_pb2.MasterInfo, scheme: str = "http") -> str:
    """``scheme://host:port`` of a master: ``address.hostname`` or ``address.ip``; older
    masters only have ``hostname``/``ip`` (packed IPv4, network order) and ``port``."""
    if info.HasField("address"):
        host = info.address.hostname or info.address.ip
        port = info.address.port
    else:
        host = info.hostname or socket.inet_ntoa(struct.pack("<I", info.ip))
        port = info.port
    if not host:
        host = socket.inet_ntoa(struct.pack("<I", info.ip))
    return f"{scheme}://{_host(host)}:{port}"


# ---------------------------------------------------------------- master sources


class MasterSource(Protocol):
    async def current(self) -> str:
        """Base URL of the leader; waits until one is known."""

    async def wait_change(self, previous: str) -> str:
        """Wait until the leader's base URL differs from ``previous``; return it."""


class StaticMaster:
    """A fixed master (``host:port`` / ``http(s)://``); 307 redirects are followed by the session."""

    def __init__(self, base_url: str) -> None:
        parsed = parse_master(base_url)
        if isinstance(parsed, ZkAddress):
            raise ValueError("use ZooKeeperMasterDetector for zk:// addresses")
        self.base_url = parsed

    async def current(self) -> str:
        return self.base_url

    async def wait_change(self, previous: str) -> str:
        await asyncio.Event().wait()  # a static master never changes
        raise AssertionError("unreachable")  # pragma: no cover


class ZooKeeperMasterDetector:
    """Follows the leading master registered in ZooKeeper (kazoo, threads bridged to asyncio).

    Use as ``async with ZooKeeperMasterDetector("zk://…/mesos") as detector:`` then
    ``await detector.current()``, ``await detector.wait_change(url)`` or
    ``async for url in detector.leaders()``. The znode path is created if missing.
    """

    def __init__(
        self, address: str | ZkAddress, *, scheme: str = "http", session_timeout: float = 10.0
    ) -> None:
        parsed = parse_master(address) if isinstance(address, str) else address
        if not isinstance(parsed, ZkAddress):
            raise ValueError(f"not a zk:// address: {address!r}")
        self.address = parsed
        self._scheme = scheme
        self._session_timeout = session_timeout
        self._client: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changed = asyncio.Event()
        self.leader: str | None = None
        self.master_info: mesos_pb2.MasterInfo | None = None
        self._closed = False
        self._starting: asyncio.Future[None] | None = None

    async def __aenter__(self) -> ZooKeeperMasterDetector:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    async def start(self) -> None:
        from kazoo.client import KazooClient

        self._loop = asyncio.get_running_loop()
        self._closed = False
        auth = None
        if self.address.credentials:
            auth = [("digest", f"{self.address.credentials[0]}:{self.address.credentials[1]}")]
        client = KazooClient(hosts=self.address.hosts, auth_data=auth, timeout=self._session_timeout)
        self._client = client
        # A thread cannot be cancelled: keep its future so stop() closes the client only after it.
        self._starting = asyncio.ensure_future(asyncio.to_thread(self._start_blocking, client))
        await asyncio.shield(self._starting)

    def _start_blocking(self, client: Any) -> None:
        from kazoo.recipe.watchers import ChildrenWatch

        client.start(timeout=self._session_timeout)
        client.ensure_path(self.address.path)
        ChildrenWatch(client, self.address.path, self._on_children)

    async def stop(self) -> None:
        self._closed = True
        client, self._client = self._client, None
        starting, self._starting = self._starting, None
        if starting is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(starting)
        if client is not None:
            await asyncio.to_thread(_close_client, client)

    # kazoo thread
    def _on_children(self, children: list[str]) -> bool:
        if self._closed:
            return False  # stops the watch
        info: mesos_pb2.MasterInfo | None = None
        url: str | None = None
        child = leader_child(children)
        if child is not None:
            try:
                data, _ = self._client.get(f"{self.address.path}/{child}")
                info = parse_master_info(data)
                url = master_base_url(info, self._scheme)
            except Exception as exc:  # node vanished or garbage: wait for the next change
                log.warning("cannot read master info %s/%s: %s", self.address.path, child, exc)
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._set_leader, url, info)
        return True

    def _set_leader(self, url: str | None, info: mesos_pb2.MasterInfo | None) -> None:
        if url == self.leader:
            return
        log.info("leading Mesos master: %s", url or "none")
        self.leader, self.master_info = url, info
        self._changed.set()
        self._changed = asyncio.Event()

    async def current(self) -> str:
        while self.leader is None:
            await self._changed.wait()
        return self.leader

    async def wait_change(self, previous: str) -> str:
        while self.leader is None or self.leader == previous:
            await self._changed.wait()
        return self.leader

    async def leaders(self) -> AsyncIterator[str]:
        """Yields the leader's URL now and after every change (no leader = nothing yielded)."""
        current = await self.current()
        yield current
        while True:
            current = await self.wait_change(current)
            yield current


def _close_client(client: Any) -> None:
    try:
        client.stop()
    finally:
        client.close()


def master_source(master: str | MasterSource) -> MasterSource:
    """A source for an address string (``zk://`` gives an unstarted detector) or the source itself."""
    if not isinstance(master, str):
        return master
    parsed = parse_master(master)
    if isinstance(parsed, ZkAddress):
        return ZooKeeperMasterDetector(parsed)
    return StaticMaster(parsed)
