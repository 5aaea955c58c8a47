"""Broker routes: `/api/broker/*` (mesos/kafka 0.9.2+) and the older `/api/brokers/*` (`id=`)."""

from __future__ import annotations

from typing import Any

from kafka_mesos.api.brokers import BrokerService
from kafka_mesos.api.params import ParamSpec
from kafka_mesos.api.routes import Route
from kafka_mesos.core.validation import BROKER_PARAMS

Json = dict[str, Any]

_EXPR = "broker expression: 0, 0,1, 0..2, * or *[rack=r1]"
BROKER = ParamSpec("broker", "expr", _EXPR, required=True, example="0..2")
BROKER_LIST = ParamSpec("broker", "expr", _EXPR, default="*")
G1_ID = ParamSpec("id", "expr", _EXPR, required=True, example="0..2")

SETTINGS: tuple[ParamSpec, ...] = (
    ParamSpec("cpus", "number", "CPUs", default="1", example="0.5", minimum=0, exclusive_minimum=True),
    ParamSpec("mem", "integer", "memory of the task in MB", default="2048", minimum=1),
    ParamSpec("heap", "integer", "broker JVM heap in MB (less than mem)", default="1024", minimum=1),
    ParamSpec("port", "range", "port or range; empty: any offered port", example="31090..31100"),
    ParamSpec("volume", "string", "id of a pre-created Mesos persistent volume"),
    ParamSpec("bindAddress", "string", "broker bind address: ip, host, 10.0.0.* or if:eth1"),
    ParamSpec("constraints", "map", "attr=cond,...: like:R, unlike:R, unique, cluster[:V], groupBy[:N]",
              example="hostname=unique"),
    ParamSpec("options", "map", "Kafka server properties ($id = broker id)", example="num.io.threads=1"),
    ParamSpec("log4jOptions", "map", "log4j properties"),
    ParamSpec("jvmOptions", "string", "extra JVM options"),
    ParamSpec("stickinessPeriod", "duration", "keep a stopped broker's host this long", default="10m"),
    ParamSpec("failoverDelay", "duration", "first relaunch delay after a failure", default="1m"),
    ParamSpec("failoverMaxDelay", "duration", "longest relaunch delay", default="10m"),
    ParamSpec("failoverMaxTries", "integer", "failures before the broker is deactivated; empty: no limit"),
)
assert {p.name for p in SETTINGS} == set(BROKER_PARAMS), "the API publishes every broker setting core knows"

START_TIMEOUT = ParamSpec("timeout", "duration", "wait until every broker is running; 0: return at once",
                          default="60s")
STOP_TIMEOUT = ParamSpec("timeout", "duration", "wait until every broker has stopped; 0: return at once",
                         default="60s")
FORCE = ParamSpec("force", "flag", "end the tasks at once instead of a graceful shutdown")
RESTART_TIMEOUT = ParamSpec("timeout", "duration", "time for the whole rolling restart", default="5m")
BATCH = ParamSpec("batch", "integer", "brokers restarted at a time", default="1")
UPDATE_RESTART = ParamSpec("restart", "flag", "roll the brokers whose running settings changed")
UPDATE_TIMEOUT = ParamSpec("timeout", "duration", "with restart: time for the whole rolling restart",
                           default="5m")
NO_WAIT_REPLICATION = ParamSpec("noWaitForReplication", "flag",
                                "do not wait for replicas to be back in sync between brokers")
LOG_PARAMS = (
    ParamSpec("broker", "integer", "broker id", required=True),
    ParamSpec("name", "string", "stdout, stderr or a Kafka log file name ending in .log", default="stdout"),
    ParamSpec("lines", "integer", "lines from the end of the file", default="100", minimum=1,
              maximum=100_000),
    ParamSpec("timeout", "duration", "how long to wait for the executor's answer", default="30s"),
)
_BROKER_EXAMPLE: Json = {"brokers": [{"id": "0", "active": False, "cpus": 1.0, "mem": 2048, "heap": 1024,
                                      "state": "stopped"}]}


def broker_routes(service: BrokerService) -> list[Route]:
    tag, old = "broker", "broker (older routes)"
    start = (BROKER, START_TIMEOUT)
    stop = (BROKER, STOP_TIMEOUT, FORCE)
    routes = [
        Route("/api/broker/list", "List brokers", (BROKER_LIST,), service.list, tag, _BROKER_EXAMPLE),
        Route("/api/broker/add", "Add brokers (stopped)", (BROKER, *SETTINGS), service.add, tag,
              _BROKER_EXAMPLE),
        Route("/api/broker/update", "Change brokers' settings; \"\" unsets; maps replace the whole map",
              (BROKER, *SETTINGS, UPDATE_RESTART, UPDATE_TIMEOUT), service.update, tag, _BROKER_EXAMPLE),
        Route("/api/broker/remove", "Remove stopped brokers", (BROKER,), service.remove, tag,
              {"ids": ["0", "1"]}),
        Route("/api/broker/clone", "Add brokers with an existing broker's settings",
              (BROKER, ParamSpec("source", "integer", "id of the broker to copy", required=True)),
              service.clone, tag, _BROKER_EXAMPLE),
        Route("/api/broker/start", "Start brokers; status started, scheduled (timeout=0) or timeout", start,
              service.start, tag, {"status": "started", "brokers": _BROKER_EXAMPLE["brokers"]}),
        Route("/api/broker/stop", "Stop brokers; status stopped, scheduled (timeout=0) or timeout", stop,
              service.stop, tag, {"status": "stopped", "brokers": _BROKER_EXAMPLE["brokers"]}),
        Route("/api/broker/restart", "Rolling restart, one broker (or batch) at a time, each back in its ISR",
              (BROKER, RESTART_TIMEOUT, BATCH, NO_WAIT_REPLICATION), service.restart, tag,
              {"status": "restarted", "restarted": ["0"], "brokers": []}),
        Route("/api/broker/log", "The end of a running broker's log", LOG_PARAMS, service.log, tag,
              {"status": "ok", "content": "..."}),
        # mesos/kafka 0.9.0/0.9.1: /api/brokers/*, broker ids in `id`.
        Route("/api/brokers/status", "Cluster status: framework id and every broker (older route)", (),
              service.g1_status, old),
        Route("/api/brokers/add", "Add brokers (older route)", (G1_ID, *SETTINGS), service.add, old,
              rename=(("id", "broker"),)),
        Route("/api/brokers/update", "Change brokers' settings (older route)", (G1_ID, *SETTINGS),
              service.update, old, rename=(("id", "broker"),)),
        Route("/api/brokers/remove", "Remove stopped brokers (older route); ids as one string", (G1_ID,),
              service.g1_remove, old, {"ids": "0,1"}, rename=(("id", "broker"),)),
        Route("/api/brokers/start", "Start brokers (older route)", (G1_ID, START_TIMEOUT), service.g1_start,
              old, rename=(("id", "broker"),)),
        Route("/api/brokers/stop", "Stop brokers (older route)", (G1_ID, STOP_TIMEOUT, FORCE),
              service.g1_stop, old, rename=(("id", "broker"),)),
    ]
    return routes
