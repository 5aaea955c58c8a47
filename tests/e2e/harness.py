"""Runs the real scheduler (and optionally a separate local Mesos) as subprocesses, and the real CLI.

Everything binds to 127.0.0.1 with ports chosen at run time; each process writes its output to files in the
test's directory so that a failure shows what happened.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.ports import free_port_block, wait_until

ROOT = Path(__file__).resolve().parents[2]
WRAPPER = ROOT / "kafka-mesos.sh"
READY = re.compile(r"kafka-mesos scheduler ready: api (\S+) master (\S+)")
MASTER_URL = re.compile(r"(http://127\.0\.0\.1:\d+)")


def agent_resources(base: int, per_agent: int, index: int) -> str:
    first = base + index * per_agent
    return f"cpus:4;mem:8192;disk:20480;ports:[{first}-{first + per_agent - 1}]"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("KM_API", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path

    def output(self) -> str:
        return self.stdout.read_text(errors="replace")

    def errors(self) -> str:
        return self.stderr.read_text(errors="replace")

    def stop(self, timeout: float = 60.0) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                return self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)
                raise AssertionError(f"{self.name} did not stop on SIGTERM within {timeout}s") from None
        return self.popen.returncode


def spawn(name: str, argv: list[str], workdir: Path) -> Process:
    workdir.mkdir(parents=True, exist_ok=True)
    stdout, stderr = workdir / f"{name}.stdout", workdir / f"{name}.stderr"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        popen = subprocess.Popen(argv, cwd=workdir, stdout=out, stderr=err, env=_env(),
                                 start_new_session=False)
    return Process(name, popen, stdout, stderr)


@dataclass
class SchedulerProcess:
    process: Process
    api: str
    master: str
    workdir: Path
    mesos_work_dir: Path
    extra: dict[str, Any] = field(default_factory=dict)

    def cli(self, *args: str, timeout: float = 120.0, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([sys.executable, "-m", "kafka_mesos", *args, "--api", self.api],
                                cwd=self.workdir, capture_output=True, text=True, timeout=timeout, env=_env())
        if check and result.returncode != 0:
            raise AssertionError(f"CLI {args} failed ({result.returncode}): {result.stderr}{result.stdout}")
        return result

    def api_get(self, path: str) -> Any:
        with urllib.request.urlopen(self.api + path, timeout=30) as response:
            return json.loads(response.read())

    def brokers(self) -> dict[int, dict[str, Any]]:
        return {int(b["id"]): b for b in self.api_get("/api/broker/list")["brokers"]}


def start_scheduler(workdir: Path, zk_connect: str, dist: Path | None, *, content_type: str = "protobuf",
                    master: str | None = None, use_wrapper: bool = True, extra_args: tuple[str, ...] = (),
                    timeout: float = 120.0) -> SchedulerProcess:
    mesos_work_dir = workdir / "mesos"
    command = [str(WRAPPER)] if use_wrapper else [sys.executable, "-m", "kafka_mesos"]
    base = free_port_block(300)  # split by the scheduler among its 3 local agents
    resources = f"cpus:4;mem:8192;disk:20480;ports:[{base}-{base + 299}]"
    argv = [*command, "scheduler", "--api", "http://127.0.0.1:0", "--zk", zk_connect,
            "--local-resources", resources,
            "--storage", f"file:{workdir / 'kafka-mesos.json'}", "--mesos-content-type", content_type,
            "--local-work-dir", str(mesos_work_dir), "--debug", *extra_args]
    if dist is not None:
        argv += ["--kafka-dist", str(dist)]
    if master is not None:
        argv += ["--master", master]
    process = spawn("scheduler", argv, workdir)

    def ready() -> re.Match[str] | None:
        if process.popen.poll() is not None:
            code = process.popen.returncode
            raise AssertionError(f"scheduler exited with {code}: {process.errors()[-3000:]}")
        return READY.search(process.output())

    match = wait_until(ready, timeout=timeout, interval=0.05, message="scheduler ready line")
    return SchedulerProcess(process, match.group(1), match.group(2), workdir, mesos_work_dir)


def start_local_mesos(workdir: Path, agents: int = 3, timeout: float = 60.0) -> tuple[Process, str]:
    base = free_port_block(100 * agents)
    argv = [sys.executable, "-m", "kafka_mesos", "local-mesos", "--port", "0", "--agents", str(agents),
            "--work-dir", str(workdir / "mesos")]
    for index in range(agents):
        argv += ["--agent-resources", f"{index}={agent_resources(base, 100, index)}"]
    process = spawn("local-mesos", argv, workdir)

    def ready() -> re.Match[str] | None:
        if process.popen.poll() is not None:
            code = process.popen.returncode
            raise AssertionError(f"local-mesos exited with {code}: {process.errors()[-3000:]}")
        return MASTER_URL.search(process.output())

    match = wait_until(ready, timeout=timeout, interval=0.05, message="local-mesos master URL")
    return process, match.group(1)


def processes_in(directory: Path, exclude: set[int] | None = None) -> list[int]:
    """Pids of live processes running in `directory` (their cwd or command line is under it)."""
    found = []
    text = str(directory)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in (exclude or set()):
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if state != "Z" and (text in cmdline or cwd.startswith(text)):
            found.append(int(entry.name))
    return found
