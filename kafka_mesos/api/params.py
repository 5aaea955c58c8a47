"""Request parameters: the query string, a form body or a JSON body, checked against a route's spec."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from aiohttp import web

from kafka_mesos.api.errors import ApiError

ParamKind = Literal["string", "integer", "number", "boolean", "flag", "duration", "expr", "map", "range"]

_TRUE = {"", "true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


@dataclass(frozen=True)
class ParamSpec:
    """One parameter a route accepts; also what `/api/openapi.json` publishes."""

    name: str
    kind: ParamKind
    description: str
    default: str | None = None
    required: bool = False
    example: str | None = None
    aliases: tuple[str, ...] = field(default=())
    minimum: float | None = None  # published in openapi.json (the handlers check it themselves)
    exclusive_minimum: bool = False
    maximum: float | None = None


class Params:
    """The parameters of one request, by name. Values are strings, as mesos/kafka's clients send them."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)

    @classmethod
    async def from_request(cls, request: web.Request) -> Params:
        values: dict[str, str] = {}
        _merge(values, request.query.items())
        if request.body_exists:
            try:
                _merge(values, await _body_items(request))
            except UnicodeDecodeError:
                raise ApiError("the request body is not valid UTF-8", None) from None
        return cls(values)

    def names(self) -> set[str]:
        return set(self._values)

    def get(self, name: str) -> str | None:
        return self._values.get(name)

    def require(self, name: str) -> str:
        value = self._values.get(name)
        if value is None or value.strip() == "":
            raise ApiError(f"{name} required", name)
        return value

    def flag(self, name: str) -> bool:
        value = self._values.get(name)
        if value is None:
            return False
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ApiError(f"invalid {name}: {value!r} (expected true or false)", name)

    def integer(self, name: str, default: int, *, minimum: int | None = None) -> int:
        value = self._values.get(name)
        if value is None or value.strip() == "":
            return default
        try:
            number = int(value.strip())
        except ValueError:
            raise ApiError(f"invalid {name}: {value!r} is not an integer", name) from None
        if minimum is not None and number < minimum:
            raise ApiError(f"invalid {name}: {number} (must be >= {minimum})", name)
        return number

    def rename(self, old: str, new: str) -> Params:
        """The same parameters with `old` called `new` (the G1 routes say `id` where G2 says `broker`)."""
        if old not in self._values:
            return self
        if new in self._values:
            raise ApiError(f"give either {old} or {new}, not both", old)
        values = dict(self._values)
        values[new] = values.pop(old)
        return Params(values)

    def check_known(self, specs: Iterable[ParamSpec]) -> None:
        known = {s.name for s in specs}
        unknown = sorted(self.names() - known)
        if unknown:
            allowed = ", ".join(sorted(known)) or "none"
            raise ApiError(f"unknown parameter {unknown[0]} (allowed: {allowed})", unknown[0])

    def subset(self, names: Iterable[str]) -> dict[str, str]:
        wanted = set(names)
        return {k: v for k, v in self._values.items() if k in wanted}


def _merge(values: dict[str, str], items: Iterable[tuple[str, str]]) -> None:
    for name, value in items:
        if name in values and values[name] != value:
            raise ApiError(f"parameter {name} given twice with different values", name)
        values[name] = value


async def _body_items(request: web.Request) -> list[tuple[str, str]]:
    content_type = request.content_type
    if content_type == "application/json":
        return _json_items(await request.text())
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        items: list[tuple[str, str]] = []
        for name, value in form.items():
            if not isinstance(value, str):
                raise ApiError(f"parameter {name} must be text, not a file", name)
            items.append((name, value))
        return items
    text = (await request.text()).strip()
    if not text:
        return []
    raise ApiError(
        f"unsupported request body type {content_type!r}: send application/x-www-form-urlencoded or "
        "application/json",
        None,
        status=415,
    )


def _json_items(text: str) -> list[tuple[str, str]]:
    if not text.strip():
        return []
    try:
        body = json.loads(text)
    except json.JSONDecodeError as e:
        raise ApiError(f"invalid JSON body: {e.msg} at line {e.lineno} column {e.colno}", None) from None
    if not isinstance(body, dict):
        raise ApiError("the JSON body must be an object of parameters", None)
    return [(name, _json_value_text(name, value)) for name, value in body.items()]


def _json_value_text(name: str, value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    if value is None:
        return ""
    raise ApiError(f"parameter {name} must be a string, number or boolean", name)
