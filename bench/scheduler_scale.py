"""The scheduler at scale: `broker list` latency and RSS at 10,000 brokers, reconciliation of 1,000 tasks.

    .venv/bin/python bench/scheduler_scale.py [--brokers 10000] [--requests 100] [--tasks 1000] [--list-only]

Each measure runs the real scheduler (`python -m kafka_mesos scheduler`, file store, embedded local Mesos)
as a subprocess on loopback, and a floor in the same run:
- API `broker list` (all brokers, GET, keep-alive client) p50/p99; also with one broker changed (an
  untimed `broker update`) before each GET. Floors, both bare aiohttp servers
  answering the very same list: `web.json_response` of the parsed list (serialising on every request,
  what the project did before its rendered-JSON cache), and the same bytes kept encoded (`web.Response`,
  the transfer alone: the least any aiohttp server pays for 2.7 MB).
- Scheduler RSS with 10,000 brokers loaded. Floor: a Python process that imports what the scheduler
  imports (aiohttp, kazoo, protobuf, the generated Mesos messages) and holds the same state file parsed.
- Reconciliation: a scheduler restart that finds 1,000 tasks in its store, from process start until
  /health says it is subscribed and no task is left to reconcile (the launch gate is open). The tasks are
  the store's records only: the local master answers "unknown" for each (TASK_LOST), the same message
  round trip as for known tasks. Floor: the same restart with no task in the store.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kafka_mesos.core.model import TASK_RUNNING, Broker, Task  # noqa: E402
from kafka_mesos.state.filestore import encode_state  # noqa: E402
from kafka_mesos.state.store import Versioned  # noqa: E402
from tests.support.ports import wait_until  # noqa: E402

READY = re.compile(r"kafka-mesos scheduler ready: api (\S+)")
FLOOR_READY = re.compile(r"floor ready: (\S+)")


def write_state(path: Path, brokers: int, tasks: int) -> None:
    records = {}
    for i in range(brokers):
        task = None
        if i < tasks:
            task_id = f"kafka-{i}-00000000-0000-4000-8000-{i:012d}"
            task = Task(task_id=task_id, agent_id="gone-S0", executor_id=task_id, hostname="127.0.0.1",
                        port=31000 + i, state=TASK_RUNNING, endpoint=f"127.0.0.1:{31000 + i}")
        broker = Broker(id=i, cpus=0.01, mem=256, heap=128, options={"num.io.threads": "1"},
                        active=i < tasks, task=task)
        records[i] = Versioned(data=broker.to_dict(), version=0)
    path.write_bytes(encode_state(None, records))


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


class Server:
    def __init__(self, argv: list[str], work: Path, ready: re.Pattern[str]) -> None:
        work.mkdir(parents=True, exist_ok=True)
        self.out, self.err = work / "stdout", work / "stderr"
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.popen = subprocess.Popen(argv, cwd=work, stdout=out, stderr=err)
        self.started = time.monotonic()

        def is_ready() -> re.Match[str] | None:
            if self.popen.poll() is not None:
                raise RuntimeError(f"{argv[:4]} exited: {self.err.read_text()[-2000:]}")
            return ready.search(self.out.read_text())

        self.url = wait_until(is_ready, timeout=300, interval=0.01).group(1)

    def stop(self) -> None:
        self.popen.send_signal(signal.SIGTERM)
        self.popen.wait(120)


def scheduler(work: Path, state: Path) -> Server:
    return Server([sys.executable, "-m", "kafka_mesos", "scheduler", "--api", "http://127.0.0.1:0",
                   "--storage", f"file:{state}", "--local-work-dir", str(work / "mesos")], work, READY)


def latencies(url: str, path: str, requests: int) -> list[float]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    samples = []
    try:
        for _ in range(requests + 3):
            began = time.perf_counter()
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read()
            samples.append(time.perf_counter() - began)
            assert response.status == 200 and body
    finally:
        connection.close()
    return sorted(samples[3:])  # the first requests warm caches up


def latencies_after_changes(url: str, path: str, requests: int, brokers: int) -> list[float]:
    """Like `latencies`, but before each timed GET one broker is changed (an untimed `broker update`):
    the list is then made again from the cached texts of the 9,999 others and one fresh render."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    samples = []
    try:
        for n in range(requests + 3):
            connection.request("GET", f"/api/broker/update?broker={(n * 7919) % brokers}&mem={300 + n}")
            changed = connection.getresponse()
            assert changed.status == 200, changed.read()
            changed.read()
            began = time.perf_counter()
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read()
            samples.append(time.perf_counter() - began)
            assert response.status == 200 and f'"mem": {300 + n}'.encode() in body
    finally:
        connection.close()
    return sorted(samples[3:])


def p(samples: list[float], q: float) -> float:
    return samples[min(len(samples) - 1, int(q * len(samples)))] * 1000


