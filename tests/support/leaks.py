"""Find what a test left behind: child processes, pending asyncio tasks, open inet sockets.

Linux only (reads /proc). Used by the autouse fixture in tests/conftest.py.
"""

from __future__ import annotations

import asyncio
import gc
import os
import time
from dataclasses import dataclass
from pathlib import Path

# Processes started by session-scoped fixtures (the shared ZooKeeper JVM, …): never reported.
SHARED_PIDS: set[int] = set()

_TCP_STATES = {
    "01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1", "05": "FIN_WAIT2",
    "06": "TIME_WAIT", "07": "CLOSE", "08": "CLOSE_WAIT", "09": "LAST_ACK", "0A": "LISTEN", "0B": "CLOSING",
}  # fmt: skip


@dataclass(frozen=True)
class ProcessInfo:
    pid: int
    ppid: int
    state: str
    command: str

    def __str__(self) -> str:
        return f"pid {self.pid} ({self.command})"


def _read_process(pid: int) -> ProcessInfo | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        raw_cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    # comm (field 2) may contain spaces and parentheses: split after the last ')'
    rest = stat[stat.rindex(")") + 2 :].split()
    command = raw_cmd.replace(b"\0", b" ").decode("utf-8", "replace").strip()[:160]
    return ProcessInfo(pid=pid, ppid=int(rest[1]), state=rest[0], command=command)


def live_descendants(root: int | None = None) -> dict[int, ProcessInfo]:
    """Running (non-zombie) descendants of `root` (default: this process), minus SHARED_PIDS' subtrees."""
    root = os.getpid() if root is None else root
    processes: dict[int, ProcessInfo] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (info := _read_process(int(entry))) is not None:
            processes[info.pid] = info
    children: dict[int, list[int]] = {}
    for info in processes.values():
        children.setdefault(info.ppid, []).append(info.pid)
    found: dict[int, ProcessInfo] = {}
    stack = [pid for pid in children.get(root, []) if pid not in SHARED_PIDS]
    while stack:
        pid = stack.pop()
        info = processes[pid]
        if info.state != "Z":
            found[pid] = info
        stack.extend(child for child in children.get(pid, []) if child not in SHARED_PIDS)
    return found


@dataclass(frozen=True)
class SocketInfo:
    inode: int
    kind: str
    local: str
    remote: str
    state: str

    def __str__(self) -> str:
        peer = f" -> {self.remote}" if self.state != "LISTEN" and self.kind.startswith("tcp") else ""
        return f"{self.kind} {self.local}{peer} {self.state}"


def _decode_address(text: str) -> str:
    host_hex, port_hex = text.split(":")
    port = int(port_hex, 16)
    if len(host_hex) == 8:
        host = ".".join(str(b) for b in reversed(bytes.fromhex(host_hex)))
    else:
        words = [bytes.fromhex(host_hex[i : i + 8])[::-1].hex() for i in range(0, 32, 8)]
        host = ":".join(w[j : j + 4] for w in words for j in (0, 4))
    return f"{host}:{port}"


def _inet_table() -> dict[int, SocketInfo]:
    table: dict[int, SocketInfo] = {}
    for kind in ("tcp", "tcp6", "udp", "udp6"):
        try:
            lines = Path(f"/proc/self/net/{kind}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            inode = int(fields[9])
            if inode:
                state = _TCP_STATES.get(fields[3], fields[3]) if kind.startswith("tcp") else "-"
                table[inode] = SocketInfo(
                    inode, kind, _decode_address(fields[1]), _decode_address(fields[2]), state
                )
    return table


def _socket_inodes() -> set[int]:
    inodes: set[int] = set()
    fd_dir = "/proc/self/fd"
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(f"{fd_dir}/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def open_inet_sockets() -> dict[int, SocketInfo]:
    """TCP/UDP sockets (v4 and v6) this process holds a file descriptor for, by inode.

    Unix sockets are left out on purpose: every asyncio loop owns a socketpair, and the loops'
    lifetimes are pytest-asyncio's business; a leaked server or connection is always inet here.
    """
    table = _inet_table()
    return {inode: table[inode] for inode in _socket_inodes() if inode in table}


@dataclass
class Baseline:
    processes: set[int]
    sockets: set[int]


def take_baseline() -> Baseline:
    return Baseline(processes=set(live_descendants()), sockets=set(open_inet_sockets()))


def leaked_processes(baseline: Baseline, grace: float = 3.0) -> list[ProcessInfo]:
    """Descendants not in the baseline, after giving exiting ones `grace` seconds to go."""
    deadline = time.monotonic() + grace
    while True:
        new = [info for pid, info in live_descendants().items() if pid not in baseline.processes]
        if not new or time.monotonic() >= deadline:
            return new
        time.sleep(0.02)


def leaked_sockets(baseline: Baseline, grace: float = 1.0) -> list[SocketInfo]:
    """Inet sockets opened since the baseline and still open after garbage collection and `grace`."""
    deadline = time.monotonic() + grace
    while True:
        gc.collect()
        new = [info for inode, info in open_inet_sockets().items() if inode not in baseline.sockets]
        if not new or time.monotonic() >= deadline:
            return new
        time.sleep(0.02)


def pending_tasks(loop: asyncio.AbstractEventLoop, grace: float = 1.0) -> list[asyncio.Task[object]]:
    """Tasks of `loop` (not running) still pending after letting the loop run for up to `grace` seconds.

    The loop runs only so that tasks already cancelled or about to finish can complete; a task that
    is still pending after the grace period is a leak.
    """
    if loop.is_closed() or loop.is_running():
        return []
    deadline = time.monotonic() + grace
    while True:
        tasks = [task for task in asyncio.all_tasks(loop) if not task.done()]
        if not tasks or time.monotonic() >= deadline:
            return tasks
        loop.run_until_complete(asyncio.sleep(0.01))


def describe_task(task: asyncio.Task[object]) -> str:
    coro = task.get_coro()
    where = getattr(coro, "__qualname__", repr(coro))
    return f"task {task.get_name()!r} running {where}"
