"""What the API needs from the cluster state, and waiting for observed state.

`ClusterState` (kafka_mesos.state) provides these; the Protocol keeps the API's needs in one place.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Protocol

from kafka_mesos.core.model import Broker

Changes = Mapping[int, Broker | None]
"""broker id → its new record, or None to delete it."""


class ApiCluster(Protocol):
    def snapshot(self) -> Mapping[int, Broker]: ...

    @property
    def framework_id(self) -> str | None: ...

    async def transact(self, decide: Callable[[Mapping[int, Broker]], Changes]) -> Changes:
        """Under the state's lock: `decide` sees the current brokers and returns changes, written all
        or nothing. An exception from `decide` (or the store) leaves everything unchanged."""
        ...

    async def wait_changed(self, timeout: float) -> object:  # noqa: ASYNC109
        """Return when the brokers changed (or after `timeout` seconds, whichever is first)."""
        ...

    async def healthy(self) -> bool: ...


async def wait_until(
    cluster: ApiCluster, done: Callable[[Mapping[int, Broker]], bool], deadline: float
) -> bool:
    """Wait until `done(brokers)` holds (True) or the loop clock passes `deadline` (False)."""
    loop = asyncio.get_running_loop()
    while True:
        if done(cluster.snapshot()):
            return True
        remaining = deadline - loop.time()
        if remaining <= 0:
            return False
        await cluster.wait_changed(remaining)
