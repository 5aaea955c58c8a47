"""Log files of a broker and the log-tail request/answer carried in framework messages.

Request (scheduler → executor MESSAGE, JSON):
``{"type": "log", "name": "stdout", "lines": 100, "request_id": "42"}``
Answer (executor → scheduler MESSAGE, JSON):
``{"type": "log", "request_id": "42", "name": "stdout", "lines": 100, "content": "..."}``
or with ``"error": "..."`` instead of ``content``. See docs/executor.md.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

DEFAULT_LINES = 100
MAX_LINES = 10000
MAX_CONTENT_BYTES = 256 * 1024
KAFKA_STDOUT = "kafka.stdout"
KAFKA_STDERR = "kafka.stderr"
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


def log_path(name: str, sandbox: Path, dist_dir: Path | None) -> Path | None:
    """Where a named log lives: ``stdout``/``stderr`` are the broker's, ``executor.*`` the executor's own,
    ``<name>.log`` a file in the distribution's ``logs/`` (``server.log``, ``controller.log``...)."""
    if name == "stdout":
        return sandbox / KAFKA_STDOUT
    if name == "stderr":
        return sandbox / KAFKA_STDERR
    if name in ("executor.stdout", "executor.stderr"):
        return sandbox / name.split(".", 1)[1]
    if _LOG_FILE.match(name) and dist_dir is not None:
        return dist_dir / "logs" / name
    return None


def answer_log_request(request: dict[str, Any], sandbox: Path, dist_dir: Path | None) -> dict[str, Any]:
    name = str(request.get("name", "stdout"))
    answer: dict[str, Any] = {"type": "log", "request_id": request.get("request_id"), "name": name}
    try:
        lines = int(request.get("lines", DEFAULT_LINES))
    except (TypeError, ValueError):
        return answer | {"error": "lines must be an integer"}
    if not 0 < lines <= MAX_LINES:
        return answer | {"error": f"lines must be in 1..{MAX_LINES}"}
    answer["lines"] = lines
    path = log_path(name, sandbox, dist_dir)
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


def failure_excerpt(sandbox: Path, dist_dir: Path | None, lines: int = 20, max_bytes: int = 3000) -> str:
    """The most telling tail after a broker died: its stderr, else stdout, else server.log."""
    candidates = [sandbox / KAFKA_STDERR, sandbox / KAFKA_STDOUT]
    if dist_dir is not None:
        candidates.append(dist_dir / "logs" / "server.log")
    for path in candidates:
        try:
            text = tail(path, lines, max_bytes).strip()
        except OSError:
            continue
        if text:
            return f"last lines of {path.name}:\n{text}"
    return "no output"
