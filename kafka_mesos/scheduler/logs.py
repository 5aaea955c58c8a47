"""`broker log`: a framework MESSAGE round trip to the broker's executor, matched by request id.

Request (scheduler → executor):
`{"type": "log", "request_id": "...", "name": "stdout", "lines": 100, "task_id": "..."}` (the task id picks
the broker when the executor runs several).
Reply (executor → scheduler): `{"type": "log", "request_id": "...", "content": "..."}` or with `"error"`.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any


class LogReplyError(Exception):
    """The executor answered with an error (missing file, bad name...)."""


class LogRequests:
    """Outstanding log requests; `resolve()` is fed every executor MESSAGE."""

    def __init__(self) -> None:
        self._waiting: dict[str, asyncio.Future[str]] = {}

    def new_request(self, name: str, lines: int, task_id: str) -> tuple[str, bytes]:
        request_id = str(uuid.uuid4())
        self._waiting[request_id] = asyncio.get_running_loop().create_future()
        payload = {"type": "log", "request_id": request_id, "name": name, "lines": lines, "task_id": task_id}
        return request_id, json.dumps(payload).encode()

    async def wait(self, request_id: str, seconds: float) -> str:
        future = self._waiting[request_id]
        try:
            async with asyncio.timeout(seconds):
                return await future
        finally:
            self._waiting.pop(request_id, None)

    def forget(self, request_id: str) -> None:
        future = self._waiting.pop(request_id, None)
        if future is not None and not future.done():
            future.cancel()

    def resolve(self, data: bytes) -> bool:
        """Complete the request this executor message answers; False when it answers none of ours."""
        try:
            reply: Any = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            return False
        if not isinstance(reply, dict):
            return False
        future = self._waiting.get(str(reply.get("request_id", "")))
        if future is None or future.done():
            return False
        if reply.get("error"):
            future.set_exception(LogReplyError(str(reply["error"])))
        else:
            future.set_result(str(reply.get("content", "")))
        return True

    def fail_all(self, message: str) -> None:
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(LogReplyError(message))
