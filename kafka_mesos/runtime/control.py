"""The API's SchedulerControl, implemented by the scheduler (api and scheduler do not know each other)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kafka_mesos.api.control import BrokerLogError
from kafka_mesos.scheduler import scheduler as sched


class SchedulerControlAdapter:
    def __init__(self, scheduler: sched.Scheduler) -> None:
        self._scheduler = scheduler

    def wake(self) -> None:
        self._scheduler.wake()

    def force_stop(self, broker_ids: Sequence[int]) -> None:
        self._scheduler.force_stop(broker_ids)

    def status(self) -> Mapping[str, Any]:
        return self._scheduler.status()

    async def broker_log(self, broker_id: int, name: str, lines: int, timeout: float) -> str:  # noqa: ASYNC109
        try:
            return await self._scheduler.broker_log(broker_id, name, lines, timeout)
        except sched.BrokerLogError as e:
            raise BrokerLogError(str(e)) from None
