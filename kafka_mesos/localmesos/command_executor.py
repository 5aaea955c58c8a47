"""The local Mesos' built-in command executor (Mesos' HTTP command executor, simplified): runs a
command task (TaskInfo with `command`), reports TASK_STARTING, TASK_RUNNING and the outcome, and
exits once the terminal update is acknowledged.

Run by the agent as `python -m kafka_mesos.localmesos.command_executor` in the task's sandbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
import uuid

import aiohttp

from kafka_mesos.mesos import codec
from kafka_mesos.mesos.pb import executor_pb2 as epb
from kafka_mesos.mesos.pb import mesos_pb2 as mpb
from kafka_mesos.mesos.recordio import RecordIODecoder

CONTENT_TYPE = codec.PROTOBUF
DEFAULT_KILL_GRACE = 3.0


class CommandExecutor:
    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session
        self.url = f"http://{os.environ['MESOS_AGENT_ENDPOINT']}/api/v1/executor"
        self.framework_id = os.environ["MESOS_FRAMEWORK_ID"]
        self.executor_id = os.environ["MESOS_EXECUTOR_ID"]
        self.process: asyncio.subprocess.Process | None = None
        self.task_id: str | None = None
        self.killed = False
        self.terminal_uuid: bytes | None = None
        self.done = asyncio.Event()
        self._background: set[asyncio.Task[None]] = set()

    def _call(self, kind: epb.Call.Type) -> epb.Call:
        call = epb.Call(type=kind)
        call.framework_id.value = self.framework_id
        call.executor_id.value = self.executor_id
        return call

    async def _post(self, call: epb.Call) -> None:
        headers = {"Content-Type": CONTENT_TYPE, "Accept": CONTENT_TYPE}
        async with self.session.post(
            self.url, data=codec.encode(call, CONTENT_TYPE), headers=headers
        ) as resp:
            await resp.read()

    async def update(self, state: mpb.TaskState, message: str = "") -> bytes:
        call = self._call(epb.Call.UPDATE)
        status = call.update.status
        status.task_id.value = self.task_id or ""
        status.state = state
        status.source = mpb.TaskStatus.SOURCE_EXECUTOR
        status.executor_id.value = self.executor_id
        status.uuid = uuid.uuid4().bytes
        status.timestamp = time.time()
        if message:
            status.message = message
        await self._post(call)
        return bytes(status.uuid)

    async def launch(self, task: mpb.TaskInfo) -> None:
        self.task_id = task.task_id.value
        command = task.command
        env = dict(os.environ)
        for variable in command.environment.variables:
            env[variable.name] = variable.value
        await self.update(mpb.TASK_STARTING)
        try:
            if command.shell:
                self.process = await asyncio.create_subprocess_exec(
                    "/bin/sh", "-c", command.value, env=env, start_new_session=True
                )
            else:
                argv = list(command.arguments) or [command.value]
                self.process = await asyncio.create_subprocess_exec(
                    argv[0], *argv[1:], executable=command.value, env=env, start_new_session=True
                )
        except OSError as exc:
            self.terminal_uuid = await self.update(mpb.TASK_FAILED, f"Failed to launch the command: {exc}")
            return
        await self.update(mpb.TASK_RUNNING)
        task_waiter = asyncio.create_task(self._wait(self.process))
        self._background.add(task_waiter)

    async def _wait(self, process: asyncio.subprocess.Process) -> None:
        code = await process.wait()
        if self.killed:
            state, message = mpb.TASK_KILLED, "Command terminated with signal Killed"
        elif code == 0:
            state, message = mpb.TASK_FINISHED, "Command exited with status 0"
        elif code < 0:
            state, message = mpb.TASK_FAILED, f"Command terminated with signal {signal.Signals(-code).name}"
        else:
            state, message = mpb.TASK_FAILED, f"Command exited with status {code}"
        self.terminal_uuid = await self.update(state, message)

    async def kill(self, grace: float) -> None:
        process = self.process
        if process is None or process.returncode is not None:
            return
        self.killed = True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.shield(process.wait()), grace)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)

    async def on_event(self, event: epb.Event) -> None:
        if event.type == epb.Event.LAUNCH:
            await self.launch(event.launch.task)
        elif event.type == epb.Event.KILL:
            policy = event.kill.kill_policy
            grace = (
                policy.grace_period.nanoseconds / 1e9
                if policy.HasField("grace_period")
                else DEFAULT_KILL_GRACE
            )
            await self.kill(grace)
        elif event.type == epb.Event.SHUTDOWN:
            await self.kill(DEFAULT_KILL_GRACE)
        elif event.type == epb.Event.ACKNOWLEDGED:
            if self.terminal_uuid is not None and event.acknowledged.uuid == self.terminal_uuid:
                self.done.set()

    async def run(self) -> None:
        call = self._call(epb.Call.SUBSCRIBE)
        call.subscribe.SetInParent()
        headers = {"Content-Type": CONTENT_TYPE, "Accept": CONTENT_TYPE}
        async with self.session.post(
            self.url,
            data=codec.encode(call, CONTENT_TYPE),
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=None),
        ) as resp:
            reader = asyncio.create_task(self._read(resp))
            finished = asyncio.create_task(self.done.wait())
            await asyncio.wait([reader, finished], return_when=asyncio.FIRST_COMPLETED)
            for task in (reader, finished):
                task.cancel()

    async def _read(self, resp: aiohttp.ClientResponse) -> None:
        decoder = RecordIODecoder()
        async for chunk in resp.content.iter_any():
            for record in decoder.feed(chunk):
                await self.on_event(codec.decode(record, CONTENT_TYPE, epb.Event))


async def main() -> int:
    async with aiohttp.ClientSession() as session:
        executor = CommandExecutor(session)
        await executor.run()
        if executor.process is not None and executor.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(executor.process.pid, signal.SIGKILL)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
