"""The broker operations behind `/api/broker/*` and `/api/brokers/*` (routes in `broker_routes`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from kafka_mesos.api.broker_json import BrokerListCache, encode_answer
from kafka_mesos.api.cluster import ApiCluster, Changes, wait_until
from kafka_mesos.api.control import SchedulerControl
from kafka_mesos.api.errors import ApiError
from kafka_mesos.api.params import Params
from kafka_mesos.api.rolling import ReplicaView, RollingRestart
from kafka_mesos.api.routes import EncodedJson
from kafka_mesos.core.durations import parse_duration
from kafka_mesos.core.expr import format_broker_ids, parse_broker_expr, parse_broker_ids
from kafka_mesos.core.model import Broker, broker_to_api_json
from kafka_mesos.core.validation import BROKER_PARAMS, cloned_brokers, new_brokers, updated_broker

Json = dict[str, Any]

LOG_NAMES = ("stdout", "stderr")
MAX_LOG_LINES = 100_000


def _timeout(params: Params, default: str) -> float:
    text = params.get("timeout")
    return parse_duration(default if text is None or not text.strip() else text, "timeout")


def _plural(ids: Sequence[int]) -> str:
    return "broker" if len(ids) == 1 else "brokers"


class BrokerService:
    """The broker operations; each takes the request's parameters and returns the JSON answer."""

    def __init__(
        self, cluster: ApiCluster, control: SchedulerControl, replicas: ReplicaView | None = None
    ) -> None:
        self.cluster = cluster
        self.control = control
        self.rolling = RollingRestart(cluster, control, replicas)
        self.rendered = BrokerListCache()
        self.clock: Callable[[], float] = time.time  # the `now` of rendered states (tests set it)

    # -- helpers -----------------------------------------------------------------------------------
    def _json(self, ids: Sequence[int]) -> list[Json]:
        brokers = self.cluster.snapshot()
        now = self.clock()
        return [broker_to_api_json(brokers[i], now) for i in ids if i in brokers]

    def _encoded(self, answer: Json, expr: str) -> EncodedJson:
        """`answer` with its "brokers" member the brokers `expr` selects, from the rendered-JSON cache."""
        brokers = self.cluster.snapshot()

        def select() -> list[int]:
            return parse_broker_expr(expr, "broker").select(brokers.values())

        listed = self.rendered.list_text(brokers, expr, select, self.clock())
        return EncodedJson(encode_answer(answer, "brokers", listed))

    @staticmethod
    def _select_existing(text: str, brokers: Mapping[int, Broker], field: str = "broker") -> list[int]:
        """Ids of existing brokers the expression names; explicit ids that do not exist are an error."""
        expr = parse_broker_expr(text, field)
        missing = [i for i in expr.ids if i not in brokers]
        if missing:
            noun = "broker" if len(missing) == 1 else "brokers"
            raise ApiError(f"{noun} {format_broker_ids(missing)} not found", field)
        ids = expr.select(brokers.values())
        if not ids:
            raise ApiError(f"no broker matches {text!r}", field)
        return ids

    async def _change(
        self, expr: str, change: Callable[[Broker], Broker], check: Callable[[Broker], None] | None = None
    ) -> list[int]:
        """Apply `change` to every broker `expr` selects, atomically; returns the ids."""
        chosen: list[int] = []

        def decide(brokers: Mapping[int, Broker]) -> Changes:
            ids = self._select_existing(expr, brokers)
            if check is not None:
                for i in ids:
                    check(brokers[i])
            chosen[:] = ids
            return {i: change(brokers[i]) for i in ids}

        await self.cluster.transact(decide)
        return chosen

    # -- list / add / update / remove / clone -----------------------------------------------------
    async def list(self, params: Params) -> EncodedJson:
        expr = params.get("broker") or "*"
        answer: Json = {"brokers": None}
        reconciling = _reconciling(self.control)
        if reconciling:
            answer["reconciling"] = reconciling
        return self._encoded(answer, expr)

    async def add(self, params: Params) -> Json:
        ids = parse_broker_ids(params.require("broker"), "broker")
        settings = params.subset(BROKER_PARAMS)

        def decide(brokers: Mapping[int, Broker]) -> Changes:
            return {b.id: b for b in new_brokers(ids, brokers.keys(), settings)}

        await self.cluster.transact(decide)
        return {"brokers": self._json(ids)}

    async def update(self, params: Params) -> Json:
        settings = params.subset(BROKER_PARAMS)
        restart = params.flag("restart")
        timeout = _timeout(params, "5m")
        ids = await self._change(params.require("broker"), lambda b: updated_broker(b, settings))
        if not restart:
            return {"brokers": self._json(ids)}
        brokers = self.cluster.snapshot()
        to_restart = [i for i in ids if i in brokers and brokers[i].needs_restart and brokers[i].active]
        if not to_restart:
            return {"status": "restarted", "restarted": [], "brokers": self._json(ids)}
        deadline = asyncio.get_running_loop().time() + timeout
        rolled = await self.rolling.run(to_restart, batch=1, deadline=deadline, wait_replication=True,
                                        describe=self._json)
        return {**rolled, "brokers": self._json(ids)}

    async def remove(self, params: Params) -> Json:
        expr = params.require("broker")
        chosen: list[int] = []

        def decide(brokers: Mapping[int, Broker]) -> Changes:
            ids = self._select_existing(expr, brokers)
            for i in ids:
                broker = brokers[i]
                if broker.active:
                    raise ApiError(f"broker {i} is active: stop it first", "broker")
                if broker.task is not None:
                    phase = broker.task.phase()
                    raise ApiError(f"broker {i} is still stopping (task {phase}): wait until it has stopped",
                                   "broker")
            chosen[:] = ids
            return dict.fromkeys(ids)

        await self.cluster.transact(decide)
        return {"ids": [str(i) for i in chosen]}

    async def clone(self, params: Params) -> Json:
        ids = parse_broker_ids(params.require("broker"), "broker")
        source_text = params.require("source").strip()
        if not source_text.isdigit():
            raise ApiError(f"source must be one broker id, not {source_text!r}", "source")
        source_id = int(source_text)

        def decide(brokers: Mapping[int, Broker]) -> Changes:
            source = brokers.get(source_id)
            if source is None:
                raise ApiError(f"source broker {source_id} not found", "source")
            return {b.id: b for b in cloned_brokers(source, ids, brokers.keys())}

        await self.cluster.transact(decide)
        return {"brokers": self._json(ids)}

    # -- start / stop / restart --------------------------------------------------------------------
    async def start(self, params: Params) -> Json:
        timeout = _timeout(params, "60s")
        ids = await self._change(params.require("broker"), _activated)
        self.control.wake()
        return await self._await_state(ids, timeout, _running, "started", "start")

    async def stop(self, params: Params) -> Json:
        timeout = _timeout(params, "60s")
        force = params.flag("force")
        ids = await self._change(params.require("broker"), _deactivated)
        if force:
            self.control.force_stop(ids)
        self.control.wake()
        return await self._await_state(ids, timeout, _stopped, "stopped", "stop")

    async def _await_state(
        self, ids: Sequence[int], wait: float, done: Callable[[Broker | None], bool], reached: str, verb: str
    ) -> Json:
        if wait <= 0:
            return {"status": "scheduled", "brokers": self._json(ids)}
        deadline = asyncio.get_running_loop().time() + wait
        ok = await wait_until(self.cluster, lambda bs: all(done(bs.get(i)) for i in ids), deadline)
        answer: Json = {"status": reached if ok else "timeout", "brokers": self._json(ids)}
        if not ok:
            answer["message"] = f"{_plural(ids)} {verb} timeout"
        return answer

    async def restart(self, params: Params) -> Json:
        """Rolling restart: `batch` brokers at a time, stop then start, each waited for (see rolling.py)."""
        timeout = _timeout(params, "5m")
        wait_replication = not params.flag("noWaitForReplication")
        batch = params.integer("batch", 1, minimum=1)
        expr = params.require("broker")

        def check(broker: Broker) -> None:
            if not broker.active:
                raise ApiError(f"broker {broker.id} is not active: start it instead", "broker")

        ids = await self._change(expr, lambda b: b, check)
        deadline = asyncio.get_running_loop().time() + timeout
        return await self.rolling.run(ids, batch=batch, deadline=deadline, wait_replication=wait_replication,
                                      describe=self._json)

    # -- log ---------------------------------------------------------------------------------------
    async def log(self, params: Params) -> Json:
        text = params.require("broker").strip()
        if not text.isdigit():
            raise ApiError(f"broker must be one broker id, not {text!r}", "broker")
        broker_id = int(text)
        name = (params.get("name") or "stdout").strip()
        if (name not in LOG_NAMES and not name.endswith(".log")) or "/" in name:
            raise ApiError(f"name must be stdout, stderr or a file name ending in .log, not {name!r}", "name")
        lines = params.integer("lines", 100, minimum=1)
        if lines > MAX_LOG_LINES:
            raise ApiError(f"lines must be at most {MAX_LOG_LINES}", "lines")
        timeout = _timeout(params, "30s")
        broker = self.cluster.snapshot().get(broker_id)
        if broker is None:
            raise ApiError(f"broker {broker_id} not found", "broker")
        if not broker.active:
            raise ApiError(f"broker {broker_id} is not active", "broker")
        if broker.task is None or not broker.task.running:
            raise ApiError(f"broker {broker_id} is not running", "broker")
        try:
            fetch = self.control.broker_log(broker_id, name, lines, timeout)
            content = await asyncio.wait_for(fetch, timeout)
        except TimeoutError:
            return {"status": "timeout", "content": f"broker {broker_id} log retrieve timeout"}
        except (RuntimeError, LookupError) as e:  # BrokerLogError, or the scheduler's own errors
            return {"status": "failure", "content": str(e)}
        return {"status": "ok", "content": content}

    # -- G1 (older) answers ------------------------------------------------------------------------
    async def g1_status(self, params: Params) -> EncodedJson:
        return self._encoded({"frameworkId": self.cluster.framework_id, "brokers": None}, "*")

    async def g1_remove(self, params: Params) -> Json:
        answer = await self.remove(params)
        return {"ids": ",".join(answer["ids"])}

    async def g1_start(self, params: Params) -> Json:
        return _with_g1_ids(await self.start(params))

    async def g1_stop(self, params: Params) -> Json:
        return _with_g1_ids(await self.stop(params))


def _with_g1_ids(answer: Json) -> Json:
    return {**answer, "ids": ",".join(str(b["id"]) for b in answer["brokers"])}


def _activated(broker: Broker) -> Broker:
    return replace(broker.copy(), active=True, failover=broker.failover.reset())


def _deactivated(broker: Broker) -> Broker:
    return replace(broker.copy(), active=False, failover=broker.failover.reset())


def _running(broker: Broker | None) -> bool:
    return broker is not None and broker.task is not None and broker.task.running and not broker.task.stopping


def _stopped(broker: Broker | None) -> bool:
    return broker is None or broker.task is None


def _reconciling(control: SchedulerControl) -> int:
    """Tasks whose state the scheduler is still reconciling with Mesos (0 when it cannot say)."""
    try:
        return int(control.status().get("reconciling") or 0)
    except Exception:  # a status that fails must not break the broker list
        return 0
