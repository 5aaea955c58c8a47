"""help, the API URL resolution, unreachable API, usage errors; and the real `kafka-mesos.sh`."""

from __future__ import annotations

import http.server
import os
import subprocess
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from kafka_mesos.cli.main import cli
from tests.api.support import threaded_api
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.delenv("KM_API", raising=False)
    return CliRunner()


def test_help_lists_commands_and_help_command_shows_usage(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["help"])
    assert result.exit_code == 0
    for command in ("add", "update", "remove", "start", "stop", "status", "rebalance", "broker", "topic",
                    "help"):
        assert f"\n  {command} " in result.stdout
    result = runner.invoke(cli, ["help", "broker"])
    for sub in ("list", "add", "update", "remove", "start", "stop", "restart", "log", "clone"):
        assert f"\n  {sub} " in result.stdout
    result = runner.invoke(cli, ["help", "broker", "add"])
    assert "Usage: kafka-mesos.sh broker add [OPTIONS] <broker-expr>" in result.stdout
    for option in ("--cpus", "--mem", "--heap", "--port", "--volume", "--bind-address", "--constraints",
                   "--options", "--log4j-options", "--jvm-options", "--stickiness-period", "--failover-delay",
                   "--failover-max-delay", "--failover-max-tries", "--api", "--json"):
        assert option in result.stdout
    result = runner.invoke(cli, ["help", "start"])
    assert "--timeout DURATION" in result.stdout and "60s" in result.stdout
    result = runner.invoke(cli, ["help", "topic", "rebalance"])
    assert "--replicas" in result.stdout
    result = runner.invoke(cli, ["help", "nothing"])
    assert (result.exit_code, result.stderr) == (1, "Error: unsupported command nothing\n")


def test_usage_errors_are_one_line(runner: CliRunner) -> None:
    result = runner.invoke(cli, [])
    assert result.exit_code == 1 and result.stderr == "Error: command required\n"
    result = runner.invoke(cli, ["broker", "add"])
    assert result.exit_code == 1 and result.stderr.startswith("Error: Missing argument")
    assert len(result.stderr.splitlines()) == 1
    result = runner.invoke(cli, ["broker", "add", "0", "--cpux", "1"])
    assert result.exit_code == 1 and "--cpux" in result.stderr and len(result.stderr.splitlines()) == 1
    result = runner.invoke(cli, ["frobnicate"])
    assert result.exit_code == 1 and "frobnicate" in result.stderr


def test_unreachable_api_is_one_clear_line(runner: CliRunner) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = runner.invoke(cli, ["broker", "list", "--api", url])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: cannot reach the API at {url} ")
    assert len(result.stderr.splitlines()) == 1


def test_api_url_from_option_then_env_then_properties(runner: CliRunner, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    monkeypatch.chdir(tmp_path)
    with threaded_api(tmp_path / "kafka-mesos.json") as server:
        properties = f"# defaults\napi={server.url}/\nzk=127.0.0.1:2181\n"
        (tmp_path / "kafka-mesos.properties").write_text(properties)
        assert runner.invoke(cli, ["broker", "list"]).stdout == "no brokers\n"
        monkeypatch.setenv("KM_API", dead)
        assert dead in runner.invoke(cli, ["broker", "list"]).stderr
        assert runner.invoke(cli, ["broker", "list", "--api", server.url]).exit_code == 0
        monkeypatch.setenv("KM_API", server.url.removeprefix("http://"))  # scheme optional
        assert runner.invoke(cli, ["broker", "list", "--api=" + dead]).exit_code == 1
        assert runner.invoke(cli, ["broker", "list"]).exit_code == 0


def test_default_api_url_is_the_schedulers_default(runner: CliRunner, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["broker", "list"])
    assert "http://127.0.0.1:7000" in result.stderr or result.exit_code == 0


def test_kafka_mesos_sh_runs_commands_without_tracebacks(tmp_path: Path) -> None:
    env = {**os.environ, "KM_API": f"http://127.0.0.1:{free_port()}"}
    with threaded_api(tmp_path / "kafka-mesos.json") as server:
        ok = subprocess.run([str(ROOT / "kafka-mesos.sh"), "add", "0..1", "--api", server.url, "--mem", "512",
                             "--heap", "256"], capture_output=True, text=True, env=env, timeout=60,
                            cwd=tmp_path)
        assert ok.returncode == 0, ok.stderr
        assert ok.stdout.startswith("brokers added:\n")
        bad = subprocess.run([str(ROOT / "kafka-mesos.sh"), "broker", "update", "7", "--api", server.url],
                             capture_output=True, text=True, env=env, timeout=60, cwd=tmp_path)
        assert (bad.returncode, bad.stderr) == (1, "Error: broker 7 not found\n")
    gone = subprocess.run([str(ROOT / "kafka-mesos.sh"), "broker", "list"], capture_output=True, text=True,
                          env=env, timeout=60, cwd=tmp_path)
    assert gone.returncode == 1 and gone.stderr.startswith("Error: cannot reach the API at ")
    assert "Traceback" not in gone.stderr


def test_process_commands_are_listed_and_km_no_scheduler_hides_scheduler(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    listing = runner.invoke(cli, ["help"]).stdout
    assert "\n  scheduler " in listing and "\n  local-mesos " in listing
    assert "--storage" in runner.invoke(cli, ["help", "scheduler"]).stdout
    monkeypatch.setenv("KM_NO_SCHEDULER", "1")
    assert "\n  scheduler " not in runner.invoke(cli, ["help"]).stdout
    result = runner.invoke(cli, ["scheduler"])
    assert result.exit_code == 1 and "scheduler" in result.stderr


def test_group_without_subcommand_prints_its_usage_and_one_error_line(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["broker"])
    assert result.exit_code == 1 and "Usage: kafka-mesos.sh broker" in result.stdout
    assert result.stderr == "Error: command required\n"


def test_an_api_url_that_is_not_kafka_mesos_gets_a_hint(runner: CliRunner) -> None:
    """E.g. --api pointing at the Mesos master: a 404 without our JSON body, or an HTML page."""

    class NotUs(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            code, body = (404, b"no such thing") if "/api/broker/" in self.path else (200, b"<html></html>")
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotUs)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        result = runner.invoke(cli, ["broker", "list", "--api", url])
        assert result.exit_code == 1
        assert result.stderr == (f"Error: {url}/api/broker/list: 404 - Not Found (is the API URL that of a "
                                 "kafka-mesos scheduler?)\n")
        result = runner.invoke(cli, ["status", "--api", url])
        assert result.stderr.startswith(f"Error: {url}/api/brokers/status answered with something")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
