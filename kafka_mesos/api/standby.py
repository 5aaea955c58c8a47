"""A standby scheduler's API: reads are served from its own (read-only) view, everything else goes to the
leader with a 307 redirect to the API URL the leader published in ZooKeeper.

307 (not 302/303) keeps the method and the body: `POST /api/broker/add` is re-sent as it was. The JSON body
also names the leader, for clients that do not follow redirects.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from aiohttp import web
from aiohttp.typedefs import Middleware

from kafka_mesos.api.errors import ApiError

READ_PATHS = frozenset({
    "/health",
    "/api/openapi.json",
    "/api/broker/list",
    "/api/brokers/status",
    "/api/topic/list",
    "/api/topics/list",
    "/loglevel",  # this process' own log level
    "/quitquitquit",  # stops this process, whichever role it has
})
READ_PREFIXES = ("/files/", "/jar/", "/kafka/", "/executor/")

LEADER_HEADER = "X-Kafka-Mesos-Leader"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class LeaderDirectory(Protocol):
    @property
    def is_leader(self) -> bool:
        """True while this process leads (it then serves everything itself)."""

    async def leader(self) -> str | None:
        """The leader's public API URL, None while there is none."""


def served_locally(path: str) -> bool:
    return path in READ_PATHS or path.startswith(READ_PREFIXES)


def standby_middleware(directory: LeaderDirectory, own_url: str) -> Middleware:
    """Middleware for the app of a scheduler that takes part in leader election."""

    @web.middleware
    async def redirect_to_leader(request: web.Request, handler: Handler) -> web.StreamResponse:
        if directory.is_leader or served_locally(request.path):
            return await handler(request)
        leader = await directory.leader()
        if leader is None or leader.rstrip("/") == own_url.rstrip("/"):
            raise ApiError("no leading scheduler right now (an election is under way): try again shortly",
                           None, status=503)
        location = leader.rstrip("/") + request.path_qs
        body = ApiError(f"this scheduler is a standby; the leader is {leader}", None, status=307).to_json()
        body["leader"] = leader
        return web.json_response(body, status=307, headers={"Location": location, LEADER_HEADER: leader})

    return redirect_to_leader
