"""`--ha` / `--no-ha` / `--zk-session-timeout` on the scheduler's command line, and their refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from kafka_mesos.cli.scheduler_cmd import scheduler_command
from kafka_mesos.settings import load_settings

ZK = ["--storage", "zk:/km", "--zk", "127.0.0.1:2181", "--master", "zk://127.0.0.1:2181/mesos"]


def parsed(args: list[str], tmp_path: Path) -> dict[str, str | None]:
    context = scheduler_command.make_context("scheduler", args)
    return {k.replace("_", "-"): v for k, v in context.params.items() if k != "config"}


@pytest.mark.parametrize(("flags", "expected"), [([], True), (["--ha"], True), (["--no-ha"], False)])
def test_ha_switches(flags: list[str], expected: bool, tmp_path: Path) -> None:
    settings = load_settings(parsed([*ZK, *flags], tmp_path), env={}, cwd=tmp_path)
    assert settings.ha_enabled is expected


def test_session_timeout_option(tmp_path: Path) -> None:
    settings = load_settings(parsed([*ZK, "--zk-session-timeout", "4s"], tmp_path), env={}, cwd=tmp_path)
    assert settings.zk_session_timeout == 4.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ha"], "Invalid ha: leader election needs the ZooKeeper storage"),
        (["--ha", "--storage", "zk:/km", "--zk", "127.0.0.1:2181"], "not the embedded one"),
        ([*ZK, "--zk-session-timeout", "500ms"], "Invalid zk-session-timeout: 0.5s is too short"),
    ],
)
def test_refused_in_one_line(args: list[str], message: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(scheduler_command, args, env={"KM_HA": None})
    assert result.exit_code == 1
    assert message in result.output and len(result.output.strip().splitlines()) == 1
