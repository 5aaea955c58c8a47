"""Scale launch: 200 brokers on 50 local agents → all RUNNING; wall time, scheduler CPU seconds, executor RSS.

    .venv/bin/python bench/scale_launch.py [--brokers 200] [--agents 50]

The local Mesos runs as a process of its own (tests/faults/mesos_process.py: every agent its own port
range; 4 ports per agent, so the 200 brokers spread over all 50 agents), the scheduler as
`python -m kafka_mesos scheduler --master <it>` with the stand-in Kafka distribution and a real ZooKeeper.
- Launch time: the `start` request until the API reports every broker `running` (registered in ZooKeeper).
- Scheduler CPU: user+system seconds of the scheduler process over that time (from /proc).
- Executor RSS: VmRSS of every executor process once all brokers run (median and max).
Floors, same run: spawning the same 200 stand-in brokers directly (already extracted; one that dies is
started again), and the
RSS of a bare `python3` running an asyncio loop (the executor's interpreter, nothing imported).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kazoo.client import KazooClient  # noqa: E402

from tests.support.ports import free_port_block, wait_until  # noqa: E402
from tests.support.standin import build_standin_dist, standin_top_dir  # noqa: E402
from tests.support.zookeeper import ZooKeeperServer  # noqa: E402

READY = re.compile(r"kafka-mesos scheduler ready: api (\S+)")
MASTER = re.compile(r"master (http://127\.0\.0\.1:\d+)")
PORTS_PER_AGENT = 4


def api_call(api: str, route: str, **params: str) -> Any:
    body = urllib.parse.urlencode(params).encode()
    with urllib.request.urlopen(f"{api}/api/broker/{route}", data=body, timeout=900) as response:
        return json.loads(response.read())


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pids_with(marker: str, under: Path) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                cwd = os.readlink(f"/proc/{entry}/cwd")
            except OSError:
                continue
            if marker in cmdline and cwd.startswith(str(under)):
                found.append(int(entry))
    return found


def spawn(argv: list[str], work: Path, name: str) -> subprocess.Popen[bytes]:
    work.mkdir(parents=True, exist_ok=True)
    with (work / f"{name}.stdout").open("wb") as out, (work / f"{name}.stderr").open("wb") as err:
        return subprocess.Popen(argv, cwd=work, stdout=out, stderr=err)


def measure_project(base: Path, zk_connect: str, dist: Path, brokers: int, agents: int) -> dict[str, Any]:
    ports = free_port_block(agents * PORTS_PER_AGENT)
    mesos = spawn([sys.executable, str(ROOT / "tests" / "faults" / "mesos_process.py"), "--work-dir",
                   str(base / "mesos"), "--agents", str(agents), "--ports-base", str(ports),
                   "--ports-per-agent", str(PORTS_PER_AGENT), "--heartbeat-interval", "15"], base, "mesos")
    scheduler: subprocess.Popen[bytes] | None = None
    try:
        master = wait_until(lambda: MASTER.search((base / "mesos.stdout").read_text()), timeout=120).group(1)
        scheduler = spawn([sys.executable, "-m", "kafka_mesos", "scheduler", "--api", "http://127.0.0.1:0",
                           "--master", master, "--zk", zk_connect, "--storage", f"file:{base / 'state.json'}",
                           "--kafka-dist", str(dist)], base, "scheduler")
        api = wait_until(lambda: READY.search((base / "scheduler.stdout").read_text()), timeout=120).group(1)
        ids = f"0..{brokers - 1}"
        api_call(api, "add", broker=ids, cpus="0.01", heap="64", mem="128", options="num.io.threads=1")
        cpu_before = cpu_seconds(scheduler.pid)
        began = time.monotonic()
        answer = api_call(api, "start", broker=ids, timeout="900s")
        elapsed = time.monotonic() - began
        cpu = cpu_seconds(scheduler.pid) - cpu_before
        if answer.get("status") != "started":
            raise RuntimeError(f"start did not complete: {answer.get('status')}")
        listing = api_call(api, "list", broker="*")["brokers"]
        used_agents = {b["task"]["slaveId"] for b in listing if "task" in b}
        executor_rss = [rss_mb(pid) for pid in pids_with("kafka-mesos-executor", base / "mesos")]
        api_call(api, "stop", broker=ids, timeout="900s")
        return {"elapsed": elapsed, "cpu": cpu, "agents": len(used_agents), "executor_rss": executor_rss}
    finally:
        for process in (scheduler, mesos):
            if process is not None:
                process.send_signal(signal.SIGTERM)
                process.wait(300)


def measure_floor(
    work: Path, zk_connect: str, dist: Path, zk: KazooClient, brokers: int
) -> tuple[float, int]:
    """The stand-ins spawned directly (already extracted); one that dies (200 Python processes starting at
    once on a small machine can lose their ZooKeeper connection) is started again. → (seconds, restarts)"""
    top = standin_top_dir()
    homes = []
    ports = free_port_block(brokers)  # below the ephemeral range: client sockets cannot take them meanwhile
    for broker_id in range(brokers):
        home = work / f"broker-{broker_id}"
        home.mkdir(parents=True)
        with tarfile.open(dist) as archive:
            archive.extractall(home, filter="data")
        kafka = home / top
        config = kafka / "config" / "server.properties"
        config.write_text(config.read_text() + f"\nbroker.id={broker_id}\nlisteners=PLAINTEXT://127.0.0.1:"
                          f"{ports + broker_id}\nlog.dirs={home / 'kafka-logs'}\n"
                          f"zookeeper.connect={zk_connect}\n")
        homes.append(kafka)
    env = dict(os.environ, KAFKA_HEAP_OPTS="-Xmx64M -Xms64M")

    def start(kafka: Path) -> subprocess.Popen[bytes]:
        return subprocess.Popen([str(kafka / "bin" / "kafka-server-start.sh"), "config/server.properties"],
                                cwd=kafka, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    began = time.monotonic()
    processes = [start(kafka) for kafka in homes]
    restarts = 0

    def all_registered() -> bool:
        nonlocal restarts
        for index, process in enumerate(processes):
            if process.poll() is not None:
                processes[index] = start(homes[index])
                restarts += 1
        return len(zk.get_children("/brokers/ids")) == brokers if zk.exists("/brokers/ids") else False

    try:
        wait_until(all_registered, timeout=900, interval=0.05)
        return time.monotonic() - began, restarts
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(120)


def bare_python_rss(base: Path) -> float:
    process = subprocess.Popen(["python3", "-c", "import asyncio, sys; print('up', flush=True); "
                                "asyncio.run(asyncio.sleep(60))"], stdout=subprocess.PIPE)
    try:
        assert process.stdout is not None
        process.stdout.readline()
        return rss_mb(process.pid)
    finally:
        process.kill()
        process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--brokers", type=int, default=200)
    parser.add_argument("--agents", type=int, default=50)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="scale-bench-"))
    zk_server = ZooKeeperServer(base / "zookeeper")
    zk_server.start()
    try:
        dist = build_standin_dist(base / "dist")
        admin = KazooClient(hosts=zk_server.connect_string, timeout=10)
        admin.start(30)
        admin.ensure_path("/floor")
        admin.ensure_path("/project")
        admin.stop()
        admin.close()
        zk = KazooClient(hosts=zk_server.connect_string + "/floor", timeout=10)
        zk.start(30)
        try:
            floor, restarts = measure_floor(base / "floor", zk_server.connect_string + "/floor", dist, zk,
                                            args.brokers)
        finally:
            zk.stop()
            zk.close()
        project = measure_project(base / "project", zk_server.connect_string + "/project", dist, args.brokers,
                                  args.agents)
        bare = bare_python_rss(base)
        rss = project["executor_rss"]
        elapsed = project["elapsed"]
        print(f"{args.brokers} brokers on {project['agents']} agents: start→all RUNNING {elapsed:.1f} s, "
              f"floor (spawn the stand-ins directly) {floor:.1f} s, ratio {elapsed / floor:.2f} "
              f"({restarts} stand-ins restarted in the floor)")
        print(f"scheduler CPU during the launch: {project['cpu']:.1f} s "
              f"({project['cpu'] / args.brokers * 1000:.0f} ms per broker)")
        if rss:
            print(f"executor RSS over {len(rss)} executors: median {statistics.median(rss):.1f} MB, max "
                  f"{max(rss):.1f} MB; floor (bare python3 with asyncio) {bare:.1f} MB, ratio "
                  f"{statistics.median(rss) / bare:.2f} (goal < 40 MB)")
    finally:
        zk_server.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
