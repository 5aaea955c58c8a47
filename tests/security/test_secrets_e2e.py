"""The real scheduler with API authentication and a Mesos principal/secret, driven by the real CLI:
the CLI authenticates from the environment or kafka-mesos.properties, and no credential shows in the
scheduler's log (debug level), in `broker list`, or in any error message."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ZkChroot
from tests.e2e.harness import SchedulerProcess, start_scheduler

pytestmark = pytest.mark.integration

API_PASSWORD = "api-pw-7Hq2"
MESOS_PRINCIPAL = "mesos-principal-Zx81"
MESOS_SECRET = "mesos-secret-Lm40"
SECRETS = (API_PASSWORD, MESOS_PRINCIPAL, MESOS_SECRET)


def cli(scheduler: SchedulerProcess, cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("KM_")}
    environment.update(env)
    return subprocess.run([sys.executable, "-m", "kafka_mesos", *args, "--api", scheduler.api], cwd=cwd,
                          capture_output=True, text=True, timeout=120, env=environment)


def assert_no_secret(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} shows in {where}"


@pytest.fixture
def scheduler(tmp_path: Path, zk_chroot: ZkChroot) -> Iterator[SchedulerProcess]:
    credentials = (
        "--api-auth", f"admin:{API_PASSWORD}", "--principal", MESOS_PRINCIPAL, "--secret", MESOS_SECRET)
    started = start_scheduler(tmp_path / "run", zk_chroot.connect_string, None, use_wrapper=False,
                              extra_args=credentials)
    yield started
    assert started.process.stop() == 0, started.process.errors()[-3000:]
    assert_no_secret(started.process.output() + started.process.errors(), "the scheduler's output")


def test_cli_authenticates_from_env_or_properties_and_nothing_leaks(
    scheduler: SchedulerProcess, tmp_path: Path
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    refused = cli(scheduler, plain, "broker", "list")
    assert refused.returncode != 0
    assert refused.stderr.strip().splitlines() == ["Error: authentication required"], refused.stderr

    wrong = cli(scheduler, plain, "add", "0", KM_API_AUTH=f"admin:{API_PASSWORD}x")
    assert wrong.returncode != 0 and "authentication required" in wrong.stderr
    assert_no_secret(wrong.stderr + wrong.stdout, "a refused CLI call")

    added = cli(scheduler, plain, "add", "0..2", "--cpus", "0.1", KM_API_AUTH=f"admin:{API_PASSWORD}")
    assert added.returncode == 0 and "brokers added" in added.stdout, added.stderr

    configured = tmp_path / "configured"
    configured.mkdir()
    (configured / "kafka-mesos.properties").write_text(f"api-auth=admin:{API_PASSWORD}\n")
    listed = cli(scheduler, configured, "broker", "list")
    assert listed.returncode == 0 and "id: 2" in listed.stdout, listed.stderr
    as_json = cli(scheduler, configured, "broker", "list", "--json")
    assert_no_secret(listed.stdout + as_json.stdout, "broker list")

    bad = cli(scheduler, configured, "update", "0", "--mem", "lots")
    assert bad.returncode != 0 and len(bad.stderr.strip().splitlines()) == 1
    assert_no_secret(bad.stderr, "an API error message")

    no_colon = cli(scheduler, plain, "broker", "list", KM_API_AUTH=API_PASSWORD)
    assert no_colon.returncode != 0 and "USER:PASSWORD" in no_colon.stderr
    assert_no_secret(no_colon.stderr, "a CLI configuration error")


def test_bad_api_auth_setting_fails_start_without_showing_it(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kafka_mesos", "scheduler", "--api", "http://127.0.0.1:0",
         "--api-auth", API_PASSWORD, "--secret", MESOS_SECRET, "--principal", MESOS_PRINCIPAL],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={k: v for k, v in os.environ.items() if not k.startswith("KM_")},
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "Error: Invalid api-auth: expected USER:PASSWORD (both non-empty)"], result.stderr
    missing = subprocess.run(
        [sys.executable, "-m", "kafka_mesos", "scheduler", "--api", "http://127.0.0.1:0",
         "--api-token-file", str(tmp_path / "absent")],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={k: v for k, v in os.environ.items() if not k.startswith("KM_")},
    )
    assert missing.returncode != 0 and "token file" in missing.stderr and "Traceback" not in missing.stderr
