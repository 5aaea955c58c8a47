"""The CLI's pure parts: Java properties, broker blocks, the form encoding of the client."""

from __future__ import annotations

import string
from dataclasses import replace
from urllib.parse import parse_qsl

from hypothesis import given, settings
from hypothesis import strategies as st

from kafka_mesos.apiclient import encode_form
from kafka_mesos.apiclient.client import normalise_api_url
from kafka_mesos.cli.output import broker_block, brokers_section, not_running_reasons
from kafka_mesos.cli.properties import parse_properties
from kafka_mesos.core.model import Broker, broker_to_api_json
from kafka_mesos.core.ranges import Range
from tests.api.support import running_task


def test_java_properties_syntax() -> None:
    text = (
        "# comment\n! also a comment\n\n"
        "a=1\n  b = two words \nc:3\nd 4\n"
        "e=x\\\n    y\n"  # continuation
        "f=tab\\tand\\u0041\n"
        "g\\=h=i\n"
        "empty=\n"
    )
    assert parse_properties(text) == {"a": "1", "b": "two words ", "c": "3", "d": "4", "e": "xy",
                                      "f": "tab\tandA", "g=h": "i", "empty": ""}


def test_form_encoding_as_mesos_kafka_sends_it() -> None:
    body = encode_form({"broker": "0..2", "force": True, "skip": None, "off": False, "options": "a=1,b=2"})
    assert body == b"broker=0..2&force&options=a%3D1%2Cb%3D2"
    assert normalise_api_url(" master:7000/ ") == "http://master:7000"
    assert normalise_api_url("https://m:7000") == "https://m:7000"


def test_broker_block_of_a_running_broker() -> None:
    broker = Broker(id=3, cpus=0.5, mem=512, heap=256, port=Range(31090, 31100),
                    constraints={"rack": "unique"}, options={"log.dirs": "/a,/b"}, active=True,
                    task=running_task(3), needs_restart=True)
    broker = broker.with_event(1_700_000_000.0, "running", "on agent1")
    lines = broker_block(broker_to_api_json(broker, now=1_700_000_001.0), events=True)
    assert lines[:3] == ["id: 3", "active: true", "state: running (modified, needs restart)"]
    assert "resources: cpus:0.50, mem:512, heap:256, port:31090..31100" in lines
    assert "constraints: rack=unique" in lines
    assert "options: log.dirs=/a\\,/b" in lines
    assert lines[lines.index("task:") + 1:lines.index("task:") + 5] == [
        "  id: kafka-3-t", "  state: running", "  endpoint: agent1:31003", "  attributes: rack=r1"]
    assert lines[-2:] == ["events:", "  2023-11-14 22:13:20.000 running on agent1"]
    quiet = broker_block(broker_to_api_json(broker), quiet=True)
    assert not any(line.startswith("options:") for line in quiet)


def test_section_headers_and_timeout_reasons() -> None:
    one = broker_to_api_json(Broker(id=0))
    two = [one, broker_to_api_json(Broker(id=1))]
    assert brokers_section("added", [one]).startswith("broker added:\n  id: 0\n")
    assert brokers_section("added", two).count("\n\n  id: 1\n") == 1
    assert brokers_section("", two).startswith("brokers:\n")
    waiting = broker_to_api_json(replace(Broker(id=4, active=True), placement_reason="agent a: cpus 0.1 < 1"))
    running = broker_to_api_json(Broker(id=5, active=True, task=running_task(5)))
    assert not_running_reasons([waiting, running], "running") == [
        f"broker 4: {waiting['state']} (agent a: cpus 0.1 < 1)"]
    assert not_running_reasons([waiting, running], "stopped") == ["broker 5: running"]


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(alphabet=string.ascii_letters, min_size=1, max_size=12),
                       st.one_of(st.text(max_size=40), st.just(True)), max_size=6))
def test_form_encoding_round_trips_through_the_servers_parser(params: dict[str, str | bool]) -> None:
    """What the CLI sends is exactly what the API reads (aiohttp parses forms with parse_qsl)."""
    body = encode_form(params).decode()
    parsed = parse_qsl(body.rstrip(), keep_blank_values=True, encoding="utf-8")
    assert dict(parsed) == {k: "" if v is True else v for k, v in params.items()}
