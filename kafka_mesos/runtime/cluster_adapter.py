"""Presents ClusterState to the scheduler in the shape the scheduler's `Cluster` protocol names."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from kafka_mesos.core.model import Broker


class ClusterAdapter:
    def __init__(self, cluster: Any) -> None:
        self._cluster = cluster

    @property
    def framework_id(self) -> str | None:
        value = self._cluster.framework_id
        return None if value is None else str(value)

    async def set_framework_id(self, framework_id: str | None) -> None:
        await self._cluster.set_framework_id(framework_id)

    def snapshot(self) -> Mapping[int, Broker]:
        return dict(self._cluster.snapshot())

    async def mutate(self, ids: Sequence[int], change: Callable[[Broker], Broker]) -> Mapping[int, Broker]:
        result = await self._cluster.mutate(list(ids), lambda broker: change(broker.copy()))
        return dict(result)
