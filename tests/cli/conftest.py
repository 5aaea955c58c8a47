from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kafka_mesos.cli.main import cli
from tests.api.support import ThreadedApi, threaded_api

Run = Callable[..., Result]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ThreadedApi]:
    with threaded_api(tmp_path / "kafka-mesos.json") as api:
        yield api


@pytest.fixture
def run(server: ThreadedApi, monkeypatch: pytest.MonkeyPatch) -> Run:
    """Run `kafka-mesos.sh <args>` against the test server (via KM_API)."""
    monkeypatch.setenv("KM_API", server.url)
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(cli, list(args), catch_exceptions=False)

    return invoke
