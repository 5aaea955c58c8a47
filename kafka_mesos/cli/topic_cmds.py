"""`topic list|add|update|rebalance|realign` and the older top-level `rebalance`."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import click

from kafka_mesos.apiclient import ParamValue
from kafka_mesos.cli.common import CompatCommand, api_option, client_for, json_option, map_value, print_json
from kafka_mesos.core.durations import parse_duration
from kafka_mesos.core.errors import ValidationError

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
        if topic.get("replicationFactor") is not None:
            click.echo(f"  replication-factor: {topic['replicationFactor']}")
        lagging = topic.get("underReplicated") or []
        if lagging:
            click.echo("  under-replicated: " + ",".join(str(p) for p in lagging))
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
    moves = answer.get("moves") or {}
    if answer.get("status") == "planned" and moves:
        click.echo("moves per broker: " + ", ".join(f"{b}: +{m.get('in', 0)} -{m.get('out', 0)}"
                                                    for b, m in moves.items()))
    if answer.get("state"):
        click.echo(str(answer["state"]))


FOLLOW_INTERVAL = 0.5
_TIMEOUT_HELP = "wait until done, showing progress (default: do not wait)"
_DRY_RUN_HELP = "print the plan (moves per broker), change nothing"
_THROTTLE_HELP = "limit replication to this many bytes/s while data moves (taken off when done)"


def _rebalance_flow(start: Callable[[], dict[str, Any]], status: Callable[[], dict[str, Any]],
                    timeout: str | None, as_json: bool, what: str) -> None:
    """Start; with a timeout, print progress (partitions done / total) until Kafka's controller has
    finished (the reassignment znode is gone) or the timeout passes."""
    try:
        wait = parse_duration(timeout, "timeout") if timeout else 0.0
    except ValidationError as e:
        raise click.ClickException(e.message) from None
    answer = start()
    if wait <= 0 or answer.get("status") != "started":
        _show_rebalance(answer, as_json, what)
        return
    deadline = time.monotonic() + wait
    shown = None
    while True:
        state = status()
        progress = state.get("progress") or {}
        line = f"progress: {progress.get('done', 0)}/{progress.get('total', 0)} partitions done"
        if not as_json and line != shown:
            click.echo(line)
            shown = line
        if state.get("status") != "running":
            state["status"] = "failed" if progress.get("error") else "completed"
            _show_rebalance(state, as_json, what)
            return
        if time.monotonic() >= deadline:
            if as_json:
                print_json({**state, "status": "timeout"})
            raise click.ClickException(f"{what} timeout:\n{state.get('state', '')}")
        time.sleep(FOLLOW_INTERVAL)


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


@click.command("delete", cls=CompatCommand, epilog=TOPIC_EXPR_HELP)
@click.argument("expr", metavar="<topic-expr>")
@api_option
@json_option
def topic_delete(expr: str, api: str | None, as_json: bool) -> None:
    """Delete topics (Kafka's brokers need delete.topic.enable=true)."""
    _show_topics(_call("delete", api, {"topic": expr}), "deleted", as_json)


@click.command("partitions", cls=CompatCommand, epilog=TOPIC_EXPR_HELP)
@click.argument("expr", metavar="[<topic-expr>]", required=False, default="*")
@api_option
@json_option
def topic_partitions(expr: str, api: str | None, as_json: bool) -> None:
    """Partitions of topics: leader, expected (preferred) leader, replicas; `!` marks a partition whose
    ISR lacks replicas, `*` the replicas outside the ISR."""
    answer = client_for(api).call("api/partition/list", {"topic": expr})
    if as_json:
        print_json(answer)
        return
    if not answer:
        click.echo("topic not found")
        return
    for topic, rows in answer.items():
        click.echo(topic)
        click.echo("  part | leader | expected | brokers (*not-isr)")
        for row in rows:
            isr = set(row.get("isr") or [])
            replicas = row.get("replicas") or []
            mark = "!" if set(replicas) != isr else " "
            brokers = ", ".join(("" if b in isr else "*") + str(b) for b in replicas)
            leaders = f"{row['leader']:>6} | {row['expectedLeader']:>8}"
            click.echo(f"{mark} {row['id']:>4} | {leaders} | [{brokers}]")


def _rebalance_command(name: str, realign: bool) -> click.Command:
    @click.command(name, cls=CompatCommand, epilog=TOPIC_EXPR_HELP)
    @click.argument("expr", metavar="<topic-expr>|status", required=False)
    @click.option("--broker", metavar="<broker-expr>", help="brokers to spread over (default: all)")
    @click.option("--replicas", metavar="N", help="new replication factor (default: keep)")
    @click.option("--timeout", metavar="DURATION", help=_TIMEOUT_HELP)
    @click.option("--fixedStartIndex", "fixed_start_index", metavar="N")
    @click.option("--dry-run", "dry_run", is_flag=True, help=_DRY_RUN_HELP)
    @click.option("--status", "show_status", is_flag=True, help="show the reassignment in progress")
    @click.option("--throttle", metavar="BYTES/S", help=_THROTTLE_HELP)
    @api_option
    @json_option
    def command(expr: str | None, broker: str | None, replicas: str | None, timeout: str | None,
                fixed_start_index: str | None, dry_run: bool, show_status: bool, throttle: str | None,
                api: str | None, as_json: bool) -> None:
        what = "Realign" if realign else "Rebalance"
        client = client_for(api)
        if show_status or expr in (None, "status"):
            if expr is None and not show_status:
                raise click.UsageError("argument required: <topic-expr> or status")
            _show_rebalance(client.topic(name), as_json, what)
            return
        params: dict[str, ParamValue] = {"topic": expr, "broker": broker, "replicas": replicas,
                                         "fixedStartIndex": fixed_start_index, "dryRun": dry_run or None,
                                         "throttle": throttle}
        sent = {k: v for k, v in params.items() if v is not None}
        _rebalance_flow(lambda: client.topic(name, **sent), lambda: client.topic(name), timeout, as_json,
                        what)

    command.help = ("Move only partitions with replicas outside the brokers." if realign
                    else "Rebalance topics over brokers (`status` shows the running one).")
    return command


@click.group("topic", epilog=TOPIC_EXPR_HELP)
def topic_group() -> None:
    """Topic management commands."""


for _command in (topic_list, topic_add, topic_update, topic_delete, topic_partitions,
                 _rebalance_command("rebalance", False), _rebalance_command("realign", True)):
    topic_group.add_command(_command)


@click.command("rebalance", cls=CompatCommand)
@click.argument("expr", metavar="<broker-expr>|status", required=False)
@click.option("--topics", metavar="<topic-expr>", help="topics to rebalance (default *; t0:3 sets RF 3)")
@click.option("--replicas", metavar="N", help="new replication factor of every topic (default: keep)")
@click.option("--timeout", metavar="DURATION", help=_TIMEOUT_HELP)
@click.option("--dry-run", "dry_run", is_flag=True, help=_DRY_RUN_HELP)
@click.option("--status", "show_status", is_flag=True, help="show the reassignment in progress")
@click.option("--throttle", metavar="BYTES/S", help=_THROTTLE_HELP)
@api_option
@json_option
def rebalance_command(expr: str | None, topics: str | None, replicas: str | None, timeout: str | None,
                      dry_run: bool, show_status: bool, throttle: str | None, api: str | None,
                      as_json: bool) -> None:
    """Rebalance topics over brokers (older form of `topic rebalance`)."""
    client = client_for(api)
    if show_status or expr in (None, "status"):
        if expr is None and not show_status:
            raise click.UsageError("argument required: <broker-expr> or status")
        _show_rebalance(client.rebalance(), as_json, "Rebalance")
        return
    params: dict[str, ParamValue] = {"id": expr, "topics": topics, "replicas": replicas,
                                     "dryRun": dry_run or None, "throttle": throttle}
    sent = {k: v for k, v in params.items() if v is not None}
    _rebalance_flow(lambda: client.rebalance(**sent), client.rebalance, timeout, as_json, "Rebalance")
