"""The issue's Done-when through the real `kafka-mesos.sh`: scheduler, the seed's add, list, kill -9,
restart, everything still there — with the file store and with ZooKeeper."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.support.ports import free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
SH = str(ROOT / "kafka-mesos.sh")
SEED = ["add", "1000..1019", "--cpus", "0.01", "--heap", "128", "--mem", "256",
        "--options", "num.io.threads=1"]

pytestmark = pytest.mark.integration


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@contextmanager
def scheduler(workdir: Path, api: str, extra: Sequence[str] = ()) -> Iterator[subprocess.Popen[bytes]]:
    log = open(workdir / "scheduler.log", "ab")
    process = subprocess.Popen([SH, "scheduler", "--api", api, *extra], cwd=workdir, stdout=log, stderr=log,
                               start_new_session=True)
    try:
        wait_until(lambda: _healthy(api) or process.poll() is not None, timeout=60, interval=0.1)
        assert process.poll() is None, (workdir / "scheduler.log").read_text()[-2000:]
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)
        log.close()


def cli(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SH, *args], cwd=workdir, capture_output=True, text=True, timeout=60)


def api_list(api: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{api}/api/broker/list", timeout=10) as response:
        body: dict[str, Any] = json.load(response)
        return body


def _roundtrip(workdir: Path, extra: Sequence[str]) -> None:
    api = f"http://127.0.0.1:{free_port()}"
    (workdir / "kafka-mesos.properties").write_text(f"api={api}\n")
    with scheduler(workdir, api, extra):
        added = cli(workdir, *SEED)
        assert added.returncode == 0, added.stderr
        assert added.stdout.startswith("brokers added:\n")
        assert added.stdout.count("\n  id: ") == 20
        listed = cli(workdir, "broker", "list")
        assert [line for line in listed.stdout.splitlines() if line.startswith("  id: ")] == [
            f"  id: {i}" for i in range(1000, 1020)]
        assert [b["id"] for b in api_list(api)["brokers"]] == [str(i) for i in range(1000, 1020)]
    # killed with SIGKILL above; a new scheduler finds everything
    with scheduler(workdir, api, extra):
        brokers = api_list(api)["brokers"]
        assert [b["id"] for b in brokers] == [str(i) for i in range(1000, 1020)]
        assert {(b["mem"], b["heap"], b["cpus"], b["options"]) for b in brokers} == {
            (256, 128, 0.01, "num.io.threads=1")}


def test_seed_add_survives_kill_9_with_the_file_store(tmp_path: Path) -> None:
    _roundtrip(tmp_path, ["--storage", f"file:{tmp_path / 'kafka-mesos.json'}"])


def test_seed_add_survives_kill_9_with_the_zookeeper_store(tmp_path: Path, zk_chroot: Any) -> None:
    _roundtrip(tmp_path, ["--storage", "zk:/kafka-mesos", "--zk", zk_chroot.connect_string])
