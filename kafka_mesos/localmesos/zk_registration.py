"""Master contender in ZooKeeper, as Apache Mesos does it: an ephemeral sequential child
`json.info_<10 digits>` of the `zk://` path holding the MasterInfo as JSON."""

from __future__ import annotations

import asyncio
from urllib.parse import urlparse

from kazoo.client import KazooClient

from kafka_mesos.mesos import codec
from kafka_mesos.mesos.pb import mesos_pb2 as mpb


def parse_zk_url(url: str) -> tuple[str, str, tuple[str, str] | None]:
    """`zk://[user:pass@]h1:p1,h2:p2/path` -> (hosts, path, credentials)."""
    if not url.startswith("zk://"):
        raise ValueError(f"not a zk:// URL: {url}")
    rest = url[len("zk://") :]
    authority, slash, path = rest.partition("/")
    credentials: tuple[str, str] | None = None
    if "@" in authority:
        userinfo, _, authority = authority.rpartition("@")
        user, _, password = userinfo.partition(":")
        credentials = (user, password)
    if not authority or not slash:
        raise ValueError(f"zk:// URL needs hosts and a path: {url}")
    _ = urlparse  # the authority may hold several hosts, which urlparse does not accept
    return authority, "/" + path.rstrip("/"), credentials


class ZkRegistration:
    def __init__(self, url: str, info: mpb.MasterInfo) -> None:
        self.hosts, self.path, credentials = parse_zk_url(url)
        auth = [("digest", f"{credentials[0]}:{credentials[1]}")] if credentials else None
        self._client = KazooClient(hosts=self.hosts, auth_data=auth)
        self._data = codec.json_dumps(codec.message_to_dict(info, emit_defaults=True)).encode()
        self.node: str | None = None

    async def start(self) -> None:
        await asyncio.to_thread(self._register)

    def _register(self) -> None:
        self._client.start(timeout=15)
        self._client.ensure_path(self.path)
        self.node = self._client.create(f"{self.path}/json.info_", self._data, ephemeral=True, sequence=True)

    async def stop(self) -> None:
        await asyncio.to_thread(self._unregister)

    def _unregister(self) -> None:
        try:
            if self.node is not None and self._client.connected:
                self._client.delete(self.node)
        finally:
            self._client.stop()
            self._client.close()
