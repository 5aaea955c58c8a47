"""Master contender in ZooKeeper, as Apache Mesos does it: an ephemeral sequential child
`json.info_<10 digits>` of the `zk://` path holding the MasterInfo as JSON. When the ZooKeeper
session is lost (the node vanished with it), the master contends again with a new node."""

from __future__ import annotations

import asyncio
import logging
import threading

from kazoo.client import KazooClient
from kazoo.exceptions import KazooException
from kazoo.protocol.states import KazooState

from kafka_mesos.mesos import codec
from kafka_mesos.mesos.pb import mesos_pb2 as mpb

log = logging.getLogger(__name__)


def parse_zk_url(url: str) -> tuple[str, str, tuple[str, str] | None]:
    """`zk://[user:pass@]h1:p1,h2:p2/path` -> (hosts, path, credentials)."""
    if not url.startswith("zk://"):
        raise ValueError(f"not a zk:// URL: {url}")
    authority, slash, path = url[len("zk://") :].partition("/")
    credentials: tuple[str, str] | None = None
    if "@" in authority:
        userinfo, _, authority = authority.rpartition("@")
        user, _, password = userinfo.partition(":")
        credentials = (user, password)
    if not authority or not slash or not path.strip("/"):
        raise ValueError(f"zk:// URL needs hosts and a path: {url}")
    return authority, "/" + path.strip("/"), credentials


class ZkRegistration:
    def __init__(self, url: str, info: mpb.MasterInfo) -> None:
        self.hosts, self.path, credentials = parse_zk_url(url)
        auth = [("digest", f"{credentials[0]}:{credentials[1]}")] if credentials else None
        self._client = KazooClient(hosts=self.hosts, auth_data=auth)
        self._data = codec.json_dumps(codec.message_to_dict(info, emit_defaults=True)).encode()
        self._lock = threading.Lock()
        self._lost = False
        self._stopping = False
        self.node: str | None = None

    async def start(self) -> None:
        await asyncio.to_thread(self._start)

    def _start(self) -> None:
        self._client.start(timeout=15)
        self._client.add_listener(self._on_state)
        self._register()

    def _register(self) -> None:
        with self._lock:
            if self._stopping:
                return
            self._client.ensure_path(self.path)
            self.node = self._client.create(
                f"{self.path}/json.info_", self._data, ephemeral=True, sequence=True
            )
            log.info("local Mesos master contends in ZooKeeper as %s", self.node)

    def _on_state(self, state: KazooState) -> None:
        # Runs on kazoo's thread and must not block: re-registration is spawned.
        if state == KazooState.LOST:
            self._lost = True
        elif state == KazooState.CONNECTED and self._lost:
            self._lost = False
            self._client.handler.spawn(self._reregister)

    def _reregister(self) -> None:
        try:
            self._register()
        except KazooException:
            log.exception("could not re-register the local Mesos master in ZooKeeper")

    async def stop(self) -> None:
        await asyncio.to_thread(self._unregister)

    def _unregister(self) -> None:
        with self._lock:
            self._stopping = True
        try:
            if self.node is not None and self._client.connected:
                self._client.delete(self.node)
        except KazooException:
            log.warning("could not delete %s", self.node)
        finally:
            self._client.stop()
            self._client.close()
