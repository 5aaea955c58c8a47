"""Where the CLI sends its requests: `--api`, then `KM_API`, then `api=` in ./kafka-mesos.properties.

The API's credentials come the same way (no command-line option, so they do not show in `ps`):
`KM_API_AUTH` / `api-auth=USER:PASSWORD`, or `KM_API_TOKEN_FILE` / `api-token-file=PATH`.
"""

from __future__ import annotations

import base64
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


def _setting(name: str, cwd: Path | None) -> str | None:
    from_env = os.environ.get("KM_" + name.upper().replace("-", "_"))
    if from_env:
        return from_env
    path = (cwd or Path.cwd()) / PROPERTIES_FILE
    if not path.is_file():
        return None
    try:
        return read_properties(path).get(name) or None
    except (OSError, UnicodeDecodeError) as e:
        raise click.ClickException(f"cannot read {path}: {e}") from None


def resolve_api_authorization(cwd: Path | None = None) -> str | None:
    """The `Authorization` header for the API, or None when no credentials are configured."""
    user_password = _setting("api-auth", cwd)
    if user_password:
        if ":" not in user_password:  # the value is a secret: the message does not show it
            raise click.ClickException("api-auth: expected USER:PASSWORD")
        return "Basic " + base64.b64encode(user_password.encode()).decode("ascii")
    token_file = _setting("api-token-file", cwd)
    if token_file:
        try:
            token = Path(token_file).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as e:
            raise click.ClickException(f"cannot read the API token file {token_file}: "
                                       f"{getattr(e, 'strerror', None) or e}") from None
        if not token:
            raise click.ClickException(f"the API token file {token_file} is empty")
        return f"Bearer {token}"
    return None
