"""Seed launch benchmark: time from `start 1000..1019` to twenty brokers RUNNING, against a floor.

    .venv/bin/python bench/seed_launch.py [--rounds 3] [--content-type protobuf|json]
                                          [--executor-scope agent|broker]

The scheduler runs as `python -m kafka_mesos scheduler` with its embedded local Mesos (3 agents), the
stand-in Kafka distribution of the tests, and a real ZooKeeper started here (loopback, free ports).
Launch time = from the `start` request until the API reports all twenty brokers `running` (the executor
reports TASK_RUNNING only after the broker registered itself in ZooKeeper).
Floor = spawning the same twenty stand-in brokers directly (already extracted, no Mesos, no executor) and
waiting until all twenty are registered under /brokers/ids.
CPU = user + system seconds of all processes of a run once they have exited and been reaped: for the
scheduler, the whole run (its start, the launch, the stop; executors and brokers included), for the floor,
the twenty stand-ins. On a shared machine wall time moves with the load; CPU seconds much less.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
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

IDS = list(range(1000, 1020))
READY = re.compile(r"kafka-mesos scheduler ready: api (\S+)")


def api_call(api: str, route: str, **params: str) -> Any:
    body = urllib.parse.urlencode(params).encode()
    with urllib.request.urlopen(f"{api}/api/broker/{route}", data=body, timeout=300) as response:
        return json.loads(response.read())


def registered(zk: KazooClient) -> int:
    return len(zk.get_children("/brokers/ids")) if zk.exists("/brokers/ids") else 0


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def process_cpu(pid: int) -> float:
    """Own CPU seconds of a live process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    utime, stime = (int(f) / tick for f in fields[11:13])
    return utime + stime


def measure_scheduler(work: Path, zk_connect: str, dist: Path, content_type: str,
                      executor_scope: str) -> float:
    work.mkdir(parents=True)
    base = free_port_block(300)
    out, err = (work / "scheduler.stdout").open("wb"), (work / "scheduler.stderr").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "kafka_mesos", "scheduler", "--api", "http://127.0.0.1:0", "--zk", zk_connect,
         "--storage", f"file:{work / 'state.json'}", "--kafka-dist", str(dist), "--local-work-dir",
         str(work / "mesos"), "--mesos-content-type", content_type, "--executor-scope", executor_scope,
         "--local-resources", f"cpus:4;mem:8192;disk:20480;ports:[{base}-{base + 299}]"],
        cwd=work, stdout=out, stderr=err,
    )
    try:
        match = wait_until(lambda: READY.search((work / "scheduler.stdout").read_text()), timeout=120)
        api = match.group(1)
        api_call(api, "add", broker="1000..1019", cpus="0.01", heap="128", mem="256",
                 options="num.io.threads=1")
        ready_cpu = process_cpu(process.pid)
        began = time.monotonic()
        answer = api_call(api, "start", broker="1000..1019", timeout="300s")
        elapsed = time.monotonic() - began
        if answer.get("status") != "started":
            raise RuntimeError(f"start did not complete: {answer.get('status')}")
        launched_cpu = process_cpu(process.pid)
        api_call(api, "stop", broker="1000..1019", timeout="300s")
        stopped_cpu = process_cpu(process.pid)
        print(f"  scheduler process CPU: start-up {ready_cpu:.2f} s, "
              f"launch {launched_cpu - ready_cpu:.2f} s, "
              f"stop {stopped_cpu - launched_cpu:.2f} s (the rest of the run's CPU: executors and brokers)",
              flush=True)
        return elapsed
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(120)
        out.close()
        err.close()


