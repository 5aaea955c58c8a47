"""Pieces every CLI command shares: `--api`, `--json`, the client, printing answers."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from kafka_mesos.apiclient import ApiClient
from kafka_mesos.cli.config import resolve_api_url
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
    return ApiClient(resolve_api_url(api))


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
