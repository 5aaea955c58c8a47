"""The route table: one description per URL serves both the dispatcher and `/api/openapi.json`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from kafka_mesos.api.params import Params, ParamSpec


@dataclass(frozen=True)
class EncodedJson:
    """An answer already serialised (UTF-8 JSON text), sent as it is; what `json_response` would send."""

    body: bytes


Handler = Callable[[Params], Awaitable[dict[str, Any] | EncodedJson]]


@dataclass(frozen=True)
class Route:
    path: str
    summary: str
    params: tuple[ParamSpec, ...]
    handler: Handler
    tag: str
    response_example: dict[str, Any] | None = None
    rename: tuple[tuple[str, str], ...] = ()
    """(old, new): parameter names this route accepts under an older name, handed to the handler as new."""

    def accepted_params(self) -> tuple[ParamSpec, ...]:
        return self.params
