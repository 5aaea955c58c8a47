"""`broker list` from the rendered-JSON cache: byte for byte a fresh render after every kind of change.

A "fresh render" is what the API sent before the cache: `json.dumps` of `broker_to_api_json(b, now)` for
the selected brokers. Each test changes the state the way the scheduler or the API does and compares.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given
from hypothesis import strategies as st

from kafka_mesos.api.app import build_app
from kafka_mesos.api.broker_json import BrokerListCache, BrokerTexts, encode_answer
from kafka_mesos.api.brokers import BrokerService
from kafka_mesos.api.control import IdleControl
from kafka_mesos.api.params import Params
from kafka_mesos.api.routes import EncodedJson
from kafka_mesos.core.errors import ParseError
from kafka_mesos.core.expr import parse_broker_expr
from kafka_mesos.core.lifecycle import on_status
from kafka_mesos.core.model import (
    TASK_FAILED,
    TASK_RUNNING,
    TASK_STARTING,
    Broker,
    Failover,
    Task,
    broker_to_api_json,
    display_state_switch_time,
)
from kafka_mesos.state import ClusterState, FileStore, Snapshot, Versioned
from tests.api.support import open_cluster, running_task

T0 = 1_800_000_000.0


class Reconciling(IdleControl):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def status(self) -> Mapping[str, Any]:
        return {"connected": True, "reconciling": self.count}


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[ClusterState]:
    state = await open_cluster(tmp_path / "state.json")
    try:
        yield state
    finally:
        await state.close()


@pytest.fixture
def control() -> Reconciling:
    return Reconciling()


@pytest.fixture
def service(cluster: ClusterState, control: Reconciling) -> BrokerService:
    answer = BrokerService(cluster, control)
    answer.clock = lambda: T0
    return answer


def fresh(cluster: ClusterState, now: float, expr: str = "*", reconciling: int = 0) -> bytes:
    brokers = cluster.snapshot()
    ids = parse_broker_expr(expr).select(brokers.values())
    answer: dict[str, Any] = {"brokers": [broker_to_api_json(brokers[i], now) for i in ids if i in brokers]}
    if reconciling:
        answer["reconciling"] = reconciling
    return json.dumps(answer).encode()


async def listed(service: BrokerService, now: float = T0, **params: str) -> bytes:
    service.clock = lambda: now
    answer = await service.list(Params(params))
    assert isinstance(answer, EncodedJson)
    return answer.body


async def assert_fresh(service: BrokerService, cluster: ClusterState, now: float = T0) -> None:
    """The listed answer equals a fresh render, twice (the second one served from the cache)."""
    first = await listed(service, now)
    renders, made = service.rendered.brokers.renders, service.rendered.made
    second = await listed(service, now)
    assert first == second == fresh(cluster, now)
    assert service.rendered.brokers.renders == renders, "an unchanged state renders nothing again"
    assert service.rendered.made == made, "an unchanged state is served the list made before"


def settings(**values: Any) -> Params:
    return Params({k: str(v) for k, v in values.items()})


def status_update(state: str, message: str | None = None) -> Callable[[Broker], Broker]:
    return lambda broker: on_status(broker, "kafka-2-t", state, None, message, None, T0)[0]


async def test_every_kind_of_change_is_listed_as_a_fresh_render(
    service: BrokerService, cluster: ClusterState
) -> None:
    await service.add(settings(broker="0..4", cpus=0.5, options="num.io.threads=1"))
    await assert_fresh(service, cluster)
    assert service.rendered.brokers.renders == 5

    await service.update(settings(broker="1", mem=4096, constraints="hostname=unique"))
    renders = service.rendered.brokers.renders
    await assert_fresh(service, cluster)
    assert service.rendered.brokers.renders == renders + 1, "one changed broker, one render"
    assert b'"mem": 4096' in await listed(service)

    await service.start(settings(broker="2,3", timeout=0))
    await assert_fresh(service, cluster)
    assert (await listed(service)).count(b'"active": true') == 2

    # Status updates as the scheduler records them: launched, starting, running, failed.
    await cluster.mutate([2], lambda b: replace(b, task=replace(running_task(2), state="TASK_STAGING")))
    await assert_fresh(service, cluster)
    for state in (TASK_STARTING, TASK_RUNNING):
        await cluster.mutate([2], status_update(state))
        await assert_fresh(service, cluster)
    assert b'"mesosState": "TASK_RUNNING"' in await listed(service)
    await cluster.mutate([2], status_update(TASK_FAILED, "boom"))
    await assert_fresh(service, cluster)
    assert b"boom" in await listed(service)

    await service.stop(settings(broker="2,3", timeout=0))
    await assert_fresh(service, cluster)
    assert b'"active": true' not in await listed(service)

    await service.remove(settings(broker="4"))
    await assert_fresh(service, cluster)
    assert b'"id": "4"' not in await listed(service)
    assert len(service.rendered.brokers) == 4, "the removed broker's text is dropped"

    await service.clone(settings(broker="4", source="1"))
    await assert_fresh(service, cluster)


async def test_a_mutate_callback_assigning_fields_in_place_is_listed(
    service: BrokerService, cluster: ClusterState
) -> None:
    """As scheduler._forget_tasks does: `broker.task = None` on the broker its mutate callback gets."""
    await cluster.add([Broker(id=0, active=True, task=running_task(0)), Broker(id=1)])
    await assert_fresh(service, cluster)

    def forget(broker: Broker) -> Broker:
        broker.task = None
        broker.placement_reason = "launch failed: gone"
        return broker

    await cluster.mutate([0], forget)
    await assert_fresh(service, cluster)
    assert b"launch failed: gone" in await listed(service)


async def test_a_held_broker_changed_in_place_is_not_served_stale(
    service: BrokerService, cluster: ClusterState
) -> None:
    """Outside the state's contract (held brokers are read-only), a reassigned field is still seen."""
    await cluster.add([Broker(id=0, active=True, task=running_task(0))])
    await assert_fresh(service, cluster)
    held = cluster.snapshot()[0]
    held.task = None
    held.cpus = 2.5
    assert await listed(service) == fresh(cluster, T0)
    assert b'"cpus": 2.5,' in await listed(service)


