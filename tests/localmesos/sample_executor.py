"""A tiny custom executor for the local Mesos tests (fetched into the sandbox, run by the agent).

argv[1] = content type ("json" or "protobuf"). Behaviour:
- LAUNCH: TASK_STARTING, then TASK_RUNNING with `data` = the task's data; if the task data is
  b"exit", exits with status 3 once RUNNING is acknowledged by the agent.
- MESSAGE: answers with a MESSAGE call carrying b"echo:" + data.
- KILL: TASK_KILLED. SHUTDOWN: TASK_KILLED for live tasks, then exit 0; if a task's data was
  b"ignore-shutdown", SHUTDOWN is ignored (the agent kills the executor after its grace period).
Writes its environment to `env.json` and its argv to `argv.json` in the sandbox at start, and
every event record it receives to `events.raw` (4-byte big-endian length + record).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid

import aiohttp

from kafka_mesos.mesos import codec
from kafka_mesos.mesos.pb import executor_pb2 as epb
from kafka_mesos.mesos.pb import mesos_pb2 as mpb
from kafka_mesos.mesos.recordio import RecordIODecoder

CONTENT_TYPE = codec.JSON if sys.argv[1:2] == ["json"] else codec.PROTOBUF


class SampleExecutor:
    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session
        self.url = f"http://{os.environ['MESOS_AGENT_ENDPOINT']}/api/v1/executor"
        self.framework_id = os.environ["MESOS_FRAMEWORK_ID"]
        self.executor_id = os.environ["MESOS_EXECUTOR_ID"]
        self.live: set[str] = set()
        self.exit_after: bytes | None = None
        self.done = asyncio.Event()
        self.exit_code = 0
        self.ignore_shutdown = False

    def call(self, call_type: int) -> epb.Call:
        call = epb.Call(type=call_type)
        call.framework_id.value = self.framework_id
        call.executor_id.value = self.executor_id
        return call

    async def post(self, call: epb.Call) -> None:
        headers = {"Content-Type": CONTENT_TYPE, "Accept": CONTENT_TYPE}
        async with self.session.post(
            self.url, data=codec.encode(call, CONTENT_TYPE), headers=headers
        ) as resp:
            assert resp.status == 202, (resp.status, await resp.text())

    async def update(self, task_id: str, state: int, data: bytes | None = None, message: str = "") -> bytes:
        call = self.call(epb.Call.UPDATE)
        status = call.update.status
        status.task_id.value = task_id
        status.state = state
        status.source = mpb.TaskStatus.SOURCE_EXECUTOR
        status.executor_id.value = self.executor_id
        status.uuid = uuid.uuid4().bytes
        status.timestamp = time.time()
        if message:
            status.message = message
        if data is not None:
            status.data = data
        await self.post(call)
        return bytes(status.uuid)

    async def on_event(self, event: epb.Event) -> None:
        if event.type == epb.Event.LAUNCH:
            task = event.launch.task
            self.live.add(task.task_id.value)
            await self.update(task.task_id.value, mpb.TASK_STARTING)
            running = await self.update(task.task_id.value, mpb.TASK_RUNNING, task.data, "sample: running")
            if task.data == b"ignore-shutdown":
                self.ignore_shutdown = True
            if task.data == b"exit":
                self.exit_after = running
                self.exit_code = 3
        elif event.type == epb.Event.ACKNOWLEDGED:
            if self.exit_after is not None and event.acknowledged.uuid == self.exit_after:
                self.done.set()
        elif event.type == epb.Event.MESSAGE:
            call = self.call(epb.Call.MESSAGE)
            call.message.data = b"echo:" + event.message.data
            await self.post(call)
        elif event.type == epb.Event.KILL:
            task_id = event.kill.task_id.value
            self.live.discard(task_id)
            await self.update(task_id, mpb.TASK_KILLED, message="sample: killed on KILL")
        elif event.type == epb.Event.SHUTDOWN and not self.ignore_shutdown:
            for task_id in sorted(self.live):
                await self.update(task_id, mpb.TASK_KILLED, message="sample: shutdown")
            self.done.set()

    async def run(self) -> None:
        call = self.call(epb.Call.SUBSCRIBE)
        call.subscribe.SetInParent()
        headers = {"Content-Type": CONTENT_TYPE, "Accept": CONTENT_TYPE}
        timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
        async with self.session.post(
            self.url, data=codec.encode(call, CONTENT_TYPE), headers=headers, timeout=timeout
        ) as resp:
            assert resp.status == 200, (resp.status, await resp.text())
            decoder = RecordIODecoder()
            reader = asyncio.create_task(self._read(resp, decoder))
            await asyncio.wait(
                [reader, asyncio.create_task(self.done.wait())], return_when=asyncio.FIRST_COMPLETED
            )
            reader.cancel()

    async def _read(self, resp: aiohttp.ClientResponse, decoder: RecordIODecoder) -> None:
        async for chunk in resp.content.iter_any():
            for record in decoder.feed(chunk):
                _record(record)
                await self.on_event(codec.decode(record, resp.headers["Content-Type"], epb.Event))


def _record(record: bytes) -> None:
    with open("events.raw", "ab") as out:
        out.write(len(record).to_bytes(4, "big") + record)


def _write_start_files() -> None:
    with open("env.json", "w") as out:
        json.dump(dict(os.environ), out)
    with open("argv.json", "w") as out:
        json.dump({"argv": sys.argv, "cwd": os.getcwd()}, out)


async def main() -> int:
    _write_start_files()
    async with aiohttp.ClientSession() as session:
        executor = SampleExecutor(session)
        await executor.run()
        return executor.exit_code


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
