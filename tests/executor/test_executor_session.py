from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator

import pytest

from kafka_mesos.mesos import codec
from kafka_mesos.mesos.executor_session import (
    JSON,
    PROTOBUF,
    ExecutorEnv,
    ExecutorEnvError,
    ExecutorSession,
    SessionEnd,
    UpdateBook,
    parse_duration,
)
from kafka_mesos.mesos.pb import executor_pb2, mesos_pb2
from tests.executor.agent_double import AgentDouble
from tests.support.captures import CAPTURES


def test_parse_duration() -> None:
    assert parse_duration("15mins") == 900.0
    assert parse_duration("2secs") == 2.0
    assert parse_duration("1500ms") == 1.5
    assert parse_duration("2.5secs") == 2.5
    assert parse_duration("1weeks") == 604800.0
    for bad in ("15", "15 minutes", "secs", "-1secs", ""):
        with pytest.raises(ValueError):
            parse_duration(bad)


def base_environ(endpoint: str = "127.0.0.1:5051", checkpoint: str = "1") -> dict[str, str]:
    return {
        "MESOS_AGENT_ENDPOINT": endpoint,
        "MESOS_CHECKPOINT": checkpoint,
        "MESOS_DIRECTORY": "/sandbox",
        "MESOS_SANDBOX": "/sandbox",
        "MESOS_EXECUTOR_ID": "kafka-1-e",
        "MESOS_FRAMEWORK_ID": "fw-0000",
        "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD": "5secs",
        "MESOS_RECOVERY_TIMEOUT": "15mins",
        "MESOS_SUBSCRIPTION_BACKOFF_MAX": "2secs",
        "MESOS_SLAVE_ID": "agent-S0",
    }


def test_env_from_the_captured_agent_environment() -> None:
    captured = json.loads((CAPTURES / "executor-env.json").read_text())
    env = ExecutorEnv.from_environ(captured["checkpoint_true"]["env"])
    assert (env.agent_host, env.agent_port) == ("127.0.0.1", 5051)
    assert env.checkpoint is True
    assert env.recovery_timeout == 900.0
    assert env.subscription_backoff_max == 2.0
    assert env.shutdown_grace_period == 5.0
    assert env.executor_id == "capture-executor-1"
    assert env.agent_id == "06689982-0dc2-47a1-9aa2-14c5f5890d63-S0"
    plain = ExecutorEnv.from_environ(captured["checkpoint_false"]["env"])
    assert plain.checkpoint is False
    assert plain.recovery_timeout == 900.0  # absent → Mesos' default


def test_env_rejects_what_mesos_never_sets() -> None:
    with pytest.raises(ExecutorEnvError, match="MESOS_CHECKPOINT"):
        ExecutorEnv.from_environ(base_environ(checkpoint="true"))
    with pytest.raises(ExecutorEnvError, match="MESOS_AGENT_ENDPOINT"):
        ExecutorEnv.from_environ(base_environ(endpoint="localhost"))
    environ = base_environ()
    del environ["MESOS_FRAMEWORK_ID"]
    with pytest.raises(ExecutorEnvError, match="MESOS_FRAMEWORK_ID"):
        ExecutorEnv.from_environ(environ)
    assert ExecutorEnv.from_environ(base_environ(endpoint="[::1]:5051")).agent_host == "::1"


def test_subscribe_bytes_equal_the_real_agent_capture() -> None:
    first = json.loads((CAPTURES / "executor-protobuf.jsonl").read_text().splitlines()[0])
    decoded = first["decoded"]
    book = UpdateBook(decoded["framework_id"]["value"], decoded["executor_id"]["value"])
    assert codec.encode(book.subscribe_call(), PROTOBUF) == base64.b64decode(first["body_b64"])


def make_task(task_id: str = "kafka-1-abc") -> mesos_pb2.TaskInfo:
    task = mesos_pb2.TaskInfo(name="kafka-1", data=b"{}")
    task.task_id.value = task_id
    task.agent_id.value = "agent-S0"
    return task


