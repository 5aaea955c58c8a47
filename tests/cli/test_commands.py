"""Every CLI command against a real HTTP API on 127.0.0.1 (CliRunner in this process)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.api.support import ThreadedApi, observe, running_task
from tests.cli.conftest import Run


def test_the_seeds_add_prints_twenty_brokers(run: Run, server: ThreadedApi) -> None:
    result = run("add", "1000..1019", "--cpus", "0.01", "--heap", "128", "--mem", "256",
                 "--options", "num.io.threads=1")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "brokers added:"
    assert [line for line in lines if line.startswith("  id: ")] == [f"  id: {i}" for i in range(1000, 1020)]
    assert "  resources: cpus:0.01, mem:256, heap:128, port:auto" in lines
    assert "  options: num.io.threads=1" in lines
    assert sorted(server.brokers()) == list(range(1000, 1020))


def test_broker_list_human_quiet_and_json(run: Run) -> None:
    assert run("broker", "list").stdout == "no brokers\n"
    run("broker", "add", "0", "--options", "a=1", "--jvm-options", "-Xss1m")
    result = run("broker", "list")
    assert result.stdout.startswith("broker:\n  id: 0\n  active: false\n  state: stopped\n")
    assert "  options: a=1" in result.stdout and "  jvm-options: -Xss1m" in result.stdout
    assert "failover: delay:1m, max-delay:10m" in result.stdout
    assert "stickiness: period:10m" in result.stdout
    quiet = run("broker", "list", "--quiet").stdout
    assert "options" not in quiet and "id: 0" in quiet
    answer = json.loads(run("broker", "list", "--json").stdout)
    assert answer["brokers"][0]["id"] == "0" and answer["brokers"][0]["options"] == "a=1"


def test_update_remove_and_clone(run: Run, server: ThreadedApi) -> None:
    run("broker", "add", "0..1")
    result = run("broker", "update", "0", "--cpus", "2", "--port", "31092")
    assert result.exit_code == 0
    assert result.stdout.startswith("broker updated:\n") and "cpus:2.00" in result.stdout
    assert "port:31092" in result.stdout
    result = run("broker", "clone", "5..6", "--source", "0")
    assert result.stdout.startswith("brokers added:\n") and result.stdout.count("cpus:2.00") == 2
    assert run("broker", "remove", "5").stdout == "broker 5 removed\n"
    assert run("remove", "0,6").stdout == "brokers 0,6 removed\n"
    assert sorted(server.brokers()) == [1]


def test_start_stop_restart(run: Run, server: ThreadedApi) -> None:
    run("add", "0..1")
    result = run("broker", "start", "0..1")
    assert result.exit_code == 0 and result.stdout.startswith("brokers started:\n")
    assert result.stdout.splitlines().count("  state: running") == 2
    assert "endpoint: agent1:31000" in result.stdout
    result = run("broker", "restart", "0", "--noWaitForReplication")
    assert result.exit_code == 0 and result.stdout.startswith("broker restarted:\n")
    result = run("stop", "0..1", "--force")
    assert result.exit_code == 0 and result.stdout.startswith("brokers stopped:\n")
    assert server.call(lambda: server.control.force_stopped) == [0, 1]
    result = run("start", "1", "--timeout", "0")
    assert result.stdout.startswith("broker scheduled to start:\n")


def test_start_timeout_is_one_error_line_with_the_reason(run: Run, server: ThreadedApi) -> None:
    run("add", "0")

    server.control.follow = False
    server.run(lambda: observe(server.cluster, {0: None}, placement_reason="agent a1: mem 256 < 2048"))
    result = run("start", "0", "--timeout", "100ms")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "Error: broker start timeout: broker 0: starting (agent a1: mem 256 < 2048)"
    ] or result.stderr.startswith("Error: broker start timeout: broker 0:")
    assert len(result.stderr.splitlines()) == 1 and "mem 256 < 2048" in result.stderr


def test_log(run: Run, server: ThreadedApi) -> None:
    run("add", "0")

    server.run(lambda: observe(server.cluster, {0: running_task(0)}, active=True))
    server.control.logs[0] = "a\nb\nc\n"
    result = run("broker", "log", "0", "--name", "server.log", "--lines", "2")
    assert (result.exit_code, result.stdout) == (0, "b\nc\n")
    result = run("broker", "log", "0", "--name", "controller.log")
    assert result.exit_code == 1 and result.stderr == "Error: controller.log doesn't exist\n"


def test_status_g1(run: Run, server: ThreadedApi) -> None:
    run("add", "3")
    result = run("status")
    assert result.stdout.startswith("cluster:\n  framework-id: (not registered yet)\nbroker:\n  id: 3\n")
    server.run(lambda: server.cluster.set_framework_id("fw-test"))
    assert run("status").stdout.startswith("cluster:\n  framework-id: fw-test\n")


def test_api_errors_are_one_line_on_stderr(run: Run) -> None:
    run("add", "0")
    cases = {
        ("broker", "update", "9", "--cpus", "1"): "Error: broker 9 not found\n",
        ("add", "0"): "Error: broker 0 already exists\n",
        ("add", "5..1"): "Error: invalid broker '5..1': '5..1': start 5 is greater than end 1\n",
    }
    for args, expected in cases.items():
        result = run(*args)
        assert (result.exit_code, result.stdout) == (1, ""), args
        assert result.stderr == expected
    for args in (("add", "7", "--cpus", "-1"), ("add", "7", "--port", "http"), ("add", "7", "--heap", "4096"),
                 ("add", "7", "--failover-delay", "10 parsecs"), ("add", "7", "--constraints", "a=near")):
        result = run(*args)
        assert result.exit_code == 1 and len(result.stderr.splitlines()) == 1, args
        assert result.stderr.startswith("Error: ")


def test_topic_commands_without_a_topic_backend_say_why(run: Run) -> None:
    for args in (("topic", "list"), ("topic", "add", "t1", "--partitions", "3"),
                 ("topic", "update", "t1", "--options", "a=1"), ("topic", "rebalance", "*"),
                 ("topic", "realign", "t1"), ("rebalance", "0..2")):
        result = run(*args)
        assert result.exit_code == 1, args
        assert result.stderr.startswith("Error: topic") and "start the scheduler with --zk" in result.stderr
        assert len(result.stderr.splitlines()) == 1


def test_options_from_a_properties_file(run: Run, server: ThreadedApi, tmp_path: Path) -> None:
    props = tmp_path / "server.properties"
    props.write_text("# Kafka\nnum.io.threads=2\nlog.dirs=/a,/b\nzk.url : host\\:2181\n")
    result = run("add", "0", "--options", f"file:{props}")
    assert result.exit_code == 0, result.stderr
    options = server.brokers()[0].options
    assert options == {"num.io.threads": "2", "log.dirs": "/a,/b", "zk.url": "host:2181"}
    result = run("add", "1", "--log4j-options", f"file:{tmp_path}/missing.properties")
    assert result.exit_code == 1 and "does not exist" in result.stderr


def test_mesos_kafka_option_spellings(run: Run, server: ThreadedApi) -> None:
    """jopt-simple style: one-dash long names, unambiguous prefixes, --opt=value; values may start with -."""
    result = run("add", "0", "-cpus", "0.5", "--stick", "5m", "--jvm-options", "-Xss1m", "-mem=4096",
                 "--failover-max-t", "3")
    assert result.exit_code == 0, result.stderr
    broker = server.brokers()[0]
    assert (broker.cpus, broker.mem, broker.jvm_options) == (0.5, 4096, "-Xss1m")
    assert (broker.stickiness.period, broker.failover.max_tries) == (300.0, 3)
    result = run("add", "1", "--failover", "1m")  # ambiguous: delay, max-delay, max-tries
    assert result.exit_code == 1 and "--failover" in result.stderr


def test_top_level_update_and_empty_value_unsets(run: Run, server: ThreadedApi) -> None:
    run("add", "0", "--port", "31092", "--failover-max-tries", "3")
    result = run("update", "0", "--port", "", "--failover-max-tries", "", "--mem", "4096")
    assert result.exit_code == 0 and result.stdout.startswith("broker updated:\n")
    assert "port:auto" in result.stdout and "max-tries" not in result.stdout
    broker = server.brokers()[0]
    assert (broker.port, broker.failover.max_tries, broker.mem) == (None, None, 4096)


def test_awkward_characters_reach_the_api_intact(run: Run, server: ThreadedApi) -> None:
    result = run("add", "0", "--options", "a=x&y+z%20 ,b=ü\\,v", "--jvm-options", "-Dp=1 -Dq='a b'")
    assert result.exit_code == 0, result.stderr
    broker = server.brokers()[0]
    assert broker.options == {"a": "x&y+z%20", "b": "ü,v"}
    assert broker.jvm_options == "-Dp=1 -Dq='a b'"


def test_json_output_for_scripts(run: Run, server: ThreadedApi) -> None:
    added = json.loads(run("add", "0..1", "--json").stdout)
    assert [b["id"] for b in added["brokers"]] == ["0", "1"]
    server.control.follow = False
    result = run("start", "0", "--timeout", "100ms", "--json")
    assert result.exit_code == 1 and json.loads(result.stdout)["status"] == "timeout"
    removed = json.loads(run("remove", "1", "--json").stdout)
    assert removed == {"ids": ["1"]}
    status = json.loads(run("status", "--json").stdout)
    assert [b["id"] for b in status["brokers"]] == ["0"]
