"""A small synchronous client of the REST API: one method per route.

Synchronous (urllib) on purpose: the CLI makes one call per process, and a blocking call keeps it simple
and quick to start. Requests are sent as mesos/kafka's CLI sends them: `POST` with a form body, flags as
bare names.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote_plus, urljoin, urlsplit

ParamValue = str | int | float | bool | None

_DEFAULT_TIMEOUT = 30.0
_MAX_REDIRECTS = 3
_DURATION = re.compile(r"^\s*(\d+)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


class ApiClientError(Exception):
    """The API refused the request (4xx/5xx): its message, the parameter it names, the HTTP status."""

    def __init__(self, message: str, field: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status


class ApiUnreachable(ApiClientError):
    """Nothing answered at the API URL."""


def encode_form(params: Mapping[str, ParamValue]) -> bytes:
    """`k=v&flag` as mesos/kafka's CLI sends it; `True` → bare name, `False`/`None` → left out."""
    parts: list[str] = []
    for name, value in params.items():
        if value is None or value is False:
            continue
        if value is True:
            parts.append(quote_plus(name))
        else:
            parts.append(f"{quote_plus(name)}={quote_plus(str(value))}")
    return "&".join(parts).encode()


def normalise_api_url(url: str) -> str:
    url = url.strip().rstrip("/")
    if "://" not in url:
        url = "http://" + url
    return url


class ApiClient:
    def __init__(
        self, api_url: str, timeout: float = _DEFAULT_TIMEOUT, authorization: str | None = None
    ) -> None:
        """`authorization`: the `Authorization` header sent with every request (`Basic ...`/`Bearer ...`)."""
        self.api_url = normalise_api_url(api_url)
        self.timeout = timeout
        self._headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        if authorization:
            self._headers["Authorization"] = authorization

    # -- transport ---------------------------------------------------------------------------------
    def call(self, path: str, params: Mapping[str, ParamValue] | None = None) -> dict[str, Any]:
        """POST `params` to `<api>/<path>` and return the JSON answer. A standby scheduler answers with a
        307 to the leader's API: followed (same method and body), a few hops at most."""
        return self._post(f"{self.api_url}/{path.lstrip('/')}", params or {}, _MAX_REDIRECTS)

    def _post(self, url: str, params: Mapping[str, ParamValue], redirects_left: int) -> dict[str, Any]:
        request = urllib.request.Request(
            url,
            data=encode_form(params),
            method="POST",
            headers=self._headers,
        )
        try:
            with urllib.request.urlopen(request, timeout=self._socket_timeout(params)) as response:
                return _json_object(response.read(), url)
        except urllib.error.HTTPError as e:
            location = e.headers.get("Location") if e.code in (307, 308) else None
            if location and redirects_left > 0:
                return self._post(urljoin(url, location), params, redirects_left - 1)
            raise _error_from(e, url) from None
        except (urllib.error.URLError, ConnectionError, TimeoutError) as e:
            reason = getattr(e, "reason", e)
            if not url.startswith(self.api_url + "/"):  # a standby sent us to a leader that is not there
                where = urlsplit(url)
                raise ApiUnreachable(f"{self.api_url} is a standby; cannot reach the leader it names, "
                                     f"{where.scheme}://{where.netloc} ({reason})") from None
            raise ApiUnreachable(f"cannot reach the API at {self.api_url} ({reason})") from None

    def _socket_timeout(self, params: Mapping[str, ParamValue]) -> float:
        """Enough to outlast a server-side wait (`timeout=` of start/stop/restart/log)."""
        wait = params.get("timeout")
        if isinstance(wait, str):
            match = _DURATION.match(wait)
            if match:
                return self.timeout + int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        return self.timeout

    # -- brokers (G2/G3 routes) --------------------------------------------------------------------
    def broker_list(self, broker: str = "*") -> dict[str, Any]:
        return self.call("api/broker/list", {"broker": broker})

    def broker_add(self, broker: str, **options: ParamValue) -> dict[str, Any]:
        return self.call("api/broker/add", {"broker": broker, **options})

    def broker_update(self, broker: str, **options: ParamValue) -> dict[str, Any]:
        return self.call("api/broker/update", {"broker": broker, **options})

    def broker_remove(self, broker: str) -> dict[str, Any]:
        return self.call("api/broker/remove", {"broker": broker})

    def broker_clone(self, broker: str, source: str) -> dict[str, Any]:
        return self.call("api/broker/clone", {"broker": broker, "source": source})

    def broker_start(self, broker: str, timeout: str | None = None) -> dict[str, Any]:
        return self.call("api/broker/start", {"broker": broker, "timeout": timeout})

    def broker_stop(self, broker: str, timeout: str | None = None, force: bool = False) -> dict[str, Any]:
        return self.call("api/broker/stop", {"broker": broker, "timeout": timeout, "force": force})

    def broker_restart(
        self, broker: str, timeout: str | None = None, no_wait_for_replication: bool = False,
        batch: int | None = None,
    ) -> dict[str, Any]:
        params = {"broker": broker, "timeout": timeout, "noWaitForReplication": no_wait_for_replication,
                  "batch": batch}
        return self.call("api/broker/restart", params)

    def broker_log(
        self, broker: str, name: str | None = None, lines: int | None = None, timeout: str | None = None
    ) -> dict[str, Any]:
        params = {"broker": broker, "name": name, "lines": lines, "timeout": timeout}
        return self.call("api/broker/log", params)

    # -- topics ------------------------------------------------------------------------------------
    def topic(self, operation: str, **params: ParamValue) -> dict[str, Any]:
        """`topic list|add|update|rebalance|realign` with mesos/kafka's parameter names."""
        return self.call(f"api/topic/{operation}", params)

    # -- G1 routes ---------------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        return self.call("api/brokers/status")

    def rebalance(self, **params: ParamValue) -> dict[str, Any]:
        return self.call("api/brokers/rebalance", params)

    # -- misc --------------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        return self.call("health")


_NOT_US = "is the API URL that of a kafka-mesos scheduler?"


def _json_object(data: bytes, url: str) -> dict[str, Any]:
    try:
        body = json.loads(data.decode("utf-8") or "{}")
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ApiClientError(f"{url} answered with something that is not JSON: {_NOT_US}") from None
    if not isinstance(body, dict):
        raise ApiClientError(f"{url} answered with JSON that is not an object: {_NOT_US}")
    return body


def _error_from(e: urllib.error.HTTPError, url: str) -> ApiClientError:
    try:
        body = json.loads(e.read().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, OSError):
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        field = body.get("field")
        return ApiClientError(body["error"], field if isinstance(field, str) else None, e.code)
    hint = f" ({_NOT_US})" if e.code in (404, 405) else ""
    return ApiClientError(f"{url}: {e.code} - {e.reason}{hint}", None, e.code)
