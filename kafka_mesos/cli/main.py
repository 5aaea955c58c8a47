"""`kafka-mesos.sh`: the command line. Every command except `scheduler` and `local-mesos` is a REST call."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import click

from kafka_mesos.apiclient import ApiClientError
from kafka_mesos.cli.broker_cmds import TOP_LEVEL_ALIASES, broker_group, status_command
from kafka_mesos.cli.topic_cmds import rebalance_command, topic_group

PROG_NAME = "kafka-mesos.sh"


# Commands that start processes pull in aiohttp, protobuf, ...: imported only when used (or listed), so
# the REST commands start quickly.
LAZY_COMMANDS = {
    "local-mesos": ("kafka_mesos.cli.local_mesos", "local_mesos_command"),
    "scheduler": ("kafka_mesos.cli.scheduler_cmd", "scheduler_command"),
}


def _lazy_names() -> list[str]:
    # KM_NO_SCHEDULER hides `scheduler`, as in mesos/kafka (where only the API commands make sense).
    return [name for name in LAZY_COMMANDS if not (name == "scheduler" and os.environ.get("KM_NO_SCHEDULER"))]


class KafkaMesosCli(click.Group):
    """Errors become one line `Error: <message>` on stderr and exit code 1, never a traceback."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *_lazy_names()])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _lazy_names():
            module, attribute = LAZY_COMMANDS[cmd_name]
            command: click.Command = getattr(importlib.import_module(module), attribute)
            return command
        return super().get_command(ctx, cmd_name)

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> NoReturn:
        try:
            result = super().main(args=args, prog_name=PROG_NAME, complete_var=complete_var,
                                  standalone_mode=False, **extra)
        except click.exceptions.Abort:
            _fail("aborted")
        except click.exceptions.NoArgsIsHelpError as e:  # `broker` alone: its usage, then the error
            if e.ctx is not None:
                click.echo(e.ctx.get_help())
            _fail("command required")
        except click.ClickException as e:
            _fail(e.format_message())
        except ApiClientError as e:
            _fail(e.message)
        except KeyboardInterrupt:
            _fail("interrupted", code=130)
        except BrokenPipeError:
            sys.exit(1)
        sys.exit(result if isinstance(result, int) else 0)


def _fail(message: str, code: int = 1) -> NoReturn:
    first_line = " ".join(message.strip().splitlines()) or "failed"
    click.echo(f"Error: {first_line}", err=True)
    sys.exit(code)


@click.group(cls=KafkaMesosCli, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Kafka brokers on Mesos: the scheduler and the commands that drive it through its REST API.

    Run `help <command>` for the options of a command."""
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())
        raise click.ClickException("command required")


@cli.command("help")
@click.argument("words", nargs=-1, metavar="[<command> [<subcommand>]]")
@click.pass_context
def help_command(ctx: click.Context, words: tuple[str, ...]) -> None:
    """Show the usage of kafka-mesos.sh or of one command."""
    parent = ctx.find_root()
    command: click.Command = parent.command
    target = parent
    for word in words:
        sub = command.get_command(target, word) if isinstance(command, click.Group) else None
        if sub is None:
            raise click.ClickException(f"unsupported command {' '.join(words)}")
        target = click.Context(sub, info_name=word, parent=target)
        command = sub
    click.echo(command.get_help(target))


cli.add_command(broker_group)
cli.add_command(topic_group)
cli.add_command(status_command)
cli.add_command(rebalance_command)
for _name, _command in TOP_LEVEL_ALIASES.items():
    cli.add_command(_command, _name)  # type: ignore[arg-type]




def main(argv: Sequence[str] | None = None) -> None:
    cli.main(args=argv, prog_name=PROG_NAME)
