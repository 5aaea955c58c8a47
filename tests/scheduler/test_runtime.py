"""The composition root in-process: clean startup and shutdown, startup errors as one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from kafka_mesos.runtime.runtime import SchedulerRuntime, StartupError
from kafka_mesos.settings import Settings
from tests.support.ports import wait_until_async


def settings_for(tmp_path: Path, **changes: object) -> Settings:
    tmp_path.mkdir(parents=True, exist_ok=True)
    values: dict[str, object] = {
        "api": "http://127.0.0.1:0", "storage": f"file:{tmp_path / 'state.json'}",
        "local_work_dir": str(tmp_path / "mesos"), "local_agents": 1,
    }
    values.update(changes)
    return Settings(**values)  # type: ignore[arg-type]


async def test_runtime_starts_serves_health_subscribes_and_stops_cleanly(tmp_path: Path) -> None:
    runtime = SchedulerRuntime(settings_for(tmp_path), workdir=tmp_path)
    await runtime.start()
    try:
        assert runtime.api_url.startswith("http://127.0.0.1:") and not runtime.api_url.endswith(":0")
        assert runtime.scheduler is not None

        async def subscribed() -> bool:
            return runtime.scheduler is not None and bool(runtime.scheduler.status()["connected"])

        await wait_until_async(subscribed, timeout=30)
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{runtime.api_url}/health") as response:
                body = await response.json()
            assert response.status == 200
            assert body["scheduler"]["connected"] is True
            assert body["scheduler"]["frameworkId"]
            async with http.get(f"{runtime.api_url}/files/kafka-mesos-executor.pyz") as response:
                assert response.status == 200
        stored = json.loads((tmp_path / "state.json").read_text())
        assert body["scheduler"]["frameworkId"] in json.dumps(stored), "framework id persisted"
    finally:
        await runtime.stop()


async def test_missing_kafka_dist_is_a_startup_error(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, kafka_dist=str(tmp_path / "nope.tgz"))
    runtime = SchedulerRuntime(settings, workdir=tmp_path)
    with pytest.raises(StartupError, match="not found"):
        await runtime.start()


async def test_busy_api_port_is_a_startup_error(tmp_path: Path) -> None:
    first = SchedulerRuntime(settings_for(tmp_path / "a"), workdir=tmp_path)
    await first.start()
    try:
        busy = first.settings.api
        second = SchedulerRuntime(settings_for(tmp_path / "b", api=busy), workdir=tmp_path)
        with pytest.raises(StartupError, match="cannot listen"):
            await second.start()
    finally:
        await first.stop()


def test_scheduler_command_reports_startup_errors_on_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kafka_mesos", "scheduler", "--api", "http://127.0.0.1:0",
         "--kafka-dist", str(tmp_path / "missing.tgz"), "--storage", f"file:{tmp_path / 's.json'}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: ") and "missing.tgz" in last
    assert "Traceback" not in result.stderr


def test_bad_option_is_one_line(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "kafka_mesos", "scheduler", "--framework-timeout", "soon"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip() == ("Error: Invalid framework-timeout: 'soon' is not a duration "
                                     "(examples: 30d, 10m, 5s, 500ms)")
