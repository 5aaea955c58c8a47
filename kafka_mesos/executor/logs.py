"""Log files of a broker and the log-tail request/answer carried in framework messages.

Request (scheduler → executor MESSAGE, JSON):
``{"type": "log", "name": "stdout", "lines": 100, "request_id": "42", "task_id": "kafka-1-..."}``
``task_id`` picks the broker task (an executor may run several); without it the executor's only task is
meant, and it is an error when there is not exactly one.
Answer (executor → scheduler MESSAGE, JSON):
``{"type": "log", "request_id": "42", "task_id": "kafka-1-...", "name": "stdout", "lines": 100,
"content": "..."}`` or with ``"error": "..."`` instead of ``content``. See docs/executor.md.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kafka_mesos.executor.task_dir import TaskDir

DEFAULT_LINES = 100
MAX_LINES = 10000
MAX_CONTENT_BYTES = 256 * 1024
EXECUTOR_LOGS = ("executor.stdout", "executor.stderr")
_LOG_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\.log$")


def tail(path: Path, lines: int, max_bytes: int = MAX_CONTENT_BYTES) -> str:
    """The last ``lines`` lines of a file (at most ``max_bytes`` bytes), read from its end."""
    if lines <= 0:
        return ""
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        end = handle.tell()
        start = end
        data = b""
        while start > 0 and data.count(b"\n") <= lines and end - start < max_bytes:
            step = min(8192, start, max_bytes - (end - start))
            start -= step
            handle.seek(start)
            data = handle.read(step) + data
    text = data.decode("utf-8", "replace")
    kept = text.splitlines(keepends=True)[-lines:]
    return "".join(kept)


def log_path(name: str, sandbox: Path, task_dir: TaskDir | None) -> Path | None:
    """Where a named log lives: ``executor.*`` are the executor's own sandbox files; ``stdout``/``stderr``
    the broker's output and ``<name>.log`` a file in its ``LOG_DIR`` (``server.log``, ``controller.log``...),
    both in the broker's task directory."""
    if name in EXECUTOR_LOGS:
        return sandbox / name.split(".", 1)[1]
    if task_dir is None:
        return None
    if name == "stdout":
        return task_dir.stdout
    if name == "stderr":
        return task_dir.stderr
    if _LOG_FILE.match(name):
        return task_dir.logs / name
    return None


def resolve_task(request: Mapping[str, Any],
                 task_dirs: Mapping[str, TaskDir]) -> tuple[str | None, str | None]:
    """The task a request means, as ``(task_id, error)``: its ``task_id``, else the executor's only task."""
    task_id = request.get("task_id")
    if task_id is not None:
        if not isinstance(task_id, str) or task_id not in task_dirs:
            return None, f"unknown task_id {task_id!r}: this executor runs {_listing(task_dirs)}"
        return task_id, None
    if len(task_dirs) == 1:
        return next(iter(task_dirs)), None
    if not task_dirs:
        return None, "this executor runs no broker task (yet)"
    return None, f"task_id is needed: this executor runs {_listing(task_dirs)}"


def _listing(task_dirs: Mapping[str, TaskDir]) -> str:
    return ", ".join(sorted(task_dirs)) if task_dirs else "no broker task"


def answer_log_request(request: Mapping[str, Any], sandbox: Path,
                       task_dirs: Mapping[str, TaskDir]) -> dict[str, Any]:
    """The answer to a log request; ``task_dirs`` maps every task id of this executor to its directory."""
    name = str(request.get("name", "stdout"))
    answer: dict[str, Any] = {"type": "log", "request_id": request.get("request_id"), "name": name}
    if "task_id" in request:
        answer["task_id"] = request["task_id"]
    try:
        lines = int(request.get("lines", DEFAULT_LINES))
    except (TypeError, ValueError):
        return answer | {"error": "lines must be an integer"}
    if not 0 < lines <= MAX_LINES:
        return answer | {"error": f"lines must be in 1..{MAX_LINES}"}
    answer["lines"] = lines
    task_dir: TaskDir | None = None
    if name not in EXECUTOR_LOGS or "task_id" in request:
        task_id, error = resolve_task(request, task_dirs)
        if error is not None:
            return answer | {"error": error}
        assert task_id is not None
        answer["task_id"] = task_id
        task_dir = task_dirs[task_id]
    path = log_path(name, sandbox, task_dir)
    if path is None:
        known = "stdout, stderr, executor.stdout, executor.stderr or a *.log file of the broker"
        return answer | {"error": f"unknown log {name!r}: use {known}"}
    try:
        return answer | {"content": tail(path, lines)}
    except FileNotFoundError:
        return answer | {"error": f"{name} does not exist (yet)"}
    except OSError as exc:
        return answer | {"error": f"cannot read {name}: {exc.strerror}"}


def parse_request(data: bytes) -> dict[str, Any] | None:
    try:
        request = json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
    return request if isinstance(request, dict) else None


def failure_excerpt(task_dir: TaskDir, lines: int = 20, max_bytes: int = 3000) -> str:
    """The most telling tail after a broker died: its stderr, else stdout, else server.log."""
    for path in (task_dir.stderr, task_dir.stdout, task_dir.logs / "server.log"):
        try:
            text = tail(path, lines, max_bytes).strip()
        except OSError:
            continue
        if text:
            return f"last lines of {path.name}:\n{text}"
    return "no output"