def measure_floor(work: Path, zk_connect: str, dist: Path, zk: KazooClient) -> float:
    """Twenty stand-in brokers spawned directly; time until all twenty are registered."""
    top = standin_top_dir()
    brokers: list[tuple[Path, dict[str, str]]] = []
    base = free_port_block(len(IDS))
    for broker_id in IDS:
        home = work / f"broker-{broker_id}"
        home.mkdir(parents=True)
        with tarfile.open(dist) as archive:
            archive.extractall(home, filter="data")
        kafka = home / top
        port = base + broker_id - IDS[0]
        config = kafka / "config" / "server.properties"
        config.write_text(config.read_text() + f"\nbroker.id={broker_id}\nlisteners=PLAINTEXT://127.0.0.1:{port}\n"
                          f"log.dirs={home / 'kafka-logs'}\nzookeeper.connect={zk_connect}\n"
                          "num.io.threads=1\n")
        env = dict(os.environ, KAFKA_HEAP_OPTS="-Xmx128M -Xms128M")
        brokers.append((kafka, env))
    processes = []
    began = time.monotonic()
    for kafka, env in brokers:
        processes.append(subprocess.Popen(
            [str(kafka / "bin" / "kafka-server-start.sh"), str(kafka / "config" / "server.properties")],
            cwd=kafka, env=env, stdout=subprocess.DEVNULL, stderr=(kafka / "stderr").open("wb"),
            start_new_session=True,
        ))

    def all_registered() -> bool:
        for (kafka, _), process in zip(brokers, processes, strict=True):
            if process.poll() is not None:
                raise RuntimeError(f"stand-in in {kafka} exited: {(kafka / 'stderr').read_text()[-2000:]}")
        return registered(zk) == len(IDS)

    try:
        wait_until(all_registered, timeout=300, interval=0.01)
        return time.monotonic() - began
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--content-type", choices=("protobuf", "json"), default="protobuf")
    parser.add_argument("--executor-scope", choices=("agent", "broker"), default="agent",
                        help="one executor per agent (default) or one per broker")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, sandboxes)")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="seed-bench-"))
    zk_server = ZooKeeperServer(base / "zookeeper")
    zk_server.start()
    try:
        dist = build_standin_dist(base / "dist")
        launches: list[float] = []
        floors: list[float] = []
        launch_cpus: list[float] = []
        floor_cpus: list[float] = []
        for round_number in range(args.rounds):
            chroot = f"/bench-{round_number}"
            zk = KazooClient(hosts=zk_server.connect_string + chroot, timeout=10)
            admin = KazooClient(hosts=zk_server.connect_string, timeout=10)
            admin.start(30)
            admin.ensure_path(chroot)
            admin.stop()
            admin.close()
            zk.start(30)
            try:
                connect = zk_server.connect_string + chroot
                cpu = children_cpu()
                floors.append(measure_floor(base / f"floor-{round_number}", connect, dist, zk))
                floor_cpus.append(children_cpu() - cpu)
                wait_until(lambda zk=zk: registered(zk) == 0, timeout=120)
                cpu = children_cpu()
                launches.append(measure_scheduler(base / f"run-{round_number}", connect, dist,
                                                  args.content_type, args.executor_scope))
                launch_cpus.append(children_cpu() - cpu)
            finally:
                zk.stop()
                zk.close()
            print(f"round {round_number + 1}: start→20 RUNNING {launches[-1]:.2f} s, "
                  f"floor {floors[-1]:.2f} s, ratio {launches[-1] / floors[-1]:.2f}; CPU: scheduler run "
                  f"{launch_cpus[-1]:.2f} s, floor {floor_cpus[-1]:.2f} s; load {os.getloadavg()[0]:.1f}",
                  flush=True)
        launch, floor = statistics.median(launches), statistics.median(floors)
        setup = f"{args.content_type}, executor per {args.executor_scope}"
        print(f"median over {args.rounds} rounds ({setup}): start→20 RUNNING {launch:.2f} s, "
              f"floor {floor:.2f} s, ratio {launch / floor:.2f}; CPU: scheduler run "
              f"{statistics.median(launch_cpus):.2f} s, floor {statistics.median(floor_cpus):.2f} s")
    finally:
        zk_server.stop()
        if args.keep:
            print(f"work directory kept: {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
