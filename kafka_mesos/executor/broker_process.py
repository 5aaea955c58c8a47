"""The Kafka broker as a child process:
``<dist>/bin/kafka-server-start.sh <task dir>/config/server.properties`` in its own process group, cwd and
output files in its task directory, graceful stop (SIGTERM, grace period, SIGKILL)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from kafka_mesos.executor.task_dir import TaskDir
from kafka_mesos.kafka.distribution import START_SCRIPT

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1


def _parent_death_signal() -> Callable[[], None] | None:
    """A pre-exec hook that makes the broker get SIGKILL if the executor dies without stopping it (Linux).

    ``prctl`` is looked up here, in the parent: the child must not import anything between fork and exec.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (ImportError, OSError, AttributeError):
        return None

    def hook() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)

    return hook


class BrokerProcess:
    def __init__(self, dist_dir: Path, task_dir: TaskDir, extra_env: Mapping[str, str]) -> None:
        self.dist_dir = dist_dir
        self.task_dir = task_dir
        self.extra_env = dict(extra_env)
        self._process: asyncio.subprocess.Process | None = None
        self.returncode: int | None = None
        self.force_killed = False

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    async def start(self) -> None:
        env = {**os.environ, **self.extra_env}
        stdout = self.task_dir.stdout.open("ab")
        stderr = self.task_dir.stderr.open("ab")
        try:
            self._process = await asyncio.create_subprocess_exec(
                str(self.dist_dir / START_SCRIPT),
                str(self.task_dir.server_properties),
                cwd=str(self.task_dir.root),
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                start_new_session=True,
                preexec_fn=_parent_death_signal(),
            )
        finally:
            stdout.close()
            stderr.close()
        log.info("started kafka (pid %d) from %s in %s", self._process.pid, self.dist_dir, self.task_dir.root)

    async def wait(self) -> int:
        assert self._process is not None
        self.returncode = await self._process.wait()
        self._kill_group()  # leftovers of the group, if any
        return self.returncode

    def _signal_group(self, signum: int) -> None:
        if self._process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._process.pid, signum)

    def _kill_group(self) -> None:
        self._signal_group(signal.SIGKILL)

    async def kill_after(self, delay_seconds: float) -> None:
        """SIGKILL the group after ``delay_seconds`` unless the broker has exited by then (a shorter grace
        period asked for while a stop is already running)."""
        if self._process is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._process.wait()), delay_seconds)
        except TimeoutError:
            log.warning("kafka (pid %d) killed: the grace period was shortened to %.1fs", self._process.pid,
                        delay_seconds)
            self.force_killed = True
            self._kill_group()

    async def stop(self, grace_seconds: float) -> int:
        """SIGTERM to the process group, up to ``grace_seconds`` for a clean exit, then SIGKILL."""
        if self._process is None:
            return -1
        if self._process.returncode is None:
            self._signal_group(signal.SIGTERM)
            try:
                await asyncio.wait_for(asyncio.shield(self._process.wait()), grace_seconds)
            except TimeoutError:
                log.warning("kafka (pid %d) still running %.1fs after SIGTERM: SIGKILL", self._process.pid,
                            grace_seconds)
                self.force_killed = True
        self._kill_group()
        return await self.wait()
