"""The agent's status update manager: per task, in order, one update outstanding at a time,
re-sent with exponential backoff (10 s doubling to 10 min in Mesos) until the framework acknowledges."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from kafka_mesos.mesos.pb import mesos_pb2 as mpb

# (framework id, the update in flight, the state of the task's latest queued update)
Forward = Callable[[str, mpb.TaskStatus, mpb.TaskState], None]


@dataclass
class TaskUpdateStream:
    framework_id: str
    task_id: str
    pending: deque[mpb.TaskStatus] = field(default_factory=deque)
    seen: set[bytes] = field(default_factory=set)
    timer: asyncio.TimerHandle | None = None
    backoff: float = 0.0

    def cancel(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


class StatusUpdateManager:
    def __init__(self, forward: Forward, retry_initial: float, retry_max: float) -> None:
        self._forward = forward
        self._retry_initial = retry_initial
        self._retry_max = retry_max
        self._streams: dict[tuple[str, str], TaskUpdateStream] = {}

    def add(self, framework_id: str, status: mpb.TaskStatus) -> bool:
        """Queue a reliable update; False if its uuid was seen before (a duplicate)."""
        key = (framework_id, status.task_id.value)
        stream = self._streams.get(key)
        if stream is None:
            stream = self._streams[key] = TaskUpdateStream(framework_id, status.task_id.value)
        if status.uuid in stream.seen:
            return False
        stream.seen.add(status.uuid)
        stream.pending.append(status)
        if len(stream.pending) == 1:
            self._send_head(stream, reset=True)
        return True

    def acknowledge(self, framework_id: str, task_id: str, uuid: bytes) -> bool:
        stream = self._streams.get((framework_id, task_id))
        if stream is None or not stream.pending or stream.pending[0].uuid != uuid:
            return False
        stream.cancel()
        stream.pending.popleft()
        if stream.pending:
            self._send_head(stream, reset=True)
        return True

    def pending(self, framework_id: str, task_id: str) -> list[mpb.TaskStatus]:
        stream = self._streams.get((framework_id, task_id))
        return list(stream.pending) if stream else []

    def resend_all(self, framework_id: str) -> None:
        """Re-send every head at once (the framework re-subscribed)."""
        for (fid, _), stream in self._streams.items():
            if fid == framework_id and stream.pending:
                stream.cancel()
                self._send_head(stream, reset=True)

    def drop_framework(self, framework_id: str) -> None:
        for key in [k for k in self._streams if k[0] == framework_id]:
            self._streams.pop(key).cancel()

    def close(self) -> None:
        for stream in self._streams.values():
            stream.cancel()
        self._streams.clear()

    def _send_head(self, stream: TaskUpdateStream, *, reset: bool) -> None:
        stream.backoff = self._retry_initial if reset else min(stream.backoff * 2, self._retry_max)
        self._forward(stream.framework_id, stream.pending[0], stream.pending[-1].state)
        loop = asyncio.get_running_loop()
        stream.timer = loop.call_later(stream.backoff, self._retry, stream)

    def _retry(self, stream: TaskUpdateStream) -> None:
        stream.timer = None
        if stream.pending:
            self._send_head(stream, reset=False)
