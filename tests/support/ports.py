"""Loopback ports and condition waiting with deadlines (no fixed sleeps in tests)."""

from __future__ import annotations

import asyncio
import inspect
import random
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

T = TypeVar("T")

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (bind port 0, read it, release it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_open(port: int, host: str = LOOPBACK, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _describe(message: str | None, predicate: object, timeout: float) -> str:
    what = message or getattr(predicate, "__name__", repr(predicate))
    return f"condition not met within {timeout:g}s: {what}"


def wait_until(
    predicate: Callable[[], T],
    timeout: float = 10.0,
    interval: float = 0.02,
    message: str | None = None,
) -> T:
    """Poll `predicate` until it returns a truthy value (returned) or raise TimeoutError at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(_describe(message, predicate, timeout))
        time.sleep(interval)


@overload
async def wait_until_async(
    predicate: Callable[[], Awaitable[T]],
    timeout: float = ...,  # noqa: ASYNC109
    interval: float = ...,
    message: str | None = ...,
) -> T: ...


@overload
async def wait_until_async(
    predicate: Callable[[], T],
    timeout: float = ...,  # noqa: ASYNC109
    interval: float = ...,
    message: str | None = ...,
) -> T: ...


async def wait_until_async(
    predicate: Callable[[], Any],
    timeout: float = 10.0,  # noqa: ASYNC109 -- a polling deadline, named like wait_until's
    interval: float = 0.02,
    message: str | None = None,
) -> Any:
    """Async twin of `wait_until`; `predicate` may be a plain or an async callable."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        value = await result if inspect.isawaitable(result) else result
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(_describe(message, predicate, timeout))
        await asyncio.sleep(interval)


def free_port_block(count: int) -> int:
    """The first port of `count` consecutive loopback ports that are free right now (outside the
    ephemeral range, so that brokers' ports do not collide with other tests running alongside)."""
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20000, 30000 - count)
        sockets = []
        try:
            for port in range(base, base + count):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sockets.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError(f"no block of {count} free ports found")
