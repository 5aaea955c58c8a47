"""What a scheduler costs on Marathon (the numbers behind deploy/marathon.json's cpus/mem/disk), and takeover.

Starts its own ZooKeeper, a local Mesos process registered in it, and two `--ha` schedulers (leader and
hot standby). Adds `--brokers` brokers (stopped, state only) and starts `--running` of them, then measures
for each scheduler: resident memory (VmRSS, and the peak VmHWM) and CPU used over an idle window of
`--idle` seconds; the disk of the virtualenv the wrapper creates; and the takeover time after kill -9 of
the leader with `--session-timeout`.

    .venv/bin/python bench/ha_footprint.py [--brokers 1000] [--running 5] [--idle 30] [--session-timeout 2s]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.ha.procs import HaScheduler, kill, start_ha_scheduler, start_local_mesos  # noqa: E402
from tests.support.ports import wait_until  # noqa: E402
from tests.support.standin import build_standin_dist  # noqa: E402
from tests.support.zookeeper import ZooKeeperServer  # noqa: E402

RUNTIME_PACKAGES = ("aiohttp", "aiohappyeyeballs", "aiosignal", "attr", "attrs", "frozenlist", "multidict",
                    "propcache", "yarl", "idna", "kazoo", "click", "google", "protobuf", "kafka_mesos")


def memory_kb(pid: int) -> tuple[int, int]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def cpu_seconds(pid: int) -> float:
    parts = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def site_packages_mb() -> float:
    site = next((ROOT / ".venv" / "lib").glob("python3*/site-packages"))
    total = 0
    for entry in site.iterdir():
        if entry.name.split("-")[0].split(".")[0].lower() in RUNTIME_PACKAGES:
            paths = entry.rglob("*") if entry.is_dir() else [entry]
            total += sum(p.stat().st_size for p in paths if p.is_file())
    return total / 1e6


def report(label: str, scheduler: HaScheduler, idle: float) -> None:
    pid = scheduler.process.popen.pid
    before = cpu_seconds(pid)
    time.sleep(idle)  # measuring an idle window, not synchronising
    used = cpu_seconds(pid) - before
    rss, peak = memory_kb(pid)
    print(f"{label}: rss {rss / 1024:.0f} MB, peak {peak / 1024:.0f} MB, "
          f"cpu {used / idle * 100:.1f}% of a core while idle ({idle:g}s)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--brokers", type=int, default=1000)
    parser.add_argument("--running", type=int, default=5)
    parser.add_argument("--idle", type=float, default=30.0)
    parser.add_argument("--session-timeout", default="2s")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="km-ha-bench-") as tmp:
        work = Path(os.environ.get("KM_BENCH_DIR") or tmp)
        server = ZooKeeperServer(work / "zookeeper")
        server.start()
        processes = []
        try:
            dist = build_standin_dist(work / "dist")
            zk = f"{server.connect_string}/kafka"
            master = f"zk://{server.connect_string}/mesos"
            mesos, _ = start_local_mesos(work, "local-mesos", master, agents=3)
            processes.append(mesos)
            leader = start_ha_scheduler(work, "leader", zk=zk, master=master, dist=dist,
                                        session_timeout=args.session_timeout)
            processes.append(leader.process)
            wait_until(lambda: leader.health()["scheduler"]["connected"], timeout=60)
            standby = start_ha_scheduler(work, "standby", zk=zk, master=master, dist=dist,
                                         session_timeout=args.session_timeout)
            processes.append(standby.process)
            leader.cli("add", f"0..{args.brokers - 1}", "--cpus", "0.01", "--mem", "128", "--heap", "64")
            if args.running:
                leader.cli("start", f"0..{args.running - 1}", "--timeout", "180s", timeout=300)
            wait_until(lambda: len(standby.brokers()) == args.brokers, timeout=60)
            print(f"{args.brokers} brokers, {args.running} running")
            report("leader", leader, args.idle)
            report("standby", standby, args.idle)
            print(f"runtime packages in the virtualenv: {site_packages_mb():.0f} MB")
            kill(leader.process)
            killed = time.monotonic()
            wait_until(lambda: standby.health()["scheduler"]["connected"], timeout=60, interval=0.01)
            print(f"takeover after kill -9 (session timeout {args.session_timeout}): "
                  f"{time.monotonic() - killed:.2f}s")
            report("new leader", standby, min(args.idle, 10.0))
            if args.running:
                standby.cli("stop", f"0..{args.running - 1}", "--timeout", "180s", timeout=300)
        finally:
            for process in reversed(processes):
                process.stop()
            server.stop()


if __name__ == "__main__":
    main()
