"""`topic list|add|update|rebalance|realign` and the older top-level `rebalance`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click

from kafka_mesos.apiclient import ParamValue
from kafka_mesos.cli.common import CompatCommand, api_option, client_for, json_option, map_value, print_json

TOPIC_EXPR_HELP = """\b
<topic-expr> examples:
  t0        topic t0
  t0,t1     topics t0 and t1
  t*        topics starting with t
  *         every topic"""


def _show_topics(answer: Mapping[str, Any], header: str, as_json: bool) -> None:
    if as_json:
        print_json(answer)
        return
    topics = answer.get("topics") or []
    if not topics:
        click.echo("no topics")
        return
    click.echo(f"{'topic' if len(topics) == 1 else 'topics'}{' ' + header if header else ''}:")
    for topic in topics:
        click.echo(f"  name: {topic.get('name')}")
        partitions = topic.get("partitions") or {}
        rendered = ", ".join(f"{p}:[{','.join(str(r) for r in rs)}]" for p, rs in partitions.items())
        click.echo(f"  partitions: {rendered}")
        options = topic.get("options") or {}
        if options:
            click.echo("  options: " + ",".join(f"{k}={v}" for k, v in options.items()))
        click.echo("")


def _show_rebalance(answer: Mapping[str, Any], as_json: bool, what: str) -> None:
    if as_json:
        print_json(answer)
        return
    line = f"{what} {answer.get('status')}"
    if answer.get("error"):
        line += f": {answer['error']}"
    click.echo(line)
    if answer.get("state"):
        click.echo(str(answer["state"]))


def _call(operation: str, api: str | None, params: Mapping[str, ParamValue]) -> dict[str, Any]:
    return client_for(api).topic(operation, **{k: v for k, v in params.items() if v is not None})


@click.command("list", cls=CompatCommand, epilog=TOPIC_EXPR_HELP)
@click.argument("expr", metavar="[<topic-expr>]", required=False, default="*")
@click.option("--quiet", "-q", is_flag=True, help="names only")
@api_option
@json_option
def topic_list(expr: str, quiet: bool, api: str | None, as_json: bool) -> None:
    """List topics."""
    answer = _call("list", api, {"topic": expr})
    if quiet and not as_json:
        for topic in answer.get("topics") or []:
            click.echo(str(topic.get("name")))
        return
    _show_topics(answer, "", as_json)


@click.command("add", cls=CompatCommand, epilog=TOPIC_EXPR_HELP)
@click.argument("expr", metavar="<topic-expr>")
@click.option("--broker", metavar="<broker-expr>", help="brokers to place replicas on (default: all)")
@click.option("--partitions", default="1", show_default=True)
@click.option("--replicas", default="1", show_default=True)
@click.option("--options", metavar="k=v,...", help="topic config overrides, or file:<properties>")
@click.option("--fixedStartIndex", "fixed_start_index", metavar="N")
@click.option("--startPartitionId", "start_partition_id", metavar="N")
@api_option
@json_option
def topic_add(expr: str, broker: str | None, partitions: str, replicas: str, options: str | None,
              fixed_start_index: str | None, start_partition_id: str | None, api: str | None,
              as_json: bool) -> None:
    """Add topics."""
    answer = _call("add", api, {"topic": expr, "broker": broker, "partitions": partitions,
                                "replicas": replicas, "options": map_value(options),
                                "fixedStartIndex": fixed_start_index, "startPartitionId": start_partition_id})
    _show_topics(answer, "added", as_json)


@click.command("update", cls=CompatCommand, epilog=TOPIC_EXPR_HELP)
@click.argument("expr", metavar="<topic-expr>")
@click.option("--options", required=True, metavar="k=v,...", help="topic config overrides (replaces all)")
@api_option
@json_option
def topic_update(expr: str, options: str, api: str | None, as_json: bool) -> None:
    """Replace topics' config overrides."""
    answer = _call("update", api, {"topic": expr, "options": map_value(options)})
    _show_topics(answer, "updated", as_json)


def _rebalance_command(name: str, realign: bool) -> click.Command:
    @click.command(name, cls=CompatCommand, epilog=TOPIC_EXPR_HELP)
    @click.argument("expr", metavar="<topic-expr>|status")
    @click.option("--broker", metavar="<broker-expr>", help="brokers to spread over (default: all)")
    @click.option("--replicas", metavar="N", help="new replication factor (default: keep)")
    @click.option("--timeout", metavar="DURATION", help="wait until done (default: do not wait)")
    @click.option("--fixedStartIndex", "fixed_start_index", metavar="N")
    @api_option
    @json_option
    def command(expr: str, broker: str | None, replicas: str | None, timeout: str | None,
                fixed_start_index: str | None, api: str | None, as_json: bool) -> None:
        params: dict[str, ParamValue] = {"broker": broker, "replicas": replicas, "timeout": timeout,
                                         "fixedStartIndex": fixed_start_index}
        if expr != "status":
            params["topic"] = expr
        answer = _call(name, api, params)
        _show_rebalance(answer, as_json, "Realign" if realign else "Rebalance")

    command.help = ("Move only partitions with replicas outside the brokers." if realign
                    else "Rebalance topics over brokers (`status` shows the running one).")
    return command


@click.group("topic", epilog=TOPIC_EXPR_HELP)
def topic_group() -> None:
    """Topic management commands."""


for _command in (topic_list, topic_add, topic_update, _rebalance_command("rebalance", False),
                 _rebalance_command("realign", True)):
    topic_group.add_command(_command)


@click.command("rebalance", cls=CompatCommand)
@click.argument("expr", metavar="<broker-expr>|status")
@click.option("--topics", metavar="<topic-expr>", help="topics to rebalance (default *)")
@click.option("--timeout", metavar="DURATION", help="wait until done (default: do not wait)")
@api_option
@json_option
def rebalance_command(expr: str, topics: str | None, timeout: str | None, api: str | None,
                      as_json: bool) -> None:
    """Rebalance topics over brokers (older form of `topic rebalance`)."""
    params: dict[str, ParamValue] = {"topics": topics, "timeout": timeout}
    if expr != "status":
        params["id"] = expr
    answer = client_for(api).rebalance(**{k: v for k, v in params.items() if v is not None})
    _show_rebalance(answer, as_json, "Rebalance")
