"""Refused requests: 4xx with a JSON body naming the field, and the state unchanged."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api
from tests.api.support import dump, observe, running_task

BAD_REQUESTS: list[tuple[str, str, dict[str, Any], str, str]] = [
    # (case, path, params, field, words in the message)
    ("overlapping ids on add", "/api/broker/add", {"broker": "2..4"}, "broker", "already exist"),
    ("unknown broker", "/api/broker/update", {"broker": "9", "cpus": "2"}, "broker", "broker 9 not found"),
    ("unknown brokers", "/api/broker/start", {"broker": "0,8..9"}, "broker", "brokers 8..9 not found"),
    ("reversed range", "/api/broker/add", {"broker": "5..1"}, "broker", "5..1"),
    ("negative cpus", "/api/broker/add", {"broker": "10", "cpus": "-1"}, "cpus", "cpus"),
    ("heap >= mem", "/api/broker/add", {"broker": "10", "heap": "512", "mem": "512"}, "heap",
     "less than mem"),
    ("heap >= mem on update", "/api/broker/update", {"broker": "0", "mem": "1024"}, "mem", "less than mem"),
    ("bad constraint", "/api/broker/add", {"broker": "10", "constraints": "rack=near:1"}, "constraints",
     "near:1"),
    ("bad map syntax", "/api/broker/add", {"broker": "10", "options": "a=1,,b=2"}, "options", "empty entry"),
    ("open escaping", "/api/broker/update", {"broker": "0", "log4jOptions": "a=b\\"}, "log4jOptions",
     "escap"),
    ("unknown parameter", "/api/broker/add", {"broker": "10", "cpu": "1"}, "cpu", "unknown parameter"),
    ("unsupported mesos/kafka parameter", "/api/broker/add", {"broker": "10", "javaCmd": "java"}, "javaCmd",
     "unknown parameter"),
    ("bad duration", "/api/broker/add", {"broker": "10", "failoverDelay": "10 parsecs"}, "failoverDelay",
     "10 parsecs"),
    ("bad start timeout", "/api/broker/start", {"broker": "0", "timeout": "soon"}, "timeout", "soon"),
    ("non-numeric port", "/api/broker/add", {"broker": "10", "port": "http"}, "port", "http"),
    ("port out of range", "/api/broker/add", {"broker": "10", "port": "70000"}, "port", "65535"),
    ("non-numeric mem", "/api/broker/add", {"broker": "10", "mem": "lots"}, "mem", "lots"),
    ("missing broker", "/api/broker/add", {"cpus": "1"}, "broker", "broker required"),
    ("bad broker expr", "/api/broker/list", {"broker": "a..b"}, "broker", "a..b"),
    ("star on add", "/api/broker/add", {"broker": "*"}, "broker", "existing"),
    ("remove active", "/api/broker/remove", {"broker": "0..1"}, "broker", "broker 0 is active"),
    ("bad flag value", "/api/broker/stop", {"broker": "0", "force": "maybe"}, "force", "maybe"),
    ("log lines not a number", "/api/broker/log", {"broker": "0", "lines": "x"}, "lines",
     "not an integer"),
    ("log lines zero", "/api/broker/log", {"broker": "0", "lines": "0"}, "lines", ">= 1"),
    ("log of several brokers", "/api/broker/log", {"broker": "0..1"}, "broker", "one broker id"),
    ("clone source not an id", "/api/broker/clone", {"broker": "7", "source": "0..1"}, "source",
     "one broker"),
    ("reserved option", "/api/broker/update", {"broker": "0", "options": "broker.id=7"}, "options",
     "broker.id"),
    ("G1 unknown parameter", "/api/brokers/add", {"id": "10", "name": "x"}, "name", "unknown parameter"),
    ("id and broker both", "/api/brokers/add", {"id": "10", "broker": "11"}, "broker", "unknown parameter"),
]


@pytest.fixture
async def populated(api: Api) -> Api:
    status, _ = await api.post("/api/broker/add", broker="0..3", mem="2048", heap="1024")
    assert status == 200
    await observe(api.cluster, {0: running_task(0)}, active=True)
    return api


@pytest.mark.parametrize(("path", "params", "field", "words"),
                         [case[1:] for case in BAD_REQUESTS], ids=[case[0] for case in BAD_REQUESTS])
async def test_bad_request_is_refused_naming_the_field_and_changes_nothing(
    populated: Api, path: str, params: dict[str, Any], field: str, words: str
) -> None:
    before = dump(populated.cluster)
    stored = populated.state_file.read_bytes()
    writes = populated.cluster.generation
    status, answer = await populated.post(path, **params)
    assert status == 400, answer
    assert answer["code"] == 400
    assert answer["field"] == field, answer
    assert words in answer["error"], answer
    assert dump(populated.cluster) == before
    assert populated.cluster.generation == writes
    assert populated.state_file.read_bytes() == stored
    assert populated.control.wakes == 0


async def test_a_json_body_that_is_not_an_object_is_refused(api: Api) -> None:
    status, answer = await api.post_json("/api/broker/add", ["broker", "0"])
    assert status == 400 and "object" in answer["error"]
    response = await api.client.post("/api/broker/add", data=b"{not json", headers={"Content-Type":
                                                                                    "application/json"})
    assert response.status == 400 and "invalid JSON" in (await response.json())["error"]
    assert api.brokers == {}


async def test_the_same_parameter_twice_with_different_values_is_refused(api: Api) -> None:
    response = await api.client.post("/api/broker/add?broker=1", data={"broker": "2"})
    answer = await response.json()
    assert response.status == 400 and answer["field"] == "broker"
    assert api.brokers == {}
