"""Wait until the broker has registered itself in ZooKeeper (``/brokers/ids/<id>``).

A registration that already existed before the broker was spawned (a previous broker with the same id whose
session has not expired yet) does not count: only a node created after :meth:`RegistrationWatch.prepare`
(a different ``czxid``) does. If ZooKeeper could not be reached before the spawn, a node counts when its
registration timestamp is not older than the spawn.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from kafka_mesos.executor.zkclient import ZkError, ZkReader
from kafka_mesos.kafka.znodes import (
    BrokerRegistration,
    RegistrationError,
    broker_path,
    parse_broker_registration,
)

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
RETRY_SECONDS = 0.5
CLOCK_SLACK_MS = 1000


class RegistrationWatch:
    def __init__(self, zookeeper_connect: str, broker_id: int) -> None:
        self.connect = zookeeper_connect
        self.path = broker_path(broker_id)
        self._reader: ZkReader | None = None
        self.stale_czxid: int | None = None
        self.prepared = False
        self.spawn_ms = 0

    async def _ensure_reader(self) -> ZkReader:
        if self._reader is None or self._reader.closed:
            if self._reader is not None:
                await self._reader.close()
            self._reader = ZkReader(self.connect)
            await self._reader.connect()
        return self._reader

    async def prepare(self, within: float = 10.0) -> None:
        """Connect and note any registration left over from before the spawn (best effort)."""
        try:
            async with asyncio.timeout(within):
                reader = await self._ensure_reader()
                stat = await reader.exists(self.path)
            self.stale_czxid = stat.czxid if stat else None
            self.prepared = True
            if stat:
                log.warning("%s exists before the broker starts (an old registration)", self.path)
        except (ZkError, OSError, TimeoutError) as exc:
            log.warning("ZooKeeper %s not reachable before the broker starts: %s", self.connect, exc)
        self.spawn_ms = int(time.time() * 1000)

    def _counts(self, czxid: int, registration: BrokerRegistration) -> bool:
        if self.prepared:
            return czxid != self.stale_czxid
        return registration.timestamp_ms >= self.spawn_ms - CLOCK_SLACK_MS

    async def wait(self) -> BrokerRegistration:
        """Return the broker's registration once it exists; retries across ZooKeeper outages."""
        while True:
            try:
                reader = await self._ensure_reader()
                reader.changed.clear()
                stat = await reader.exists(self.path, watch=True)
                found = await reader.get_data(self.path) if stat is not None else None
                if found is not None:
                    data, node = found
                    try:
                        registration = parse_broker_registration(data)
                    except RegistrationError as exc:
                        log.warning("%s: %s", self.path, exc)
                    else:
                        if self._counts(node.czxid, registration):
                            return registration
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(reader.changed.wait(), POLL_SECONDS)
            except (ZkError, OSError, TimeoutError) as exc:
                log.info("ZooKeeper: %s; retrying", exc)
                await self._close_reader()
                await asyncio.sleep(RETRY_SECONDS)

    async def _close_reader(self) -> None:
        if self._reader is not None:
            await self._reader.close()
            self._reader = None

    async def close(self) -> None:
        await self._close_reader()
