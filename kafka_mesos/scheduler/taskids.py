"""Task ids as mesos/kafka makes them: `<framework-name>-<broker id>-<uuid>`; the executor id of a
broker's own executor is the same; a shared executor (one per agent) is `<framework-name>-executor-<uuid>`."""

from __future__ import annotations

import uuid

_UUID_LEN = 36


def new_task_id(framework_name: str, broker_id: int) -> str:
    return f"{framework_name}-{broker_id}-{uuid.uuid4()}"


def new_executor_id(framework_name: str) -> str:
    return f"{framework_name}-executor-{uuid.uuid4()}"


def broker_id_of(framework_name: str, task_id: str) -> int | None:
    """The broker id a task id names, or None when it is not one of ours."""
    prefix = framework_name + "-"
    if not task_id.startswith(prefix) or len(task_id) < len(prefix) + _UUID_LEN + 2:
        return None
    middle, dash, tail = task_id[len(prefix):-_UUID_LEN - 1], task_id[-_UUID_LEN - 1], task_id[-_UUID_LEN:]
    if dash != "-" or not middle.isdigit():
        return None
    try:
        uuid.UUID(tail)
    except ValueError:
        return None
    return int(middle)
