"""Validation of scheduler calls, task and executor descriptions, as the Mesos master does it."""

from __future__ import annotations

import uuid

from kafka_mesos.mesos.pb import mesos_pb2 as mpb
from kafka_mesos.mesos.pb import scheduler_pb2 as spb

MAX_ID_LENGTH = 255


class CallInvalid(Exception):
    """A call that Mesos rejects with 400 "Failed to validate scheduler::Call: ..."."""


def validate_id(value: str) -> str | None:
    """The rules Mesos applies to task and executor ids; None when valid."""
    if not value:
        return "ID must not be empty"
    if len(value) > MAX_ID_LENGTH:
        return f"ID must not be greater than {MAX_ID_LENGTH} characters"
    if value in (".", ".."):
        return "'.' and '..' are disallowed"
    if "/" in value or "\\" in value:
        return "'/' and '\\' are disallowed"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return "Control characters are disallowed"
    return None


def is_valid_uuid(raw: bytes) -> bool:
    if len(raw) != 16:
        return False
    parsed = uuid.UUID(bytes=raw)
    return parsed.variant == uuid.RFC_4122 and parsed.version is not None and 1 <= parsed.version <= 5


_PAYLOAD_OF_TYPE = {
    spb.Call.SUBSCRIBE: "subscribe",
    spb.Call.ACCEPT: "accept",
    spb.Call.DECLINE: "decline",
    spb.Call.ACCEPT_INVERSE_OFFERS: "accept_inverse_offers",
    spb.Call.DECLINE_INVERSE_OFFERS: "decline_inverse_offers",
    spb.Call.KILL: "kill",
    spb.Call.SHUTDOWN: "shutdown",
    spb.Call.ACKNOWLEDGE: "acknowledge",
    spb.Call.ACKNOWLEDGE_OPERATION_STATUS: "acknowledge_operation_status",
    spb.Call.RECONCILE: "reconcile",
    spb.Call.MESSAGE: "message",
    spb.Call.REQUEST: "request",
    spb.Call.UPDATE_FRAMEWORK: "update_framework",
}


def validate_scheduler_call(call: spb.Call) -> None:
    """Structural checks of Mesos' `validation::scheduler::call::validate`."""
    if not call.HasField("type"):
        raise CallInvalid("Expecting 'type' to be present")
    payload = _PAYLOAD_OF_TYPE.get(call.type)
    if payload is not None and not call.HasField(payload):  # type: ignore[arg-type]
        raise CallInvalid(f"Expecting '{payload}' to be present")
    if call.type == spb.Call.SUBSCRIBE:
        info = call.subscribe.framework_info
        if info.HasField("id") or call.HasField("framework_id"):
            if not (info.HasField("id") and call.HasField("framework_id")) or (
                info.id.value != call.framework_id.value
            ):
                raise CallInvalid("'framework_id' differs from 'subscribe.framework_info.id'")
        return
    if not call.HasField("framework_id"):
        raise CallInvalid("Expecting 'framework_id' to be present")
    if call.type == spb.Call.ACKNOWLEDGE and not is_valid_uuid(call.acknowledge.uuid):
        raise CallInvalid("Not a valid UUID")
    if call.type == spb.Call.UPDATE_FRAMEWORK:
        info = call.update_framework.framework_info
        if info.id.value != call.framework_id.value:
            raise CallInvalid("'framework_id' differs from 'update_framework.framework_info.id'")


def validate_framework_info(info: mpb.FrameworkInfo) -> str | None:
    """Framework-level problems answered with an ERROR event, not an HTTP error."""
    multi_role = any(c.type == mpb.FrameworkInfo.Capability.MULTI_ROLE for c in info.capabilities)
    if multi_role and info.HasField("role"):
        return "'FrameworkInfo.role' must not be set when the framework is MULTI_ROLE capable"
    if not multi_role and len(info.roles) > 0:
        return "'FrameworkInfo.roles' is set but the framework is not MULTI_ROLE capable"
    if len(set(info.roles)) != len(info.roles):
        return "'FrameworkInfo.roles' contains duplicate items"
    for role in [*info.roles, *([info.role] if info.HasField("role") else [])]:
        if not role or role in (".", "..") or role.startswith("-") or role.startswith("/"):
            return f"Role '{role}' is invalid"
        if any(ch.isspace() for ch in role):
            return f"Role '{role}' is invalid: contains a whitespace"
    return None


def executor_infos_equal(left: mpb.ExecutorInfo, right: mpb.ExecutorInfo) -> bool:
    a, b = mpb.ExecutorInfo(), mpb.ExecutorInfo()
    a.CopyFrom(left)
    b.CopyFrom(right)
    for info in (a, b):
        info.ClearField("framework_id")
        for res in info.resources:
            res.ClearField("allocation_info")
    return a.SerializeToString(deterministic=True) == b.SerializeToString(deterministic=True)


def validate_task_shape(task: mpb.TaskInfo, offer_agent_id: str) -> str | None:
    """Checks that need no master state (ids, executor/command, agent id)."""
    problem = validate_id(task.task_id.value)
    if problem:
        return f"Task ID '{task.task_id.value}' is invalid: {problem}"
    if task.agent_id.value != offer_agent_id:
        return (
            f"Task uses agent id '{task.agent_id.value}' which does not match the agent "
            f"'{offer_agent_id}' of the offers"
        )
    has_executor, has_command = task.HasField("executor"), task.HasField("command")
    if has_executor == has_command:
        return "Task should have at least one (but not both) of CommandInfo or ExecutorInfo present"
    if has_executor:
        executor = task.executor
        problem = validate_id(executor.executor_id.value)
        if problem:
            return f"Executor ID '{executor.executor_id.value}' is invalid: {problem}"
        if executor.HasField("type") and executor.type == mpb.ExecutorInfo.DEFAULT:
            return "'ExecutorInfo.type' must be 'CUSTOM' when using LAUNCH"
        if not executor.HasField("command"):
            return "'ExecutorInfo.command' must be set for 'CUSTOM' executor"
    return None
