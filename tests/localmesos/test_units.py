"""Unit tests without sockets: resources arithmetic, filters, the JSON fast path, validation, env."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kafka_mesos.localmesos.allocator import DEFAULT_REFUSE_SECONDS, refuse_seconds
from kafka_mesos.localmesos.config import format_duration
from kafka_mesos.localmesos.launcher import ExecutorEnvironment, wait_status
from kafka_mesos.localmesos.offer_json import OfferJsonCache
from kafka_mesos.localmesos.records import OfferRecord
from kafka_mesos.localmesos.resources import ResourceParseError, Resources, parse_attributes
from kafka_mesos.localmesos.validation import is_valid_uuid, validate_id
from kafka_mesos.mesos import codec
from kafka_mesos.mesos.pb import mesos_pb2 as mpb
from kafka_mesos.mesos.pb import scheduler_pb2 as spb


def test_resources_arithmetic_keeps_three_decimals_and_ranges() -> None:
    total = Resources.parse("cpus:4;mem:8192;ports:[31000-32000];cpus(kafka):2")
    used = Resources.parse("cpus:0.1;mem:32;ports:[31000-31000,31005-31006]")
    left = total - used
    assert left.scalar("cpus") == 5.9
    assert left.flatten()["ports"] == "[31001-31004, 31007-32000]"
    assert total.contains(used) and not left.contains(used)
    assert (left + used) == total
    assert Resources.from_pb(total.to_pb()) == total
    assert Resources.parse("cpus:0.1") + Resources.parse("cpus:0.2") == Resources.parse("cpus:0.3")
    with pytest.raises(ResourceParseError):
        Resources.parse("cpus:lots")


def test_attributes_types() -> None:
    attrs = {a.name: a for a in parse_attributes("rack:r1;weight:2.5;span:[1-3];set:{a,b}")}
    assert attrs["rack"].type == mpb.Value.TEXT and attrs["weight"].type == mpb.Value.SCALAR
    assert attrs["span"].type == mpb.Value.RANGES and attrs["set"].type == mpb.Value.SET


def test_refuse_seconds_defaults_and_caps() -> None:
    assert refuse_seconds(None) == DEFAULT_REFUSE_SECONDS == 5.0
    assert refuse_seconds(mpb.Filters()) == 5.0
    assert refuse_seconds(mpb.Filters(refuse_seconds=-1)) == 5.0
    assert refuse_seconds(mpb.Filters(refuse_seconds=0)) == 0.0
    assert refuse_seconds(mpb.Filters(refuse_seconds=1e12)) == 365 * 24 * 3600.0


@pytest.mark.parametrize("multi_role", [False, True])
def test_offer_json_fast_path_equals_generic_codec(multi_role: bool) -> None:
    offers = []
    for index in range(3):
        message = mpb.Offer(hostname="127.0.0.1")
        message.id.value = f"m-O{index}"
        message.framework_id.value = "m-0000"
        message.agent_id.value = f"m-S{index % 2}"
        message.url.scheme = "http"
        message.url.address.hostname = "127.0.0.1"
        message.url.address.ip = "127.0.0.1"
        message.url.address.port = 5051
        message.url.path = "/slave(1)"
        resources = Resources.parse("cpus:2;mem:4096;ports:[31000-32000]")
        message.resources.extend(resources.to_pb(allocation_role="kafka" if multi_role else None))
        message.attributes.extend(parse_attributes(f"rack:r{index % 2}"))
        if index:
            message.executor_ids.add(value="e1")
        if multi_role:
            message.allocation_info.role = "kafka"
        offers.append(
            OfferRecord(message.id.value, "m-0000", message.agent_id.value, "kafka", resources, message)
        )
    event = spb.Event(type=spb.Event.OFFERS)
    event.offers.offers.extend(o.message for o in offers)
    generic = json.loads(codec.encode(event, codec.JSON, emit_defaults=True))
    assert json.loads(OfferJsonCache().offers_event(offers, multi_role)) == generic


def test_ids_and_uuids() -> None:
    assert validate_id("task-1") is None
    assert validate_id("") and validate_id("a/b") and validate_id("..") and validate_id("a\x01")
    import uuid

    assert is_valid_uuid(uuid.uuid4().bytes)
    assert not is_valid_uuid(b"0123456789abcdef") and not is_valid_uuid(b"short")


def test_durations_and_wait_status() -> None:
    assert format_duration(5) == "5secs" and format_duration(900) == "15mins"
    assert format_duration(0.5) == "500ms" and format_duration(90) == "1.5mins"
    assert wait_status(3) == 3 << 8 and wait_status(-9) == 9


def test_executor_environment_exact_set(tmp_path: Path) -> None:
    command = mpb.CommandInfo(value="true")
    command.environment.variables.add(name="MESOS_CHECKPOINT", value="overridden")
    command.environment.variables.add(name="EXTRA", value="1")
    env = ExecutorEnvironment("a-S0", "127.0.0.1", 5051, "a-0000", "e", tmp_path, False, 5.0).variables(
        command
    )
    assert env == {
        "LIBPROCESS_IP": "127.0.0.1",
        "LIBPROCESS_PORT": "0",
        "MESOS_AGENT_ENDPOINT": "127.0.0.1:5051",
        "MESOS_CHECKPOINT": "overridden",
        "MESOS_DIRECTORY": str(tmp_path),
        "MESOS_EXECUTOR_ID": "e",
        "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD": "5secs",
        "MESOS_FRAMEWORK_ID": "a-0000",
        "MESOS_HTTP_COMMAND_EXECUTOR": "0",
        "MESOS_SANDBOX": str(tmp_path),
        "MESOS_SLAVE_ID": "a-S0",
        "MESOS_SLAVE_PID": "slave(1)@127.0.0.1:5051",
        "EXTRA": "1",
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    }
