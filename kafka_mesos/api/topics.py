"""Topic routes: `/api/topic/*`, the older `/api/topics/*` and `/api/brokers/rebalance`.

Without a topic backend (no `--zk`) they answer 501 with the reason.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from kafka_mesos.api.errors import not_implemented
from kafka_mesos.api.params import Params, ParamSpec
from kafka_mesos.api.routes import Route
from kafka_mesos.api.topic_service import TopicService

_TOPIC = ParamSpec("topic", "expr", "topic expression: names, `t*` prefixes, `*` for all", example="t1,t2")
_BROKER = ParamSpec("broker", "expr", "brokers to place replicas on", default="*")
_OPTIONS = ParamSpec("options", "map", "topic config overrides", example="flush.ms=1000")
_PARTITIONS = ParamSpec("partitions", "integer", "number of partitions", default="1")
_REPLICAS = ParamSpec("replicas", "integer", "replication factor", default="1")
_FIXED_START = ParamSpec("fixedStartIndex", "integer", "first broker index for assignment (-1 random)",
                         default="-1")
_START_PARTITION = ParamSpec("startPartitionId", "integer", "first partition id (-1 random)", default="-1")
_TIMEOUT = ParamSpec("timeout", "duration", "wait until the reassignment completes (none: do not wait)")
_REALIGN = ParamSpec("realign", "flag", "move only partitions with replicas outside the brokers")
_DRY_RUN = ParamSpec("dryRun", "flag", "only show the plan (moves per broker), write nothing")
_THROTTLE = ParamSpec("throttle", "integer",
                      "replication throttle in bytes/s while data moves (removed when done); 0: none",
                      default="0")

_OPERATIONS: dict[str, tuple[str, tuple[ParamSpec, ...]]] = {
    "list": ("List topics", (_TOPIC,)),
    "add": ("Add topics",
            (_TOPIC, _BROKER, _PARTITIONS, _REPLICAS, _OPTIONS, _FIXED_START, _START_PARTITION)),
    "update": ("Update topics' config overrides", (_TOPIC, _OPTIONS)),
    "delete": ("Mark topics for deletion (Kafka's controller deletes them)", (_TOPIC,)),
    "rebalance": ("Rebalance topics over brokers (no topic: status)",
                  (_TOPIC, _BROKER, ParamSpec("replicas", "integer", "new replication factor (-1 keep)",
                                              default="-1"),
                   _FIXED_START, _START_PARTITION, _TIMEOUT, _REALIGN, _DRY_RUN, _THROTTLE)),
    "realign": ("Realign topics onto brokers (no topic: status)",
                (_TOPIC, _BROKER, ParamSpec("replicas", "integer", "new replication factor (-1 keep)",
                                            default="-1"), _FIXED_START, _TIMEOUT, _DRY_RUN, _THROTTLE)),
}

_G1_OPERATIONS: dict[str, tuple[str, tuple[ParamSpec, ...]]] = {
    "list": ("List topics (older route)", (ParamSpec("name", "expr", "topic expression", default="*"),)),
    "add": ("Add topics (older route)", (ParamSpec("name", "expr", "topic names", required=True),
                                          _PARTITIONS, _REPLICAS, _OPTIONS)),
    "update": ("Update topics (older route)", (ParamSpec("name", "expr", "topic names", required=True),
                                                _OPTIONS)),
}


Handler = Callable[[Params], Awaitable[dict[str, Any]]]


def _unavailable(operation: str) -> Handler:
    async def handler(params: Params) -> dict[str, Any]:
        raise not_implemented(f"topic {operation} needs Kafka's ZooKeeper: start the scheduler with --zk")

    return handler


def _handlers(service: TopicService | None) -> dict[str, Handler]:
    if service is None:
        return {op: _unavailable(op)
                for op in ("list", "add", "update", "delete", "rebalance", "realign", "g1", "partitions")}

    async def realign(params: Params) -> dict[str, Any]:
        return await service.rebalance(params, realign=True)

    return {"list": service.list_topics, "add": service.add, "update": service.update,
            "delete": service.delete, "rebalance": service.rebalance, "realign": realign,
            "g1": service.g1_rebalance, "partitions": service.partitions}


def _g1_single(handler: Handler) -> Handler:
    """The first routes answered `{"topic": T}`; `topics` added for more than one."""

    async def wrapped(params: Params) -> dict[str, Any]:
        answer = await handler(params)
        topics = answer.get("topics") or []
        return {"topic": topics[0] if topics else None, "topics": topics}

    return wrapped


def topic_routes(service: TopicService | None = None) -> list[Route]:
    handlers = _handlers(service)
    routes = [
        Route(f"/api/topic/{op}", summary, params, handlers[op], "topic")
        for op, (summary, params) in _OPERATIONS.items()
    ]
    routes += [
        Route(f"/api/topics/{op}", summary, params,
              handlers[op] if op == "list" else _g1_single(handlers[op]), "topic (older routes)",
              rename=(("name", "topic"),))
        for op, (summary, params) in _G1_OPERATIONS.items()
    ]
    routes.append(rebalance_route(handlers["g1"]))
    routes.append(Route("/api/partition/list", "Partitions of topics: replicas, ISR, leader, expected leader",
                        (ParamSpec("topic", "expr", "topic expression", required=True, example="t1"),),
                        handlers["partitions"], "topic"))
    return routes


def rebalance_route(handler: Handler | None = None) -> Route:
    params = (
        ParamSpec("id", "expr", "brokers to rebalance onto; absent or `status`: the running rebalance"),
        ParamSpec("topics", "expr", "topics to rebalance (G1 form t0:3 sets the replication factor)",
                  default="*"),
        ParamSpec("replicas", "integer", "new replication factor for every topic (-1 keep)", default="-1"),
        ParamSpec("timeout", "duration", "wait until done", default="0"),
        _DRY_RUN,
        _THROTTLE,
    )
    return Route("/api/brokers/rebalance", "Rebalance (older route)", params,
                 handler or _unavailable("rebalance"), "broker (older routes)", rename=(("id", "broker"),))
