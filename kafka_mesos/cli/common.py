"""Pieces every CLI command shares: `--api`, `--json`, the client, printing answers."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from kafka_mesos.apiclient import ApiClient
from kafka_mesos.cli.config import resolve_api_authorization, resolve_api_url
from kafka_mesos.cli.properties import read_properties
from kafka_mesos.core.maps import format_map

F = TypeVar("F", bound=Callable[..., Any])


def api_option(f: F) -> F:
    return click.option(
        "--api", "api", metavar="URL",
        help="API URL, e.g. http://master:7000 (default: $KM_API, then api= in ./kafka-mesos.properties, "
        "then http://127.0.0.1:7000)",
    )(f)


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="print the API's JSON answer")(f)


def client_for(api: str | None) -> ApiClient:
    return ApiClient(resolve_api_url(api), authorization=resolve_api_authorization())


def print_json(answer: Any) -> None:
    click.echo(json.dumps(answer, indent=2, sort_keys=False))


def map_value(text: str | None) -> str | None:
    """`file:<path>` → the Java properties file's entries as a `k=v,...` map; other text unchanged."""
    if text is None or not text.startswith("file:"):
        return text
    path = Path(text[len("file:"):])
    if not path.is_file():
        raise click.ClickException(f"file {path} does not exist")
    try:
        entries = read_properties(path)
    except (OSError, UnicodeDecodeError) as e:
        raise click.ClickException(f"cannot read {path}: {e}") from None
    return format_map(dict(entries))


class CompatCommand(click.Command):
    """Options as mesos/kafka's parser (jopt-simple) takes them: `-cpus 0.5` (one dash) and unambiguous
    prefixes (`--mem` for `--mem`, `--stick 5m` for `--stickiness-period 5m`)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, self._normalise(args))

    def _normalise(self, args: list[str]) -> list[str]:
        takes_value: dict[str, bool] = {}
        for param in self.params:
            if isinstance(param, click.Option):
                for opt in (*param.opts, *param.secondary_opts):
                    if opt.startswith("--"):
                        takes_value[opt] = not (param.is_flag or param.count)
        out: list[str] = []
        value_next = False
        for index, arg in enumerate(args):
            if arg == "--":
                out.extend(args[index:])
                break
            if value_next or not arg.startswith("-") or arg == "-":
                out.append(arg)
                value_next = False
                continue
            name, equals, value = arg.partition("=")
            candidate = name if name.startswith("--") else "-" + name
            if candidate not in takes_value:
                matches = [opt for opt in takes_value if opt.startswith(candidate)]
                candidate = matches[0] if len(matches) == 1 else ""
            if not candidate:
                out.append(arg)
                continue
            out.append(candidate + equals + value)
            value_next = takes_value[candidate] and not equals
        return out
