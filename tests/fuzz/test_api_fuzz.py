"""Schemathesis against the live scheduler (subprocess, embedded local Mesos, real ZooKeeper): no 5xx, every
refusal has the JSON error body, and a refused request leaves the stored broker specs as they were.

A bounded number of examples per operation and generation mode; `bench/fuzz_api.py` runs many more."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ZkChroot
from tests.e2e.harness import start_scheduler
from tests.fuzz.api_fuzz import broker_specs, fuzz_api

pytestmark = pytest.mark.integration

EXAMPLES = 6


def post_raw(url: str, body: bytes, content_type: str) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_schemathesis_against_the_live_scheduler(tmp_path: Path, zk_chroot: ZkChroot) -> None:
    scheduler = start_scheduler(tmp_path / "run", zk_chroot.connect_string, None, use_wrapper=False)
    state_file = tmp_path / "run" / "kafka-mesos.json"
    try:
        status, _ = post_raw(f"{scheduler.api}/api/broker/add", b"broker=1&cpus=0.5",
                             "application/x-www-form-urlencoded")
        assert status == 200
        before = broker_specs(state_file)
        assert set(before) == {"1"}
        for body, content_type in ((b"broker=\xe7\x95X", "application/x-www-form-urlencoded"),
                                   (b'{"broker": "\xff"}', "application/json")):
            status, answer = post_raw(f"{scheduler.api}/api/broker/update", body, content_type)
            assert status == 400 and answer == {"code": 400, "error": "the request body is not valid UTF-8",
                                                "field": None}
        assert broker_specs(state_file) == before

        report = fuzz_api(scheduler.api, state_file, EXAMPLES)
        assert report.problems == [], "\n".join(report.problems[:20])
        assert report.requests > 300, report.statuses
        assert report.statuses[200] > 0 and report.statuses[400] > 100, report.statuses
        assert scheduler.process.popen.poll() is None, "the scheduler survived"
        health = scheduler.api_get("/health")
        assert health["status"] == "ok"
    finally:
        assert scheduler.process.stop() == 0, scheduler.process.errors()[-3000:]
    assert "Traceback" not in scheduler.process.errors()
