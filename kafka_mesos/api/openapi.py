"""`/api/openapi.json`: an OpenAPI 3.0 description generated from the route table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kafka_mesos.api.params import ParamSpec
from kafka_mesos.api.routes import Route

_SCHEMAS: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "integer": {"type": "integer"},
    "number": {"type": "number"},
    "boolean": {"type": "boolean"},
    "flag": {"type": "boolean", "description": "presence is enough: `force` means true"},
    "duration": {"type": "string", "pattern": r"^\d+(ms|s|m|h|d)?$"},
    "expr": {"type": "string"},
    "map": {"type": "string", "description": "k=v,k2=v2; \\ escapes , = and \\"},
    "range": {"type": "string", "pattern": r"^(\d+(\.\.\d+)?)?$"},
}

_ERROR_SCHEMA = {
    "type": "object",
    "required": ["code", "error"],
    "properties": {
        "code": {"type": "integer"},
        "error": {"type": "string"},
        "field": {"type": "string", "nullable": True},
    },
}


def _schema(spec: ParamSpec) -> dict[str, Any]:
    schema = dict(_SCHEMAS[spec.kind])
    if spec.default is not None:
        schema["default"] = spec.default
    if spec.example is not None:
        schema["example"] = spec.example
    if spec.minimum is not None:
        schema["minimum"] = spec.minimum
        if spec.exclusive_minimum:
            schema["exclusiveMinimum"] = True
    if spec.maximum is not None:
        schema["maximum"] = spec.maximum
    return schema


def _parameter(spec: ParamSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "in": "query",
        "required": spec.required,
        "description": spec.description,
        "schema": _schema(spec),
    }


def _form_body(params: Sequence[ParamSpec]) -> dict[str, Any]:
    properties = {p.name: {**_schema(p), "description": p.description} for p in params}
    required = [p.name for p in params if p.required]
    form: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        form["required"] = required
    return {
        "description": "the same parameters as a form or a JSON object (the query string also works)",
        "content": {
            "application/x-www-form-urlencoded": {"schema": form},
            "application/json": {"schema": form},
        },
    }


def _operation(route: Route, method: str) -> dict[str, Any]:
    ok: dict[str, Any] = {"description": "success", "content": {"application/json": {"schema": {}}}}
    if route.response_example is not None:
        ok["content"]["application/json"]["example"] = route.response_example
    error = {"description": "refused", "content": {"application/json": {"schema": _ERROR_SCHEMA}}}
    operation: dict[str, Any] = {
        "summary": route.summary,
        "tags": [route.tag],
        "operationId": f"{method}_{route.path.strip('/').replace('/', '_')}",
        "parameters": [_parameter(p) for p in route.params],
        "responses": {"200": ok, "400": error},
    }
    if method == "post" and route.params:
        operation["requestBody"] = _form_body(route.params)
    return operation


def openapi_document(routes: Sequence[Route], extra_paths: dict[str, Any]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for route in routes:
        paths[route.path] = {"get": _operation(route, "get"), "post": _operation(route, "post")}
    paths.update(extra_paths)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "kafka-mesos",
            "version": "1",
            "description": "Kafka brokers on Mesos. Compatible with mesos/kafka's /api/broker, /api/topic "
            "and the older /api/brokers, /api/topics routes. Every route takes GET or POST; parameters "
            "from the query string, a form body or a JSON body. Unknown parameters are refused.",
        },
        "paths": paths,
    }
