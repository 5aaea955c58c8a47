"""Where the CLI sends its requests: `--api`, then `KM_API`, then `api=` in ./kafka-mesos.properties."""

from __future__ import annotations

import os
from pathlib import Path

import click

from kafka_mesos.cli.properties import read_properties

PROPERTIES_FILE = "kafka-mesos.properties"
DEFAULT_API = "http://127.0.0.1:7000"


def resolve_api_url(option: str | None, cwd: Path | None = None) -> str:
    """The API URL; the scheduler's own default when nothing is configured."""
    if option:
        return option
    from_env = os.environ.get("KM_API")
    if from_env:
        return from_env
    path = (cwd or Path.cwd()) / PROPERTIES_FILE
    if path.is_file():
        try:
            value = read_properties(path).get("api")
        except (OSError, UnicodeDecodeError) as e:
            raise click.ClickException(f"cannot read {path}: {e}") from None
        if value:
            return value
    return DEFAULT_API
