"""The aiohttp application: routes, JSON errors, health, OpenAPI and the files executors fetch."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from aiohttp import web

from kafka_mesos.api.admin import admin_routes
from kafka_mesos.api.auth import ApiAuth, auth_middleware
from kafka_mesos.api.broker_routes import broker_routes
from kafka_mesos.api.brokers import BrokerService
from kafka_mesos.api.cluster import ApiCluster
from kafka_mesos.api.control import SchedulerControl
from kafka_mesos.api.errors import ApiError
from kafka_mesos.api.openapi import openapi_document
from kafka_mesos.api.params import Params
from kafka_mesos.api.rolling import TopicReplicas
from kafka_mesos.api.routes import EncodedJson, Route
from kafka_mesos.api.topic_service import TopicService
from kafka_mesos.api.topics import topic_routes
from kafka_mesos.core.errors import ValidationError
from kafka_mesos.kafka.topics import TopicBackend
from kafka_mesos.state.errors import ConflictError, StoreUnavailable

log = logging.getLogger(__name__)

FILE_PREFIXES = ("files", "jar", "kafka", "executor")


def build_app(
    cluster: ApiCluster,
    control: SchedulerControl,
    *,
    files: Mapping[str, Path] | None = None,
    on_quit: Callable[[], None] | None = None,
    auth: ApiAuth | None = None,
    topics: TopicBackend | None = None,
) -> web.Application:
    """The REST API over `cluster`. `files`: name → path of artifacts served to executors
    (`/files/<name>`, also `/jar/<name>`, `/kafka/<name>` as mesos/kafka's agents fetch them).
    `on_quit`: what `POST /quitquitquit` does (stop the scheduler, brokers keep running).
    `auth`: credentials every route but /health and the artifacts asks for (see auth.py).
    `topics`: Kafka's topic metadata (None: the topic routes answer 501, they need `--zk`)."""
    service = BrokerService(cluster, control, TopicReplicas(topics) if topics is not None else None)
    topic_service = TopicService(topics, cluster) if topics is not None else None
    routes = broker_routes(service) + topic_routes(topic_service) + admin_routes()
    app = web.Application(middlewares=[_json_errors, *([auth_middleware(auth)] if auth else [])])
    if topic_service is not None:
        app.cleanup_ctx.append(topic_service.watch_throttles)
    for route in routes:
        app.router.add_route("GET", route.path, _dispatcher(route))
        app.router.add_route("POST", route.path, _dispatcher(route))
    health = _health(cluster, control)
    app.router.add_route("GET", "/health", health)
    app.router.add_route("POST", "/health", health)
    app.router.add_post("/quitquitquit", _quit(on_quit))
    document = openapi_document(routes, _extra_paths())
    app.router.add_get("/api/openapi.json", _openapi(document))
    serve = _file_server(dict(files or {}))
    for prefix in FILE_PREFIXES:
        app.router.add_get(f"/{prefix}/{{name}}", serve)
    return app


def _dispatcher(route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def dispatch(request: web.Request) -> web.StreamResponse:
        params = await Params.from_request(request)
        params.check_known(route.params)
        for old, new in route.rename:
            params = params.rename(old, new)
        answer = await route.handler(params)
        if isinstance(answer, EncodedJson):
            return web.Response(body=answer.body, content_type="application/json", charset="utf-8")
        return web.json_response(answer)

    return dispatch


def _error_response(error: ApiError) -> web.Response:
    # mesos/kafka's own CLI shows only the status line's reason phrase: put the message there too.
    return web.json_response(error.to_json(), status=error.status, reason=_reason_phrase(error.message))


def _reason_phrase(message: str) -> str:
    printable = "".join(c if " " <= c <= "~" else "?" for c in message)
    return printable[:300] or "error"


@web.middleware
async def _json_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as e:
        return _error_response(e)
    except ValidationError as e:
        return _error_response(ApiError(e.message, e.field))
    except web.HTTPNotFound:
        return _error_response(ApiError(f"uri not found: {request.path}", None, status=404))
    except web.HTTPMethodNotAllowed:
        return _error_response(ApiError(f"method {request.method} not allowed", None, status=405))
    except web.HTTPException:
        raise
    except Exception as e:
        mapped = _state_error(e)
        if mapped is not None:
            return _error_response(mapped)
        log.exception("unexpected error serving %s %s", request.method, request.path)
        return _error_response(ApiError(f"internal error: {type(e).__name__}: {e}", None, status=500))


def _state_error(e: Exception) -> ApiError | None:
    """A conflicting writer (another scheduler on the same store) → 409, the store down → 503 (nothing
    was changed) or 504 (the store went away mid-write: the change may or may not be applied)."""
    if isinstance(e, ConflictError):
        return ApiError(f"conflicting change, try again: {e}", None, status=409)
    if isinstance(e, StoreUnavailable):
        if e.outcome_unknown:
            return ApiError(f"storage unavailable, outcome unknown (check before retrying): {e}", None,
                            status=504)
        return ApiError(f"storage unavailable: {e}", None, status=503)
    return None


def _health(
    cluster: ApiCluster, control: SchedulerControl
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def health(request: web.Request) -> web.StreamResponse:
        store_ok = await cluster.healthy()
        try:
            scheduler: dict[str, Any] = dict(control.status())
        except Exception as e:  # the health answer must not fail because a status field did
            log.exception("scheduler status failed")
            scheduler = {"error": f"{type(e).__name__}: {e}"}
        body: dict[str, Any] = {
            "status": "ok" if store_ok else "unavailable",
            "store": "ok" if store_ok else "unreachable",
            "scheduler": scheduler,
        }
        return web.json_response(body, status=200 if store_ok else 503)

    return health


def _quit(on_quit: Callable[[], None] | None) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def quit_scheduler(request: web.Request) -> web.StreamResponse:
        if on_quit is None:
            raise ApiError("this server cannot be stopped through the API", None, status=501)
        on_quit()
        return web.json_response({"status": "stopping"})

    return quit_scheduler


def _openapi(document: dict[str, Any]) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def serve(request: web.Request) -> web.StreamResponse:
        return web.json_response(document)

    return serve


def _file_server(files: dict[str, Path]) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def serve(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        path = files.get(name)
        if path is None or not path.is_file():
            known = ", ".join(sorted(files)) or "none"
            raise ApiError(f"no file {name!r} (served: {known})", "name", status=404)
        return web.FileResponse(path, headers={"Content-Disposition": f'attachment; filename="{name}"'})

    return serve


def _extra_paths() -> dict[str, Any]:
    ok = {"200": {"description": "success"}}
    return {
        "/health": {
            "get": {
                "summary": "200 when the store is reachable; includes the scheduler's status",
                "responses": {**ok, "503": {"description": "store unreachable"}},
            }
        },
        "/api/openapi.json": {"get": {"summary": "this document", "responses": ok}},
        "/quitquitquit": {
            "post": {
                "summary": "stop the scheduler; the brokers keep running and the next scheduler takes over",
                "responses": {**ok, "501": {"description": "not available in this server"}},
            }
        },
        "/files/{name}": {
            "get": {
                "summary": "an artifact served to executors (executor zipapp, Kafka distribution); "
                "also under /jar/{name}, /kafka/{name}, /executor/{name}",
                "parameters": [
                    {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {**ok, "404": {"description": "no such file"}},
            }
        },
    }
