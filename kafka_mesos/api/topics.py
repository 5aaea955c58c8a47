"""Topic routes: present (so clients get a clear answer) but not implemented until the topics work lands."""

from __future__ import annotations

from typing import Any

from kafka_mesos.api.errors import not_implemented
from kafka_mesos.api.params import Params, ParamSpec
from kafka_mesos.api.routes import Route

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

_OPERATIONS: dict[str, tuple[str, tuple[ParamSpec, ...]]] = {
    "list": ("List topics", (_TOPIC,)),
    "add": ("Add topics",
            (_TOPIC, _BROKER, _PARTITIONS, _REPLICAS, _OPTIONS, _FIXED_START, _START_PARTITION)),
    "update": ("Update topics' config overrides", (_TOPIC, _OPTIONS)),
    "rebalance": ("Rebalance topics over brokers (no topic: status)",
                  (_TOPIC, _BROKER, ParamSpec("replicas", "integer", "new replication factor (-1 keep)",
                                              default="-1"),
                   _FIXED_START, _START_PARTITION, _TIMEOUT, _REALIGN)),
    "realign": ("Realign topics onto brokers (no topic: status)",
                (_TOPIC, _BROKER, ParamSpec("replicas", "integer", "new replication factor (-1 keep)",
                                            default="-1"), _FIXED_START, _TIMEOUT)),
}

_G1_OPERATIONS: dict[str, tuple[str, tuple[ParamSpec, ...]]] = {
    "list": ("List topics (older route)", (ParamSpec("name", "expr", "topic expression", default="*"),)),
    "add": ("Add topics (older route)", (ParamSpec("name", "expr", "topic names", required=True),
                                          _PARTITIONS, _REPLICAS, _OPTIONS)),
    "update": ("Update topics (older route)", (ParamSpec("name", "expr", "topic names", required=True),
                                                _OPTIONS)),
}


def _pending(operation: str) -> Any:
    async def handler(params: Params) -> dict[str, Any]:
        raise not_implemented(
            f"topic {operation} is not available yet: topics and rebalance come with a later release "
            "of kafka-mesos (issue #6); brokers can be managed already"
        )

    return handler


def topic_routes() -> list[Route]:
    routes = [
        Route(f"/api/topic/{op}", summary, params, _pending(op), "topic")
        for op, (summary, params) in _OPERATIONS.items()
    ]
    routes += [
        Route(f"/api/topics/{op}", summary, params, _pending(op), "topic (older routes)")
        for op, (summary, params) in _G1_OPERATIONS.items()
    ]
    return routes


def rebalance_route() -> Route:
    params = (
        ParamSpec("id", "expr", "brokers to rebalance onto; absent: status of the running rebalance"),
        ParamSpec("topics", "expr", "topics to rebalance (G1 form t0:3 sets the replication factor)",
                  default="*"),
        ParamSpec("timeout", "duration", "wait until done", default="0"),
    )
    return Route("/api/brokers/rebalance", "Rebalance (older route)", params, _pending("rebalance"),
                 "broker (older routes)")
