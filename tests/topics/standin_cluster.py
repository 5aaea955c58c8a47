"""Stand-in Kafka brokers started directly (no Mesos) on a real ZooKeeper chroot, for the topic tests."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from kazoo.client import KazooClient

from tests.executor.standin_helpers import unpack_standin
from tests.support.ports import free_port, wait_until_async


@dataclass
class StandinCluster:
    home: Path
    zk_connect: str
    pace_ms: int
    processes: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, broker_id: int, rack: str | None = None) -> None:
        workdir = self.home.parent / f"broker-{broker_id}"
        workdir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        config = workdir / "server.properties"
        lines = [f"broker.id={broker_id}", f"zookeeper.connect={self.zk_connect}",
                 f"log.dirs={workdir / 'data'}", f"listeners=PLAINTEXT://127.0.0.1:{port}",
                 f"standin.reassign.partition.ms={self.pace_ms}"]
        if rack is not None:
            lines.append(f"broker.rack={rack}")
        config.write_text("\n".join(lines) + "\n")
        env = {**os.environ, "LOG_DIR": str(workdir / "logs")}
        env.pop("STANDIN_REASSIGN_PARTITION_MS", None)
        with (workdir / "stdout").open("wb") as out:
            self.processes[broker_id] = subprocess.Popen(
                [str(self.home / "bin" / "kafka-server-start.sh"), str(config)], stdout=out,
                stderr=subprocess.STDOUT, env=env)

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


@contextmanager
def standin_cluster(tmp_path: Path, zk_connect: str, pace_ms: int = 50) -> Iterator[StandinCluster]:
    home = unpack_standin(tmp_path / "dist")
    cluster = StandinCluster(home, zk_connect, pace_ms)
    try:
        yield cluster
    finally:
        cluster.stop_all()


async def wait_registered(zk: KazooClient, ids: set[int], timeout: float = 60.0) -> None:  # noqa: ASYNC109
    def registered() -> bool:
        children = zk.get_children("/brokers/ids") if zk.exists("/brokers/ids") else []
        return ids <= {int(c) for c in children}

    await wait_until_async(registered, timeout=timeout, interval=0.05,
                           message=f"brokers {sorted(ids)} registered")
