"""A real ZooKeeper server (Debian's `zookeeper` package, run with Java) for tests, on 127.0.0.1 only."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tests.support.ports import LOOPBACK, free_port, wait_until

if TYPE_CHECKING:
    from kazoo.client import KazooClient

JAVA_DIR = Path("/usr/share/java")
# zookeeper.jar's manifest Class-Path names every runtime dependency the Debian package ships;
# slf4j-simple gives its log a destination (our log file) instead of the "no binding" warning.
CLASSPATH_JARS = ("zookeeper.jar", "slf4j-simple.jar")
MAIN_CLASS = "org.apache.zookeeper.server.ZooKeeperServerMain"

# Small ticks so session-expiry tests are fast: sessions may be as short as 2 ticks (400 ms).
DEFAULT_TICK_MS = 200
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


class ZooKeeperError(RuntimeError):
    """The test ZooKeeper could not be started or stopped."""


def four_letter_word(port: int, word: str, timeout: float = 1.0) -> str:
    """Send a whitelisted 4-letter command (ruok, srvr) and return the answer ('' when unreachable)."""
    try:
        with socket.create_connection((LOOPBACK, port), timeout=timeout) as sock:
            sock.sendall(word.encode("ascii"))
            chunks: list[bytes] = []
            while chunk := sock.recv(4096):
                chunks.append(chunk)
            return b"".join(chunks).decode("utf-8", "replace")
    except OSError:
        return ""


def zookeeper_available() -> bool:
    """True when Java and the Debian ZooKeeper jars are installed."""
    java_ok = any((Path(d) / "java").is_file() for d in os.environ.get("PATH", "").split(os.pathsep))
    return java_ok and all((JAVA_DIR / jar).is_file() for jar in CLASSPATH_JARS)


class ZooKeeperServer:
    """One standalone ZooKeeper process with its config, data and log under `data_dir`.

    `start()` picks a free loopback port (kept across `restart()`), waits until `ruok` answers `imok`.
    `stop()` kills the JVM (SIGKILL: a crash, like `kill -9`) and waits for it; `stop(graceful=True)`
    sends SIGTERM first.
    """

    def __init__(self, data_dir: Path, tick_time_ms: int = DEFAULT_TICK_MS, port: int | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.tick_time_ms = tick_time_ms
        self.port = port or 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def connect_string(self) -> str:
        if not self.port:
            raise ZooKeeperError("ZooKeeper was never started: no port yet")
        return f"{LOOPBACK}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def log_path(self) -> Path:
        return self.data_dir / "zookeeper.log"

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def serving(self) -> bool:
        """True when the server answers `srvr` with its status (it is serving client requests)."""
        return "Zookeeper version:" in four_letter_word(self.port, "srvr")

    def _write_config(self) -> Path:
        (self.data_dir / "data").mkdir(parents=True, exist_ok=True)
        config = self.data_dir / "zoo.cfg"
        config.write_text(
            "\n".join(
                [
                    f"tickTime={self.tick_time_ms}",
                    f"dataDir={self.data_dir / 'data'}",
                    f"clientPort={self.port}",
                    f"clientPortAddress={LOOPBACK}",
                    "admin.enableServer=false",
                    "4lw.commands.whitelist=ruok,srvr",
                    f"minSessionTimeout={2 * self.tick_time_ms}",
                    "maxSessionTimeout=60000",
                    "maxClientCnxns=0",
                    # batch writes of thousands of znodes: keep snapshots/log rolls from dominating
                    "snapCount=200000",
                    "autopurge.purgeInterval=0",
                    "",
                ]
            )
        )
        return config

    def _command(self, config: Path) -> list[str]:
        classpath = os.pathsep.join(str(JAVA_DIR / jar) for jar in CLASSPATH_JARS)
        return [
            "java",
            "-Xmx256m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
            "-Dzookeeper.jmx.log4j.disable=true",
            "-Dzookeeper.admin.enableServer=false",
            # the default 1 MB request limit stays; said here so it is visible
            "-Djute.maxbuffer=1048575",
            "-cp",
            classpath,
            MAIN_CLASS,
            str(config),
        ]

    def start(self, timeout: float = START_TIMEOUT) -> None:
        if self.running:
            raise ZooKeeperError(f"ZooKeeper already running (pid {self.pid})")
        keep_port = bool(self.port)
        attempts = 1 if keep_port else 3
        for attempt in range(attempts):
            if not keep_port:
                self.port = free_port()
            self._spawn()
            try:
                self._wait_ready(timeout)
                return
            except ZooKeeperError:
                self._kill()
                if attempt == attempts - 1:
                    raise

    def _spawn(self) -> None:
        config = self._write_config()
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                self._command(config),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                start_new_session=True,  # a Ctrl-C on pytest must not kill it before teardown
            )

    def _wait_ready(self, timeout: float) -> None:
        process = self._process
        assert process is not None

        def ready() -> bool:
            if process.poll() is not None:
                raise ZooKeeperError(
                    f"ZooKeeper exited with {process.returncode} on port {self.port}:\n{self.log_tail()}"
                )
            # `ruok` answers imok before the server serves requests; `srvr` tells the difference
            return four_letter_word(self.port, "ruok") == "imok" and self.serving()

        try:
            wait_until(ready, timeout=timeout, interval=0.05, message=f"ZooKeeper ruok on port {self.port}")
        except TimeoutError as exc:
            raise ZooKeeperError(f"{exc}\n{self.log_tail()}") from exc

    def _kill(self, graceful: bool = False) -> None:
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            if graceful:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    pass
            if process.poll() is None:
                process.kill()
            process.wait(timeout=STOP_TIMEOUT)
        self._process = None

    def stop(self, graceful: bool = False) -> None:
        """Stop the server and wait until the process is gone and the port is closed."""
        self._kill(graceful)
        if self.port:
            wait_until(
                lambda: four_letter_word(self.port, "ruok", timeout=0.2) == "",
                timeout=STOP_TIMEOUT,
                message=f"ZooKeeper port {self.port} closed",
            )

    def restart(self, timeout: float = START_TIMEOUT) -> None:
        """Kill and start again on the same port with the same data directory."""
        self.stop()
        self.start(timeout)

    def __enter__(self) -> ZooKeeperServer:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


@dataclass(frozen=True)
class ZkChroot:
    """A unique, existing chroot on a shared server (fixture `zk_chroot`); `connect_string` includes it."""

    server: ZooKeeperServer
    path: str

    @property
    def connect_string(self) -> str:
        return f"{self.server.connect_string}{self.path}"


@contextmanager
def kazoo_client(connect: str) -> Iterator[KazooClient]:
    """A started kazoo client on `connect` (``host:port[/chroot]``), stopped and closed afterwards."""
    from kazoo.client import KazooClient

    client = KazooClient(hosts=connect, timeout=10.0)
    client.start(timeout=30.0)
    try:
        yield client
    finally:
        client.stop()
        client.close()


def expire_session(client: KazooClient, server: ZooKeeperServer, timeout: float = 20.0) -> None:
    """Make ZooKeeper expire `client`'s session for real, then wait until `client` has seen LOST.

    The classic trick: a second client joins the same session (id and password) and closes it; the
    server ends the session, and the first client is told SESSION_EXPIRED when it next talks to it.
    kazoo then opens a new session on its own (CONNECTED again).
    """
    from kazoo.client import KazooClient as Client
    from kazoo.protocol.states import KazooState

    session_id, password = client.client_id
    lost = threading.Event()

    def on_state(state: KazooState) -> bool:
        if state == KazooState.LOST:
            lost.set()
            return True  # remove this listener
        return False

    client.add_listener(on_state)
    intruder = Client(hosts=server.connect_string, client_id=(session_id, password), timeout=timeout)
    try:
        intruder.start(timeout=timeout)
        if intruder.client_id[0] != session_id:
            raise ZooKeeperError("could not join the session to expire it (the server gave a new one)")
    finally:
        intruder.stop()
        intruder.close()
    deadline = time.monotonic() + timeout
    while not lost.wait(0.05):
        if time.monotonic() > deadline:
            client.remove_listener(on_state)
            raise TimeoutError(f"client did not see its session 0x{session_id:x} expire within {timeout}s")


def delete_tree(client: KazooClient, path: str, ops_per_transaction: int = 1000) -> None:
    """Delete `path` and everything below it, many znodes per transaction (kazoo's recursive delete
    sends one request per znode: minutes for 10,000). Leaves are found by trying: a delete of a znode
    with children fails (NotEmpty) and that one is emptied first."""
    from kazoo.exceptions import NotEmptyError

    children = [f"{path.rstrip('/')}/{child}" for child in client.get_children(path)]
    start = 0
    while start < len(children):
        chunk = children[start : start + ops_per_transaction]
        transaction = client.transaction()
        for node in chunk:
            transaction.delete(node)
        results = transaction.commit()
        failed = [(node, r) for node, r in zip(chunk, results, strict=True) if isinstance(r, NotEmptyError)]
        if failed:
            delete_tree(client, failed[0][0], ops_per_transaction)  # deletes it too
            children.remove(failed[0][0])
            continue  # retry the rest of the chunk
        errors = [type(r).__name__ for r in results if isinstance(r, Exception)]
        if errors:
            raise ZooKeeperError(f"deleting below {path} failed: {errors}")
        start += ops_per_transaction
    client.delete(path)
