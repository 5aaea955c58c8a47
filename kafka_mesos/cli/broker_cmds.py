"""`broker list|add|update|remove|start|stop|restart|log|clone` and the older top-level forms."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import click

from kafka_mesos.apiclient import ParamValue
from kafka_mesos.cli.common import (
    CompatCommand,
    F,
    api_option,
    client_for,
    json_option,
    map_value,
    print_json,
)
from kafka_mesos.cli.output import brokers_section, not_running_reasons, plural

EXPR_HELP = """\b
<broker-expr> examples:
  0          broker 0
  0,1        brokers 0 and 1
  0..2       brokers 0, 1 and 2
  0,1..2     brokers 0, 1 and 2
  *          every broker
  *[rack=r1] brokers whose task runs on an agent with rack=r1
  *[hostname=slave*]  brokers on hosts whose name starts with slave"""

# (option, REST parameter, help)
BROKER_SETTINGS: tuple[tuple[str, str, str], ...] = (
    ("--cpus", "cpus", "CPUs (default 1), e.g. 0.5"),
    ("--mem", "mem", "memory of the task in MB (default 2048)"),
    ("--heap", "heap", "JVM heap of the broker in MB, less than --mem (default 1024)"),
    ("--port", "port", "port or range: 31092 or 31090..31100; \"\" for any offered port (default)"),
    ("--volume", "volume", "id of a pre-created Mesos persistent volume"),
    ("--bind-address", "bindAddress", "broker bind address: ip, host, 192.168.50.* or if:eth1"),
    ("--constraints", "constraints",
     "placement constraints attr=cond,...: like:R, unlike:R, unique, cluster[:V], groupBy[:N]"),
    ("--options", "options", "Kafka server properties k=v,k2=v2 ($id = broker id) or file:<properties>"),
    ("--log4j-options", "log4jOptions", "log4j properties k=v,k2=v2 or file:<properties>"),
    ("--jvm-options", "jvmOptions", "extra JVM options, e.g. -Xss1m ($id = broker id)"),
    ("--stickiness-period", "stickinessPeriod", "keep a stopped broker's host this long (default 10m)"),
    ("--failover-delay", "failoverDelay", "first relaunch delay after a failure (default 1m)"),
    ("--failover-max-delay", "failoverMaxDelay", "longest relaunch delay (default 10m)"),
    ("--failover-max-tries", "failoverMaxTries", "failures before deactivating (\"\": no limit)"),
)
_MAP_PARAMS = {"options", "log4jOptions"}


def _param_name(option: str) -> str:
    return option.lstrip("-").replace("-", "_")


def broker_settings(f: F) -> F:
    for option, _, help_text in reversed(BROKER_SETTINGS):
        f = click.option(option, _param_name(option), metavar="VALUE", help=help_text)(f)
    return f


def _settings_params(kwargs: Mapping[str, Any]) -> dict[str, ParamValue]:
    params: dict[str, ParamValue] = {}
    for option, rest_name, _ in BROKER_SETTINGS:
        value = kwargs.get(_param_name(option))
        if value is None:
            continue
        params[rest_name] = map_value(value) if rest_name in _MAP_PARAMS else value
    return params


def _show(answer: Mapping[str, Any], header: str, as_json: bool, quiet: bool = False) -> None:
    if as_json:
        print_json(answer)
        return
    brokers = answer.get("brokers") or []
    click.echo(brokers_section(header, brokers, quiet=quiet))


def _expr_argument(f: F) -> F:
    return click.argument("expr", metavar="<broker-expr>")(f)


def _epilog() -> str:
    return EXPR_HELP


@click.command("list", cls=CompatCommand, epilog=_epilog())
@click.argument("expr", metavar="[<broker-expr>]", required=False, default="*")
@click.option("--quiet", "-q", is_flag=True, help="leave out options, log4j and JVM options")
@click.option("--events", is_flag=True, help="show each broker's recent events")
@api_option
@json_option
def list_command(expr: str, quiet: bool, events: bool, api: str | None, as_json: bool) -> None:
    """List brokers."""
    answer = client_for(api).broker_list(expr)
    brokers = answer.get("brokers") or []
    if as_json:
        print_json(answer)
        return
    if answer.get("reconciling"):
        count = answer["reconciling"]
        click.echo(f"reconciling: {count} task(s) not yet confirmed by Mesos (no launches meanwhile)")
    if not brokers:
        click.echo("no brokers")
    else:
        click.echo(brokers_section("", brokers, quiet=quiet, events=events))


@click.command("add", cls=CompatCommand, epilog=_epilog())
@_expr_argument
@broker_settings
@api_option
@json_option
def add_command(expr: str, api: str | None, as_json: bool, **settings: Any) -> None:
    """Add brokers (stopped) with the given settings."""
    answer = client_for(api).broker_add(expr, **_settings_params(settings))
    _show(answer, "added", as_json)


@click.command("update", cls=CompatCommand, epilog=_epilog())
@_expr_argument
@broker_settings
@click.option("--restart", is_flag=True, help="roll the running brokers whose settings changed")
@click.option("--timeout", default="5m", show_default=True, metavar="DURATION",
              help="with --restart: time for the whole rolling restart")
@api_option
@json_option
def update_command(expr: str, restart: bool, timeout: str, api: str | None, as_json: bool,
                   **settings: Any) -> None:
    """Change brokers' settings: only the given options change; "" unsets one.

    A running broker keeps its old settings until it is restarted (shown as "needs restart");
    --restart restarts those brokers one at a time, as `broker restart` does."""
    params = _settings_params(settings)
    if restart:
        params.update(restart=True, timeout=timeout)
    answer = client_for(api).broker_update(expr, **params)
    if restart and answer.get("status") != "restarted":
        if as_json:
            print_json(answer)
        raise click.ClickException(_restart_failure(answer))
    _show(answer, "updated", as_json)


@click.command("remove", cls=CompatCommand, epilog=_epilog())
@_expr_argument
@api_option
@json_option
def remove_command(expr: str, api: str | None, as_json: bool) -> None:
    """Remove stopped brokers."""
    answer = client_for(api).broker_remove(expr)
    if as_json:
        print_json(answer)
        return
    ids = answer.get("ids") or []
    ids_text = ",".join(ids) if isinstance(ids, list) else str(ids)
    count = len(ids) if isinstance(ids, list) else len(ids_text.split(","))
    click.echo(f"{plural(count, 'broker')} {ids_text} removed")


@click.command("clone", cls=CompatCommand, epilog=_epilog())
@_expr_argument
@click.option("--source", required=True, metavar="ID", help="the broker whose settings are copied")
@api_option
@json_option
def clone_command(expr: str, source: str, api: str | None, as_json: bool) -> None:
    """Add brokers with the settings of an existing one."""
    answer = client_for(api).broker_clone(expr, source)
    _show(answer, "added", as_json)


def _start_or_stop(answer: Mapping[str, Any], verb: str, as_json: bool) -> None:
    if as_json:
        print_json(answer)
        if answer.get("status") == "timeout":
            raise SystemExit(1)
        return
    status = answer.get("status")
    brokers = answer.get("brokers") or []
    if status == "timeout":
        wanted = "running" if verb == "start" else "stopped"
        why = "; ".join(not_running_reasons(brokers, wanted))
        message = f"{plural(len(brokers), 'broker')} {verb} timeout"
        raise click.ClickException(message + (f": {why}" if why else ""))
    header = f"scheduled to {verb}" if status == "scheduled" else str(status)
    click.echo(brokers_section(header, brokers))


@click.command("start", cls=CompatCommand, epilog=_epilog())
@_expr_argument
@click.option("--timeout", default="60s", show_default=True, metavar="DURATION",
              help="wait until the brokers are running; 0 returns at once")
@api_option
@json_option
def start_command(expr: str, timeout: str, api: str | None, as_json: bool) -> None:
    """Start brokers."""
    _start_or_stop(client_for(api).broker_start(expr, timeout), "start", as_json)


@click.command("stop", cls=CompatCommand, epilog=_epilog())
@_expr_argument
@click.option("--timeout", default="60s", show_default=True, metavar="DURATION",
              help="wait until the brokers are stopped; 0 returns at once")
@click.option("--force", is_flag=True, help="kill at once instead of a graceful shutdown")
@api_option
@json_option
def stop_command(expr: str, timeout: str, force: bool, api: str | None, as_json: bool) -> None:
    """Stop brokers."""
    _start_or_stop(client_for(api).broker_stop(expr, timeout, force), "stop", as_json)


@click.command("restart", cls=CompatCommand, epilog=_epilog())
@_expr_argument
@click.option("--timeout", default="5m", show_default=True, metavar="DURATION",
              help="time for the whole rolling restart")
@click.option("--batch", default=1, show_default=True, type=click.IntRange(min=1),
              help="how many brokers restart at a time")
@click.option("--noWaitForReplication", "no_wait_for_replication", is_flag=True,
              help="do not wait for each broker to be back in sync before the next")
@api_option
@json_option
def restart_command(expr: str, timeout: str, batch: int, no_wait_for_replication: bool, api: str | None,
                    as_json: bool) -> None:
    """Restart brokers one (or --batch) at a time, each back in the ISR of its partitions before the next."""
    answer = client_for(api).broker_restart(expr, timeout, no_wait_for_replication, batch)
    if as_json:
        print_json(answer)
    if answer.get("status") != "restarted":
        raise click.ClickException(_restart_failure(answer))
    if not as_json:
        click.echo(brokers_section("restarted", answer.get("brokers") or []))


def _restart_failure(answer: Mapping[str, Any]) -> str:
    text = str(answer.get("message") or f"restart {answer.get('status')}")
    if answer.get("progress"):
        text += f" ({answer['progress']})"
    return text


@click.command("log", cls=CompatCommand)
@click.argument("broker_id", metavar="<broker-id>")
@click.option("--name", default="stdout", show_default=True,
              help="stdout, stderr, or a Kafka log file such as server.log")
@click.option("--lines", default=100, show_default=True, type=int, help="how many lines from the end")
@click.option("--timeout", default="30s", show_default=True, metavar="DURATION")
@api_option
@json_option
def log_command(broker_id: str, name: str, lines: int, timeout: str, api: str | None, as_json: bool) -> None:
    """Show the end of a running broker's log."""
    answer = client_for(api).broker_log(broker_id, name, lines, timeout)
    if as_json:
        print_json(answer)
        return
    if answer.get("status") not in (None, "ok"):
        raise click.ClickException(str(answer.get("content") or answer.get("message") or answer["status"]))
    click.echo(str(answer.get("content", "")), nl=False)


@click.command("status", cls=CompatCommand)
@api_option
@json_option
def status_command(api: str | None, as_json: bool) -> None:
    """Cluster status: the framework id and every broker (older form of `broker list`)."""
    answer = client_for(api).status()
    if as_json:
        print_json(answer)
        return
    click.echo("cluster:")
    click.echo(f"  framework-id: {answer.get('frameworkId') or '(not registered yet)'}")
    brokers = answer.get("brokers") or []
    click.echo(brokers_section("", brokers) if brokers else "no brokers")


@click.group("broker", epilog=_epilog())
def broker_group() -> None:
    """Broker management commands."""


for _command in (list_command, add_command, update_command, remove_command, start_command, stop_command,
                 restart_command, log_command, clone_command):
    broker_group.add_command(_command)

TOP_LEVEL_ALIASES: dict[str, Callable[..., Any]] = {
    "add": add_command, "update": update_command, "remove": remove_command,
    "start": start_command, "stop": stop_command,
}
