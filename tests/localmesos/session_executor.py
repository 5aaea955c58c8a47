"""A custom executor built on the project's stdlib ExecutorSession, run by the local Mesos agent.

argv[1] = "json" or "protobuf". LAUNCH → TASK_STARTING, TASK_RUNNING (data = task data);
MESSAGE → MESSAGE "echo:" + data; KILL → TASK_KILLED; SHUTDOWN → TASK_KILLED for live tasks, exit.
"""

from __future__ import annotations

import asyncio
import os
import sys

from kafka_mesos.mesos.executor_session import JSON, PROTOBUF, ExecutorEnv, ExecutorSession
from kafka_mesos.mesos.pb import executor_pb2 as epb
from kafka_mesos.mesos.pb import mesos_pb2 as mpb


class Handler:
    def __init__(self) -> None:
        self.session: ExecutorSession | None = None
        self.live: set[str] = set()

    async def _update(self, task_id: str, state: mpb.TaskState, data: bytes | None = None) -> None:
        status = mpb.TaskStatus(state=state)
        status.task_id.value = task_id
        if data is not None:
            status.data = data
        assert self.session is not None
        await self.session.send_update(status)

    async def on_subscribed(self, subscribed: epb.Event.Subscribed) -> None:
        pass

    async def on_launch(self, task: mpb.TaskInfo) -> None:
        self.live.add(task.task_id.value)
        await self._update(task.task_id.value, mpb.TASK_STARTING)
        await self._update(task.task_id.value, mpb.TASK_RUNNING, task.data)

    async def on_kill(self, task_id: str, grace_seconds: float | None) -> None:
        self.live.discard(task_id)
        await self._update(task_id, mpb.TASK_KILLED)

    async def on_acknowledged(self, status: mpb.TaskStatus) -> None:
        pass

    async def on_message(self, data: bytes) -> None:
        assert self.session is not None
        await self.session.send_message(b"echo:" + data)

    async def on_shutdown(self) -> None:
        for task_id in sorted(self.live):
            await self._update(task_id, mpb.TASK_KILLED)
        assert self.session is not None
        self.session.stop()

    async def on_error(self, message: str) -> None:
        pass


async def main() -> int:
    handler = Handler()
    session = ExecutorSession(
        ExecutorEnv.from_environ(os.environ),
        handler,
        content_type=JSON if sys.argv[1:2] == ["json"] else PROTOBUF,
    )
    handler.session = session
    await session.run()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