def status_of(task_id: str, state: int) -> mesos_pb2.TaskStatus:
    status = mesos_pb2.TaskStatus(state=state)  # type: ignore[arg-type]
    status.task_id.value = task_id
    return status


def test_update_book_keeps_updates_until_acknowledged() -> None:
    book = UpdateBook("fw", "ex")
    book.launched(make_task())
    starting_uuid = uuid.uuid4().bytes
    call = book.update_call(status_of("kafka-1-abc", mesos_pb2.TASK_STARTING), starting_uuid, 1700000000.5)
    status = call.update.status
    assert status.uuid == starting_uuid
    assert status.source == mesos_pb2.TaskStatus.SOURCE_EXECUTOR
    assert status.executor_id.value == "ex"
    assert status.timestamp == 1700000000.5
    assert (call.framework_id.value, call.executor_id.value) == ("fw", "ex")
    running_uuid = uuid.uuid4().bytes
    book.update_call(status_of("kafka-1-abc", mesos_pb2.TASK_RUNNING), running_uuid, 1700000001.0)
    subscribe = book.subscribe_call()
    resent = [u.status.uuid for u in subscribe.subscribe.unacknowledged_updates]
    assert resent == [starting_uuid, running_uuid]
    assert [t.task_id.value for t in subscribe.subscribe.unacknowledged_tasks] == ["kafka-1-abc"]
    assert book.acknowledged("kafka-1-abc", b"not ours") is None
    acked = book.acknowledged("kafka-1-abc", starting_uuid)
    assert acked is not None and acked.state == mesos_pb2.TASK_STARTING
    subscribe = book.subscribe_call()
    assert [u.status.uuid for u in subscribe.subscribe.unacknowledged_updates] == [running_uuid]
    assert not subscribe.subscribe.unacknowledged_tasks  # the task has an acknowledged update now
    assert book.is_pending("kafka-1-abc")


class RecordingHandler:
    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []
        self.changed = asyncio.Event()

    def _record(self, kind: str, value: object) -> None:
        self.events.append((kind, value))
        self.changed.set()

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.events]

    async def on_subscribed(self, subscribed: executor_pb2.Event.Subscribed) -> None:
        self._record("subscribed", subscribed.agent_info.hostname)

    async def on_launch(self, task: mesos_pb2.TaskInfo) -> None:
        self._record("launch", task.task_id.value)

    async def on_kill(self, task_id: str, grace_seconds: float | None) -> None:
        self._record("kill", task_id)

    async def on_acknowledged(self, status: mesos_pb2.TaskStatus) -> None:
        self._record("acknowledged", mesos_pb2.TaskState.Name(status.state))

    async def on_message(self, data: bytes) -> None:
        self._record("message", data)

    async def on_shutdown(self) -> None:
        self._record("shutdown", None)

    async def on_error(self, message: str) -> None:
        self._record("error", message)

    async def wait_for(self, kind: str, count: int = 1) -> None:
        async with asyncio.timeout(20):
            while self.kinds().count(kind) < count:
                self.changed.clear()
                await self.changed.wait()


@pytest.fixture
async def agent() -> AsyncIterator[AgentDouble]:
    double = AgentDouble(auto_ack=False)
    await double.start()
    yield double
    await double.stop()


async def run_session(session: ExecutorSession) -> asyncio.Task[SessionEnd]:
    return asyncio.create_task(session.run(), name="executor-session")