FLOOR_SERVER = textwrap.dedent("""
    import asyncio, json, socket, sys
    from aiohttp import web
    import kazoo.client, google.protobuf  # what the scheduler imports, for the RSS floor
    from kafka_mesos.mesos.pb import mesos_pb2, scheduler_pb2
    state = json.loads(open(sys.argv[1], "rb").read())
    raw = open(sys.argv[2], "rb").read()
    body = json.loads(raw)
    async def handler(request):
        return web.json_response(body)
    async def encoded(request):
        return web.Response(body=raw, content_type="application/json", charset="utf-8")
    async def main():
        app = web.Application()
        app.router.add_get("/api/broker/list", handler)
        app.router.add_get("/encoded", encoded)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        sock = socket.socket(); sock.bind(("127.0.0.1", 0)); sock.listen(128)
        await web.SockSite(runner, sock).start()
        print(f"floor ready: http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
        await asyncio.Event().wait()
    asyncio.run(main())
""")


def measure_list_and_rss(base: Path, brokers: int, requests: int) -> dict[str, Any]:
    state = base / "list" / "state.json"
    state.parent.mkdir(parents=True)
    write_state(state, brokers, 0)
    server = scheduler(base / "list", state)
    try:
        project = latencies(server.url, "/api/broker/list", requests)
        changed = latencies_after_changes(server.url, "/api/broker/list", requests, brokers)
        project_rss = rss_mb(server.popen.pid)
        parts = urlsplit(server.url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
        connection.request("GET", "/api/broker/list")
        listing = connection.getresponse().read()
        connection.close()
    finally:
        server.stop()
    (base / "listing.json").write_bytes(listing)
    (base / "floor.py").write_text(FLOOR_SERVER)
    floor_server = Server([sys.executable, str(base / "floor.py"), str(state), str(base / "listing.json")],
                          base / "floor", FLOOR_READY)
    try:
        floor = latencies(floor_server.url, "/api/broker/list", requests)
        transfer = latencies(floor_server.url, "/encoded", requests)
        floor_rss = rss_mb(floor_server.popen.pid)
    finally:
        floor_server.stop()
    return {"brokers": len(json.loads(listing)["brokers"]), "bytes": len(listing), "project": project,
            "floor": floor, "transfer": transfer, "changed": changed, "project_rss": project_rss,
            "floor_rss": floor_rss}


def health(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request("GET", "/health")
        answer: dict[str, Any] = json.loads(connection.getresponse().read())
        return answer
    finally:
        connection.close()


def time_to_gate_open(base: Path, name: str, tasks: int) -> tuple[float, float]:
    """(process start → gate open, first seen subscribed → gate open)"""
    state = base / name / "state.json"
    state.parent.mkdir(parents=True)
    write_state(state, tasks, tasks)
    began = time.monotonic()
    server = scheduler(base / name, state)
    subscribed: list[float] = []
    try:
        def gate_open() -> bool:
            status = health(server.url).get("scheduler", {})
            if status.get("connected") and not subscribed:
                subscribed.append(time.monotonic())
            return bool(status.get("connected")) and status.get("reconciling") == 0
        wait_until(gate_open, timeout=300, interval=0.005)
        now = time.monotonic()
        return now - began, now - subscribed[0]
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--brokers", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--list-only", action="store_true", help="skip the restart measures")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="scheduler-scale-") as temp:
        base = Path(temp)
        result = measure_list_and_rss(base, args.brokers, args.requests)
        proj, floor, transfer, changed = (result["project"], result["floor"], result["transfer"],
                                          result["changed"])
        print(f"broker list, {result['brokers']} brokers ({result['bytes'] / 1e6:.1f} MB JSON), "
              f"{args.requests} GETs:")
        print(f"  project p50 {p(proj, 0.5):.1f} ms  p99 {p(proj, 0.99):.1f} ms")
        print(f"  project, one broker changed before each GET  p50 {p(changed, 0.5):.1f} ms  "
              f"p99 {p(changed, 0.99):.1f} ms")
        print(f"  floor, json_response per request  p50 {p(floor, 0.5):.1f} ms  "
              f"p99 {p(floor, 0.99):.1f} ms   ratio p99 {p(proj, 0.99) / p(floor, 0.99):.2f}")
        print(f"  floor, the bytes kept encoded     p50 {p(transfer, 0.5):.1f} ms  "
              f"p99 {p(transfer, 0.99):.1f} ms   ratio p99 {p(proj, 0.99) / p(transfer, 0.99):.2f}"
              "   (goal p99 < 50 ms)")
        print(f"scheduler RSS with {result['brokers']} brokers: {result['project_rss']:.0f} MB, floor "
              f"{result['floor_rss']:.0f} MB, ratio {result['project_rss'] / result['floor_rss']:.2f} "
              "(goal < 150 MB)")
        if args.list_only:
            return
        (total, after_subscribe), (empty, _) = (time_to_gate_open(base, "reconcile", args.tasks),
                                                 time_to_gate_open(base, "empty", 0))
        print(f"restart with {args.tasks} tasks: process start to launch gate open {total:.2f} s "
              f"(of which subscribed to gate open {after_subscribe:.2f} s); floor: the same restart with "
              f"no task {empty:.2f} s; ratio {total / empty:.2f} (goal < 5 s)")


if __name__ == "__main__":
    main()
