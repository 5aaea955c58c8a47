"""The topic CLI against the API with an in-memory backend: listing, dry run, progress, status, timeout."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kafka_mesos.cli.main import cli
from kafka_mesos.kafka.topics import PartitionState
from tests.topics.memory_backend import MemoryTopics, ServedTopics, served_topics

Run = Callable[..., Result]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServedTopics]:
    with served_topics(tmp_path / "kafka-mesos.json", MemoryTopics(dict.fromkeys(range(4)))) as served:
        yield served


@pytest.fixture
def run(server: ServedTopics, monkeypatch: pytest.MonkeyPatch) -> Run:
    monkeypatch.setenv("KM_API", server.url)
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(cli, list(args), catch_exceptions=False)

    return invoke


def test_list_shows_replication_factor_options_and_under_replicated(run: Run, server: ServedTopics) -> None:
    added = run("topic", "add", "t1", "--partitions", "2", "--replicas", "2", "--broker", "0,1",
                "--options", "retention.ms=1000", "--fixedStartIndex", "0")
    assert added.exit_code == 0, added.output
    assert "partitions: 0:[0,1], 1:[1,0]" in added.output
    topic = server.backend.topics["t1"]
    topic.states[1] = PartitionState(1, (1,))
    listed = run("topic", "list")
    assert listed.exit_code == 0
    assert "name: t1" in listed.output and "replication-factor: 2" in listed.output
    assert "options: retention.ms=1000" in listed.output and "under-replicated: 1" in listed.output
    assert run("topic", "list", "--quiet").output.strip() == "t1"


def test_dry_run_then_rebalance_with_progress(run: Run, server: ServedTopics) -> None:
    run("topic", "add", "t1", "--partitions", "4", "--replicas", "1", "--broker", "0")
    plan = run("topic", "rebalance", "t1", "--broker", "0..3", "--dry-run")
    assert plan.exit_code == 0, plan.output
    assert plan.output.startswith("Rebalance planned") and "moves per broker: " in plan.output
    assert server.backend.pending is None
    done = run("rebalance", "0..3", "--topics", "t1", "--timeout", "30s")
    assert done.exit_code == 0, done.output
    progress = [line for line in done.output.splitlines() if line.startswith("progress: ")]
    assert len(progress) >= 2 and progress[-1] == "progress: 3/3 partitions done", done.output
    assert "Rebalance completed" in done.output and "- done" in done.output
    status = run("rebalance", "--status")
    assert status.output.startswith("Rebalance idle"), status.output


def test_timeout_is_an_error_with_the_state(run: Run, server: ServedTopics) -> None:
    run("topic", "add", "t1", "--partitions", "2", "--replicas", "1", "--broker", "0")
    server.backend.steps_per_read = 0
    result = run("topic", "realign", "t1", "--broker", "1", "--timeout", "1s")
    assert result.exit_code == 1
    assert "Error: Realign timeout:" in result.output and "- running" in result.output
    second = run("topic", "rebalance", "t1", "--broker", "1")
    assert second.exit_code == 1 and "in progress" in second.output
    status = run("topic", "rebalance", "status")
    assert status.output.startswith("Rebalance running")


def test_partitions_table_and_delete(run: Run, server: ServedTopics) -> None:
    run("topic", "add", "t1", "--partitions", "2", "--replicas", "2", "--broker", "0,1",
        "--fixedStartIndex", "0")
    server.backend.topics["t1"].states[1] = PartitionState(1, (1,))
    table = run("topic", "partitions", "t1")
    assert table.exit_code == 0, table.output
    assert table.output.splitlines() == [
        "t1",
        "  part | leader | expected | brokers (*not-isr)",
        "     0 |      0 |        0 | [0, 1]",
        "!    1 |      1 |        1 | [1, *0]",
    ]
    deleted = run("topic", "delete", "t1")
    assert deleted.exit_code == 0 and "deleted" in deleted.output
    assert server.backend.deleted == ["t1"]
    again = run("topic", "delete", "t1")
    assert again.exit_code == 1 and "already marked for deletion" in again.output
