"""Sandbox layout, the executor's environment (exactly the agent's MESOS_* set) and process
management (own process group, stdout/stderr files, kill the whole group)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from dataclasses import dataclass
from pathlib import Path

from kafka_mesos.localmesos.config import format_duration
from kafka_mesos.mesos.pb import mesos_pb2 as mpb

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
RECOVERY_TIMEOUT = "15mins"
SUBSCRIPTION_BACKOFF_MAX = "2secs"


def sandbox_path(
    work_dir: Path, agent_id: str, framework_id: str, executor_id: str, container_id: str
) -> Path:
    return (
        work_dir
        / "slaves"
        / agent_id
        / "frameworks"
        / framework_id
        / "executors"
        / executor_id
        / "runs"
        / container_id
    )


def create_sandbox(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    latest = path.parent / "latest"
    with contextlib.suppress(OSError):
        if latest.is_symlink() or latest.exists():
            latest.unlink()
        latest.symlink_to(path.name)


@dataclass(frozen=True)
class ExecutorEnvironment:
    agent_id: str
    agent_ip: str
    agent_port: int
    framework_id: str
    executor_id: str
    directory: Path
    checkpoint: bool
    shutdown_grace_period: float
    http_command_executor: bool = False

    def variables(self, command: mpb.CommandInfo) -> dict[str, str]:
        env = {
            "LIBPROCESS_IP": self.agent_ip,
            "LIBPROCESS_PORT": "0",
            "MESOS_AGENT_ENDPOINT": f"{self.agent_ip}:{self.agent_port}",
            "MESOS_CHECKPOINT": "1" if self.checkpoint else "0",
            "MESOS_DIRECTORY": str(self.directory),
            "MESOS_EXECUTOR_ID": self.executor_id,
            "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD": format_duration(self.shutdown_grace_period),
            "MESOS_FRAMEWORK_ID": self.framework_id,
            "MESOS_HTTP_COMMAND_EXECUTOR": "1" if self.http_command_executor else "0",
            "MESOS_SANDBOX": str(self.directory),
            "MESOS_SLAVE_ID": self.agent_id,
            "MESOS_SLAVE_PID": f"slave(1)@{self.agent_ip}:{self.agent_port}",
        }
        if self.checkpoint:
            env["MESOS_RECOVERY_TIMEOUT"] = RECOVERY_TIMEOUT
            env["MESOS_SUBSCRIPTION_BACKOFF_MAX"] = SUBSCRIPTION_BACKOFF_MAX
        for variable in command.environment.variables:
            if variable.type != mpb.Environment.Variable.SECRET:
                env[variable.name] = variable.value
        env.setdefault("PATH", DEFAULT_PATH)
        return env


async def spawn(command: mpb.CommandInfo, directory: Path, env: dict[str, str]) -> asyncio.subprocess.Process:
    """Start `command` in `directory` in its own process group; output goes to the sandbox's
    `stdout`/`stderr` files. `shell` (default true) runs `/bin/sh -c value`; otherwise `value` is the
    program and `arguments` the full argv."""
    with (directory / "stdout").open("ab") as out, (directory / "stderr").open("ab") as err:
        if command.shell:
            return await asyncio.create_subprocess_exec(
                "/bin/sh",
                "-c",
                command.value,
                cwd=directory,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        argv = list(command.arguments) or [command.value]
        return await asyncio.create_subprocess_exec(
            argv[0],
            *argv[1:],
            executable=command.value,
            cwd=directory,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )


def kill_group(process: asyncio.subprocess.Process, sig: int = signal.SIGKILL) -> None:
    """Signal the whole group, also after the leader exited (its children may live on)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


def wait_status(returncode: int) -> int:
    """The raw `waitpid` status Mesos puts into FAILURE events."""
    if returncode >= 0:
        return (returncode & 0xFF) << 8
    return -returncode & 0x7F