class ForeignWrites(FileStore):
    """A store in which "someone else" wrote records: `load` returns them, with newer versions."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, fsync=False)
        self.foreign: dict[int, Broker] = {}

    async def load(self) -> Snapshot:
        snapshot = await super().load()
        brokers = dict(snapshot.brokers)
        for broker_id, broker in self.foreign.items():
            brokers[broker_id] = Versioned(broker.to_dict(), brokers[broker_id].version + 100)
        return Snapshot(snapshot.framework_id, brokers)


async def test_a_foreign_change_reloaded_from_the_store_is_listed(tmp_path: Path) -> None:
    store = ForeignWrites(tmp_path / "state.json")
    cluster = await ClusterState.open(store)
    try:
        service = BrokerService(cluster, Reconciling())
        await cluster.add([Broker(id=0), Broker(id=1)])
        await assert_fresh(service, cluster)
        store.foreign[1] = Broker(id=1, mem=7777)
        await cluster.refresh()
        await assert_fresh(service, cluster)
        assert b'"mem": 7777' in await listed(service)
    finally:
        await cluster.close()


async def test_the_failed_state_follows_the_clock(service: BrokerService, cluster: ClusterState) -> None:
    """`failed 1 <date>, next start <date>` until the next attempt, then `starting 1, failed <date>`."""
    failover = Failover(delay=60.0, failures=1, failure_time=T0, reason="boom")
    await cluster.add([Broker(id=0, active=True, failover=failover), Broker(id=1)])
    next_attempt = T0 + 60.0
    moments = (T0 + 1, next_attempt - 0.001, next_attempt, next_attempt + 500, T0 + 1, next_attempt)
    seen = set()
    for now in moments:  # the clock also goes back (a wall-clock step): still a fresh render
        body = await listed(service, now)
        assert body == fresh(cluster, now)
        seen.add(json.loads(body)["brokers"][0]["state"].split(" ")[0])
    assert seen == {"failed", "starting"}


async def test_filters_select_from_the_cache(service: BrokerService, cluster: ClusterState) -> None:
    tasks = {0: running_task(0), 1: replace(running_task(1), attributes={"rack": "r2"})}
    await cluster.add([Broker(id=i, active=i in tasks, task=tasks.get(i)) for i in range(4)])
    for expr in ("*", "0..2", "1,3,9", "*[rack=r1]", "*[rack=r*]", "5"):
        service.clock = lambda: T0
        body = (await service.list(Params({"broker": expr}))).body
        assert body == fresh(cluster, T0, expr), expr
    assert json.loads(await listed(service, broker="*[rack=r2]"))["brokers"][0]["id"] == "1"


async def test_reconciling_count_and_the_older_status_route(
    service: BrokerService, cluster: ClusterState, control: Reconciling
) -> None:
    await cluster.add([Broker(id=0), Broker(id=1)])
    control.count = 3
    assert await listed(service) == fresh(cluster, T0, reconciling=3)
    await cluster.set_framework_id("fw-\u00e9-1")
    status = await service.g1_status(Params({}))
    expected = {"frameworkId": "fw-\u00e9-1", "brokers": [broker_to_api_json(b, T0) for b in
                                                          cluster.snapshot().values()]}
    assert status.body == json.dumps(expected).encode()


async def test_http_answer_is_what_json_response_sent(cluster: ClusterState) -> None:
    await cluster.add([Broker(id=i, options={"log.dirs": "/data/\u00fcber"}) for i in range(3)])
    async with TestClient(TestServer(build_app(cluster, IdleControl()), host="127.0.0.1")) as client:
        response = await client.get("/api/broker/list")
        body = await response.read()
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/json; charset=utf-8"
        assert body == fresh(cluster, 0.0)
        await cluster.mutate([1], lambda b: replace(b, heap=99))
        response = await client.get("/api/broker/list", params={"broker": "1"})
        assert json.loads(await response.read())["brokers"][0]["heap"] == 99


@pytest.mark.parametrize("answer", [
    {"brokers": None},
    {"frameworkId": None, "brokers": None},
    {"frameworkId": "f\u00e9\"x", "brokers": None, "reconciling": 2, "more": {"a": [1.5, True]}},
    {},
])
@pytest.mark.parametrize("items", [[], [{"id": "0"}], [{"id": "0"}, {"id": "1", "x": [None]}]])
def test_encode_answer_writes_what_json_dumps_writes(answer: dict[str, Any], items: list[Any]) -> None:
    expected = {k: (items if k == "brokers" else v) for k, v in answer.items()}
    encoded = encode_answer(answer, "brokers", json.dumps(items).encode())
    assert encoded == json.dumps(expected).encode()


times = st.floats(min_value=0, max_value=4e9, allow_nan=False)


@st.composite
def brokers(draw: st.DrawFn) -> Broker:
    task = draw(st.none() | st.just(running_task(0)))
    failures = draw(st.integers(0, 3))
    failover = Failover(delay=draw(st.floats(0, 1e4)), max_delay=draw(st.floats(0, 1e5)),
                        max_tries=draw(st.none() | st.integers(1, 5)), failures=failures,
                        failure_time=draw(st.none() | times))
    return Broker(id=0, active=draw(st.booleans()), task=task, failover=failover,
                  needs_restart=draw(st.booleans()))


@given(brokers(), times, times)
def test_the_render_changes_with_now_only_across_the_switch_time(broker: Broker, a: float, b: float) -> None:
    switch = display_state_switch_time(broker)
    if switch is None or (a < switch) == (b < switch):
        assert broker_to_api_json(broker, a) == broker_to_api_json(broker, b)


@given(brokers(), times, times)
def test_the_cache_serves_what_a_fresh_render_gives_at_any_time(broker: Broker, a: float, b: float) -> None:
    cache = BrokerTexts()
    for now in (a, b, a):
        cache.sync({0: broker}, now)
        assert cache.texts([0]) == [json.dumps(broker_to_api_json(broker, now)).encode()]


def test_only_the_changed_brokers_are_rendered_again() -> None:
    cache = BrokerTexts()
    brokers = {i: Broker(id=i, task=Task(f"t{i}", "a", "e", "h")) for i in range(50)}

    def expected(ids: Iterable[int]) -> list[bytes]:
        return [json.dumps(broker_to_api_json(brokers[i], T0)).encode() for i in ids]

    assert cache.sync(brokers, T0) and cache.renders == 50
    assert not cache.sync(dict(brokers), T0) and cache.renders == 50
    brokers[17] = replace(brokers[17], task=None)
    assert cache.sync(brokers, T0) and cache.renders == 51
    assert cache.texts(range(50)) == expected(range(50))
    brokers[8] = replace(brokers[8], cpus=1)  # equal to 1.0, yet rendered "1": a new object is rendered
    assert cache.sync(brokers, T0) and cache.renders == 52
    assert cache.texts([8]) == expected([8]) and b'"cpus": 1,' in cache.texts([8])[0]
    brokers[30].placement_reason = "no offer"  # in place (outside the contract): seen all the same
    brokers[49].cpus = 2.5
    assert cache.sync(brokers, T0) and cache.renders == 54
    assert cache.texts(range(50)) == expected(range(50))
    del brokers[3]
    brokers[50] = Broker(id=50)
    assert cache.sync(brokers, T0) and cache.renders == 55, "only the new broker"
    assert cache.texts([3, *brokers]) == expected(brokers) and len(cache) == 50
    del brokers[4]  # a broker removed while others changed, by replace and in place
    brokers[5] = replace(brokers[5], mem=5)
    brokers[6].heap = 6
    assert cache.sync(brokers, T0) and cache.renders == 57
    assert cache.texts(brokers) == expected(brokers)
    brokers[10].extra = "not a field"  # type: ignore[attr-defined]  # shifts every value after it
    brokers[20].mem = 20
    assert cache.sync(brokers, T0) and cache.renders == 59, "laid out again; 10 and 20 rendered"
    assert cache.texts(brokers) == expected(brokers)
    brokers[21].mem = 21
    assert cache.sync(brokers, T0) and cache.renders == 60
    assert cache.texts(brokers) == expected(brokers)


def test_a_list_is_kept_per_expression_and_only_while_its_brokers_are_the_same() -> None:
    cache = BrokerListCache()
    brokers = {i: Broker(id=i) for i in range(3)}
    selections: list[str] = []

    def select(expr: str) -> Callable[[], list[int]]:
        def chosen() -> list[int]:
            selections.append(expr)
            return parse_broker_expr(expr).select(brokers.values())
        return chosen

    def expected(ids: list[int]) -> bytes:
        return json.dumps([broker_to_api_json(brokers[i], T0) for i in ids]).encode()

    assert cache.list_text(brokers, "*", select("*"), T0) == expected([0, 1, 2])
    assert cache.list_text(brokers, "1", select("1"), T0) == expected([1])
    assert cache.list_text(brokers, "*", select("*"), T0) == expected([0, 1, 2])
    assert selections == ["*", "1"]
    brokers[1] = replace(brokers[1], mem=1)  # a new object for broker 1: every list is made again
    assert cache.list_text(brokers, "*", select("*"), T0) == expected([0, 1, 2])
    assert cache.list_text(brokers, "1", select("1"), T0) == expected([1])
    assert selections == ["*", "1", "*", "1"]
    brokers[3] = Broker(id=3)  # one more broker
    assert cache.list_text(brokers, "*", select("*"), T0) == expected([0, 1, 2, 3])
    del brokers[0]
    assert cache.list_text(brokers, "*", select("*"), T0) == expected([1, 2, 3])
    brokers[2].heap = 7  # in place, outside the state's contract: still seen
    assert cache.list_text(brokers, "*", select("*"), T0) == expected([1, 2, 3])
    with pytest.raises(ParseError):
        cache.list_text(brokers, "x", select("x"), T0)
    for n in range(BrokerListCache.MAX_EXPRESSIONS + 2):
        cache.list_text(brokers, str(n), select(str(n)), T0)
    count = len(selections)
    cache.list_text(brokers, "0", select("0"), T0)  # the oldest expression was dropped
    assert len(selections) == count + 1


def test_a_list_is_made_again_when_the_clock_crosses_a_brokers_switch_time() -> None:
    cache = BrokerListCache()
    failed = Broker(id=0, active=True, failover=Failover(delay=60.0, failures=1, failure_time=T0))
    brokers = {0: failed, 1: Broker(id=1)}
    for now in (T0, T0 + 59, T0 + 60, T0 + 1000, T0 - 5):
        text = cache.list_text(brokers, "*", lambda: [0, 1], now)
        assert text == json.dumps([broker_to_api_json(b, now) for b in brokers.values()]).encode()
    assert cache.made == 3, "made at T0, again at T0+60 (switched), again at T0-5 (clock went back)"


operations = st.lists(st.tuples(
    st.sampled_from(["replace", "in-place", "add", "remove", "fail", "clock"]),
    st.integers(0, 7),  # which broker
    st.integers(0, 500),  # a value: memory, or seconds for the clock
    st.booleans(),  # list after this step (else several changes land in one list)
), max_size=30)


@given(operations)
def test_any_sequence_of_changes_lists_a_fresh_render(steps: list[tuple[str, int, int, bool]]) -> None:
    cache = BrokerListCache()
    brokers: dict[int, Broker] = {i: Broker(id=i) for i in range(4)}
    now = T0
    for kind, broker_id, value, list_now in steps:
        broker = brokers.get(broker_id)
        if kind == "add" and broker is None:
            brokers[broker_id] = Broker(id=broker_id, mem=value + 1)
        elif kind == "remove" and broker is not None:
            del brokers[broker_id]
        elif kind == "replace" and broker is not None:
            brokers[broker_id] = replace(broker, mem=value + 1, task=None if value % 2 else running_task(0))
        elif kind == "in-place" and broker is not None:
            broker.heap = value + 1
        elif kind == "fail" and broker is not None:
            failover = Failover(delay=float(value), failures=1, failure_time=now)
            brokers[broker_id] = replace(broker, active=True, task=None, failover=failover)
        elif kind == "clock":
            now += value - 250
        if not list_now:
            continue
        ids = sorted(brokers)
        text = cache.list_text(brokers, "*", lambda ids=ids: ids, now)  # type: ignore[misc]
        assert text == json.dumps([broker_to_api_json(brokers[i], now) for i in ids]).encode()