@pytest.mark.parametrize("content_type", [PROTOBUF, JSON])
async def test_unacknowledged_update_is_resent_after_the_agent_drops_the_stream(
    agent: AgentDouble, content_type: str
) -> None:
    environ = base_environ(agent.endpoint) | {"MESOS_SUBSCRIPTION_BACKOFF_MAX": "50ms"}
    handler = RecordingHandler()
    session = ExecutorSession(ExecutorEnv.from_environ(environ), handler, content_type)
    runner = await run_session(session)
    try:
        await handler.wait_for("subscribed")
        await agent.launch(make_task())
        await handler.wait_for("launch")
        first_uuid = await session.send_update(status_of("kafka-1-abc", mesos_pb2.TASK_STARTING))
        await agent.wait_for(lambda: len(agent.updates()) == 1)
        assert agent.headers[-1]["Content-Type"] == content_type
        assert agent.updates()[0].uuid == first_uuid

        await agent.drop_stream()  # the agent restarts before acknowledging
        await handler.wait_for("subscribed", 2)
        resubscribe = agent.calls_of(executor_pb2.Call.SUBSCRIBE)[-1].subscribe
        assert [u.status.uuid for u in resubscribe.unacknowledged_updates] == [first_uuid]
        assert resubscribe.unacknowledged_updates[0].status.state == mesos_pb2.TASK_STARTING
        assert [t.task_id.value for t in resubscribe.unacknowledged_tasks] == ["kafka-1-abc"]

        await agent.acknowledge(agent.updates()[0])
        await handler.wait_for("acknowledged")
        assert not session.book.unacknowledged_updates
        await agent.drop_stream()
        await handler.wait_for("subscribed", 3)
        assert not agent.calls_of(executor_pb2.Call.SUBSCRIBE)[-1].subscribe.unacknowledged_updates

        await agent.message(b"\x00hello\xff")
        await agent.kill("kafka-1-abc")
        await agent.shutdown()
        await handler.wait_for("shutdown")
        assert ("message", b"\x00hello\xff") in handler.events
        assert ("kill", "kafka-1-abc") in handler.events
        assert await session.send_message(b"reply\x00")
        assert agent.calls_of(executor_pb2.Call.MESSAGE)[-1].message.data == b"reply\x00"
    finally:
        session.stop()
        assert await runner == SessionEnd.STOPPED


async def test_without_checkpointing_the_session_ends_when_the_agent_goes(agent: AgentDouble) -> None:
    handler = RecordingHandler()
    session = ExecutorSession(ExecutorEnv.from_environ(base_environ(agent.endpoint, checkpoint="0")), handler)
    runner = await run_session(session)
    await handler.wait_for("subscribed")
    await agent.drop_stream()
    assert await asyncio.wait_for(runner, 20) == SessionEnd.AGENT_GONE
    assert len(agent.calls_of(executor_pb2.Call.SUBSCRIBE)) == 1


async def test_checkpointing_session_retries_until_the_recovery_timeout(agent: AgentDouble) -> None:
    environ = base_environ(agent.endpoint) | {
        "MESOS_RECOVERY_TIMEOUT": "600ms",
        "MESOS_SUBSCRIPTION_BACKOFF_MAX": "50ms",
    }
    handler = RecordingHandler()
    session = ExecutorSession(ExecutorEnv.from_environ(environ), handler)
    runner = await run_session(session)
    await handler.wait_for("subscribed")
    agent.accepting = False  # the agent is recovering: 503 to every SUBSCRIBE
    await agent.drop_stream()
    assert await asyncio.wait_for(runner, 20) == SessionEnd.RECOVERY_TIMEOUT
    assert len(handler.kinds()) == 1  # never subscribed again


async def test_launch_group_is_refused_and_auth_token_is_sent(agent: AgentDouble) -> None:
    environ = base_environ(agent.endpoint) | {"MESOS_EXECUTOR_AUTHENTICATION_TOKEN": "s3cret"}
    handler = RecordingHandler()
    session = ExecutorSession(ExecutorEnv.from_environ(environ), handler)
    runner = await run_session(session)
    try:
        await handler.wait_for("subscribed")
        event = executor_pb2.Event(type=executor_pb2.Event.LAUNCH_GROUP)
        event.launch_group.task_group.tasks.append(make_task("group-task"))
        await agent.send(event)
        await agent.wait_for(lambda: len(agent.updates()) == 1)
        refused = agent.updates()[0]
        assert (refused.task_id.value, refused.state) == ("group-task", mesos_pb2.TASK_ERROR)
        assert "LAUNCH_GROUP" in refused.message
        assert len(refused.uuid) == 16 and uuid.UUID(bytes=refused.uuid).version == 4
        assert all(h["Authorization"] == "Bearer s3cret" for h in agent.headers)
        assert "launch" not in handler.kinds()
    finally:
        session.stop()
        await runner
