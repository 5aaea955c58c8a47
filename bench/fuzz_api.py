"""A larger schemathesis run against a live scheduler than the suite's (tests/fuzz/test_api_fuzz.py).

    .venv/bin/python bench/fuzz_api.py [--examples 100] [--api-auth USER:PASSWORD]

Starts a ZooKeeper and the scheduler (embedded local Mesos, file store) on loopback, generates valid and
invalid requests for every operation of /api/openapi.json and checks each answer: no 5xx (501 of a route
that cannot serve here is listed apart), every 4xx has the JSON error body, a refused request leaves the
stored broker specs unchanged. With --api-auth the scheduler asks for credentials and the run sends them.
Prints the request count by status and every problem; exits 1 if there is one.
"""

from __future__ import annotations

import argparse
import base64
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.harness import start_scheduler  # noqa: E402
from tests.fuzz.api_fuzz import fuzz_api  # noqa: E402
from tests.support.zookeeper import ZooKeeperServer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=100, help="per operation and generation mode")
    parser.add_argument("--api-auth", default=None)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="fuzz-bench-"))
    zk = ZooKeeperServer(base / "zookeeper")
    zk.start()
    extra = ("--api-auth", args.api_auth) if args.api_auth else ()
    authorization = "Basic " + base64.b64encode(args.api_auth.encode()).decode() if args.api_auth else None
    try:
        scheduler = start_scheduler(base / "run", zk.connect_string, None, use_wrapper=False,
                                    extra_args=extra)
        try:
            began = time.monotonic()
            report = fuzz_api(scheduler.api, base / "run" / "kafka-mesos.json", args.examples,
                              authorization=authorization)
            elapsed = time.monotonic() - began
        finally:
            scheduler.process.stop()
        statuses = dict(sorted(report.statuses.items()))
        print(f"{report.requests} requests in {elapsed:.0f} s; by status: {statuses}")
        if report.not_available:
            print(f"501 (not available here): {', '.join(sorted(report.not_available))}")
        for problem in report.problems:
            print("PROBLEM:", problem)
        print(f"{len(report.problems)} problem(s)")
        sys.exit(1 if report.problems else 0)
    finally:
        zk.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
