"""Every CLI command given malformed arguments: one `Error: ...` line on stderr, non-zero exit, no traceback.

The command tree is walked from the click group itself, so a command added later is covered too. The REST
commands run against a live in-process API (malformed values the CLI passes through are refused there)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from kafka_mesos.cli.main import cli
from tests.api.support import ThreadedApi, threaded_api

PROCESS_COMMANDS = ("scheduler", "local-mesos")  # they would start servers: only parser-level cases


def leaf_commands() -> list[tuple[tuple[str, ...], click.Command]]:
    found: list[tuple[tuple[str, ...], click.Command]] = []
    context = click.Context(cli)

    def walk(path: tuple[str, ...], command: click.Command) -> None:
        if isinstance(command, click.Group):
            for name in command.list_commands(context):
                sub = command.get_command(context, name)
                if sub is not None and name != "help":
                    walk((*path, name), sub)
        else:
            found.append((path, command))

    walk((), cli)
    return found


def malformed_arguments(path: tuple[str, ...], command: click.Command) -> Iterator[list[str]]:
    yield ["--no-such-option", "1"]
    options = [p for p in command.params if isinstance(p, click.Option) and not p.is_flag
               and p.name not in ("api", "help")]
    for option in options:
        longest = max(option.opts, key=len)
        yield [longest]  # the value is missing
        if isinstance(option.type, (click.types.IntParamType, click.types.FloatParamType)):
            yield [longest, "not-a-number"]
    if path and path[0] in PROCESS_COMMANDS:
        return
    arguments = [p for p in command.params if isinstance(p, click.Argument)]
    if all(argument.nargs == 1 for argument in arguments):
        yield ["1", "2", "3", "4", "5", "6"]  # more positionals than the command takes
    if arguments:
        yield ["x..y", *["1"] * (len(arguments) - 1)]  # a malformed broker expression / id / topic


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ThreadedApi]:
    with threaded_api(tmp_path / "kafka-mesos.json") as api:
        yield api


def test_every_command_with_malformed_arguments_fails_with_one_line(
    server: ThreadedApi, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KM_API", server.url)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    commands = leaf_commands()
    assert {("broker", "list"), ("topic", "add"), ("scheduler",), ("add",)} <= {path for path, _ in commands}
    cases = 0
    for path, command in commands:
        for args in malformed_arguments(path, command):
            argv = [*path, *args]
            result = runner.invoke(cli, argv, catch_exceptions=False)
            lines = [line for line in result.stderr.splitlines() if line.strip()]
            assert result.exit_code not in (0, None), f"{argv}: exit 0; {result.stdout}"
            assert len(lines) == 1 and lines[0].startswith("Error: "), f"{argv}: stderr {result.stderr!r}"
            assert "Traceback" not in result.output, argv
            cases += 1
    assert cases > 50
    assert server.brokers() == {}, "no malformed command changed the cluster"
