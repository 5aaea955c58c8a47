"""Hand-built protobuf bytes and Mesos' JSON mapping."""

from __future__ import annotations

import json
import math
import struct

import pytest
from google.protobuf.message import EncodeError

from kafka_mesos.mesos import codec
from kafka_mesos.mesos.pb import executor_pb2, mesos_pb2, scheduler_pb2


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def tag(number: int, wire_type: int) -> bytes:
    return varint(number << 3 | wire_type)


def vfield(number: int, value: int) -> bytes:
    return tag(number, 0) + varint(value)


def lfield(number: int, payload: bytes) -> bytes:
    return tag(number, 2) + varint(len(payload)) + payload


def dfield(number: int, value: float) -> bytes:
    return tag(number, 1) + struct.pack("<d", value)


def sid(number: int, value: str) -> bytes:
    """An ID message {value #1} in field ``number``."""
    return lfield(number, lfield(1, value.encode()))


# ---------------------------------------------------------------- hand-built bytes


def test_scheduler_call_payload_numbers_differ_from_type_numbers() -> None:
    cases = [
        ("REVIVE", 5, "revive", 15),
        ("SUPPRESS", 12, "suppress", 16),
        ("ACKNOWLEDGE_OPERATION_STATUS", 15, "acknowledge_operation_status", 17),
        ("RECONCILE_OPERATIONS", 16, "reconcile_operations", 18),
        ("UPDATE_FRAMEWORK", 17, "update_framework", 19),
        ("ACCEPT", 3, "accept", 4),
        ("DECLINE", 4, "decline", 5),
        ("SUBSCRIBE", 1, "subscribe", 3),
    ]
    for type_name, type_number, payload, payload_number in cases:
        raw = sid(1, "fw") + vfield(2, type_number) + lfield(payload_number, b"")
        call = scheduler_pb2.Call.FromString(raw)
        assert scheduler_pb2.Call.Type.Name(call.type) == type_name
        assert call.HasField(payload), payload  # type: ignore[arg-type]
        assert call.framework_id.value == "fw"


def test_subscribe_call_bytes() -> None:
    info = (
        lfield(1, b"root")
        + lfield(2, b"kafka")
        + sid(3, "F")
        + dfield(4, 604800.0)
        + vfield(5, 1)
        + lfield(10, vfield(1, 6))
        + lfield(12, b"kafka")
    )
    raw = sid(1, "F") + vfield(2, 1) + lfield(3, lfield(1, info) + lfield(2, b"kafka"))
    call = scheduler_pb2.Call.FromString(raw)
    fi = call.subscribe.framework_info
    assert (fi.user, fi.name, fi.id.value, fi.failover_timeout, fi.checkpoint) == (
        "root",
        "kafka",
        "F",
        604800.0,
        True,
    )
    assert [c.type for c in fi.capabilities] == [mesos_pb2.FrameworkInfo.Capability.MULTI_ROLE]
    assert list(fi.roles) == ["kafka"] and list(call.subscribe.suppressed_roles) == ["kafka"]
    assert call.SerializeToString() == raw


def test_attribute_text_is_5_and_set_is_6() -> None:
    raw = lfield(1, b"rack") + vfield(2, 3) + lfield(5, lfield(1, b"r1")) + lfield(6, lfield(1, b"a"))
    attr = mesos_pb2.Attribute.FromString(raw)
    assert attr.type == mesos_pb2.Value.TEXT and attr.text.value == "r1" and list(attr.set.item) == ["a"]


def test_offer_with_ranges_and_scalars() -> None:
    ports = lfield(1, b"ports") + vfield(2, 1) + lfield(4, lfield(1, vfield(1, 31000) + vfield(2, 32000)))
    cpus = lfield(1, b"cpus") + vfield(2, 0) + lfield(3, dfield(1, 2.0)) + lfield(6, b"*")
    url = lfield(1, b"http") + lfield(2, lfield(1, b"h") + lfield(2, b"127.0.0.1") + vfield(3, 5051))
    offer = (
        sid(1, "O1")
        + sid(2, "F")
        + sid(3, "S0")
        + lfield(4, b"h")
        + lfield(5, ports)
        + lfield(5, cpus)
        + sid(6, "E")
        + lfield(8, url + lfield(3, b"/slave(1)"))
    )
    event = scheduler_pb2.Event.FromString(vfield(1, 2) + lfield(3, lfield(1, offer)))
    assert event.type == scheduler_pb2.Event.OFFERS
    o = event.offers.offers[0]
    assert (o.id.value, o.framework_id.value, o.agent_id.value, o.hostname) == ("O1", "F", "S0", "h")
    assert o.resources[0].ranges.range[0].begin == 31000 and o.resources[0].ranges.range[0].end == 32000
    assert o.resources[1].scalar.value == 2.0 and o.resources[1].role == "*"
    assert o.executor_ids[0].value == "E" and o.url.address.port == 5051 and o.url.path == "/slave(1)"


def test_task_status_fields() -> None:
    uuid = bytes(range(16))
    status = (
        sid(1, "t")
        + vfield(2, 1)
        + lfield(3, b"\x00\xff")
        + lfield(4, b"msg")
        + sid(5, "S0")
        + dfield(6, 1.5)
        + sid(7, "e")
        + vfield(8, 1)
        + vfield(9, 2)
        + vfield(10, 9)
        + lfield(11, uuid)
        + lfield(13, vfield(3, 42) + sid(4, "c"))
    )
    event = scheduler_pb2.Event.FromString(vfield(1, 4) + lfield(5, lfield(1, status)))
    s = event.update.status
    assert s.state == mesos_pb2.TASK_RUNNING and s.data == b"\x00\xff" and s.message == "msg"
    assert s.agent_id.value == "S0" and s.timestamp == 1.5 and s.executor_id.value == "e" and s.healthy
    assert s.source == mesos_pb2.TaskStatus.SOURCE_EXECUTOR
    assert s.reason == mesos_pb2.TaskStatus.REASON_RECONCILIATION and s.uuid == uuid
    assert s.container_status.executor_pid == 42 and s.container_status.container_id.value == "c"


def test_executor_call_message_data_is_field_2() -> None:
    raw = sid(1, "e") + sid(2, "f") + vfield(3, 3) + lfield(6, lfield(2, b"hi"))
    call = executor_pb2.Call.FromString(raw)
    assert call.type == executor_pb2.Call.MESSAGE and call.message.data == b"hi"


def test_executor_event_numbers() -> None:
    raw = vfield(1, 4) + lfield(3, sid(1, "t") + lfield(2, b"u" * 16))
    event = executor_pb2.Event.FromString(raw)
    assert event.type == executor_pb2.Event.ACKNOWLEDGED and event.acknowledged.task_id.value == "t"
    launch = executor_pb2.Event.FromString(vfield(1, 2) + lfield(4, lfield(1, lfield(1, b"n"))))
    assert launch.launch.task.name == "n"
    group = executor_pb2.Event.FromString(vfield(1, 8) + lfield(8, lfield(1, b"")))
    assert group.type == executor_pb2.Event.LAUNCH_GROUP and group.HasField("launch_group")


def test_unknown_fields_are_skipped() -> None:
    raw = sid(1, "t") + vfield(2, 2) + vfield(99, 7) + lfield(100, b"zzz")
    status = mesos_pb2.TaskStatus.FromString(raw)
    assert status.task_id.value == "t" and status.state == mesos_pb2.TASK_FINISHED


def test_proto2_defaults_and_presence() -> None:
    assert mesos_pb2.CommandInfo().shell is True
    assert mesos_pb2.CommandInfo.URI().extract is True
    assert mesos_pb2.Filters().refuse_seconds == 5.0
    assert mesos_pb2.FrameworkInfo().failover_timeout == 0.0
    assert mesos_pb2.TaskStatus().state == mesos_pb2.TASK_STAGING
    assert not mesos_pb2.TaskStatus().HasField("reason")


def test_protobuf_encode_refuses_missing_required_fields() -> None:
    with pytest.raises(EncodeError):
        codec.encode(mesos_pb2.TaskID(), codec.PROTOBUF)


# ---------------------------------------------------------------- JSON mapping


def sample_call() -> scheduler_pb2.Call:
    call = scheduler_pb2.Call(type=scheduler_pb2.Call.ACKNOWLEDGE)
    call.framework_id.value = "F"
    call.acknowledge.agent_id.value = "S0"
    call.acknowledge.task_id.value = "t"
    call.acknowledge.uuid = b"\x00\x01\xfe\xff" * 4
    return call


def test_json_uses_proto_names_enum_names_and_base64() -> None:
    body = json.loads(codec.encode(sample_call(), codec.JSON))
    assert body == {
        "framework_id": {"value": "F"},
        "type": "ACKNOWLEDGE",
        "acknowledge": {
            "agent_id": {"value": "S0"},
            "task_id": {"value": "t"},
            "uuid": "AAH+/wAB/v8AAf7/AAH+/w==",
        },
    }


def test_json_round_trip() -> None:
    call = sample_call()
    assert codec.decode(codec.encode(call, codec.JSON), codec.JSON, scheduler_pb2.Call) == call


def test_json_64bit_integers_are_numbers_and_strings_accepted() -> None:
    r = mesos_pb2.Value.Range(begin=31000, end=2**63)
    assert codec.message_to_dict(r) == {"begin": 31000, "end": 2**63}
    assert codec.dict_to_message({"begin": "5", "end": 6}, mesos_pb2.Value.Range) == mesos_pb2.Value.Range(
        begin=5, end=6
    )


def test_json_emit_defaults_like_mesos() -> None:
    info = mesos_pb2.FrameworkInfo(user="u", name="n")
    assert codec.message_to_dict(info) == {"user": "u", "name": "n"}
    # deprecated `role` (default "*") is not emitted; failover_timeout/checkpoint are.
    assert codec.message_to_dict(info, emit_defaults=True) == {
        "user": "u",
        "name": "n",
        "failover_timeout": 0.0,
        "checkpoint": False,
    }
    cmd = mesos_pb2.CommandInfo(value="x")
    cmd.uris.add(value="http://h/x.tgz")
    assert codec.message_to_dict(cmd, emit_defaults=True) == {
        "uris": [{"value": "http://h/x.tgz", "extract": True}],
        "value": "x",
        "shell": True,
    }
    assert codec.message_to_dict(mesos_pb2.Filters(), emit_defaults=True) == {"refuse_seconds": 5.0}


def test_json_unknown_keys_camelcase_and_null_ignored() -> None:
    msg = codec.dict_to_message(
        {"frameworkId": {"value": "x"}, "type": "REVIVE", "bogus": 1, "revive": None}, scheduler_pb2.Call
    )
    assert not msg.HasField("framework_id") and not msg.HasField("revive")
    assert msg.type == scheduler_pb2.Call.REVIVE


def test_json_unknown_enum_dropped_when_optional_error_when_required() -> None:
    call = codec.dict_to_message({"type": "NO_SUCH_TYPE"}, scheduler_pb2.Call)
    assert not call.HasField("type")
    with pytest.raises(codec.CodecError):
        codec.dict_to_message({"task_id": {"value": "t"}, "state": "TASK_NOPE"}, mesos_pb2.TaskStatus)


def test_json_infinity_and_maps() -> None:
    f = codec.dict_to_message({"refuse_seconds": "Infinity"}, mesos_pb2.Filters)
    assert math.isinf(f.refuse_seconds)
    assert codec.encode(f, codec.JSON) == b'{"refuse_seconds":Infinity}'
    task = codec.dict_to_message(
        {
            "name": "n",
            "task_id": {"value": "t"},
            "agent_id": {"value": "a"},
            "limits": {"cpus": {"value": 2}},
        },
        mesos_pb2.TaskInfo,
    )
    assert task.limits["cpus"].value == 2.0
    assert codec.message_to_dict(task)["limits"] == {"cpus": {"value": 2.0}}


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"type": 5}',
        b'{"framework_id": "F"}',
        b'{"acknowledge": {"uuid": "***"}}',
        b'{"revive": {"roles": "x"}}',
        b'{"kill": {"task_id": {"value": 1}}}',
        b"\xff\xfe",
    ],
)
def test_json_malformed_bodies_raise_codec_error(body: bytes) -> None:
    with pytest.raises(codec.CodecError):
        codec.decode(body, codec.JSON, scheduler_pb2.Call)


def test_protobuf_malformed_body_raises_codec_error() -> None:
    with pytest.raises(codec.CodecError):
        codec.decode(b"\x0a\xff\xff", codec.PROTOBUF, scheduler_pb2.Call)


def test_require_initialized() -> None:
    raw = vfield(2, 8) + lfield(8, sid(1, "S0"))  # ACKNOWLEDGE without task_id and uuid
    assert codec.decode(raw, codec.PROTOBUF, scheduler_pb2.Call).acknowledge.agent_id.value == "S0"
    with pytest.raises(codec.CodecError, match="task_id"):
        codec.decode(raw, codec.PROTOBUF, scheduler_pb2.Call, require_initialized=True)


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "text/plain", ""])
def test_content_type_compared_byte_for_byte(content_type: str) -> None:
    with pytest.raises(codec.UnsupportedContentType):
        codec.encode(sample_call(), content_type)
    with pytest.raises(codec.UnsupportedContentType):
        codec.decode(b"{}", content_type, scheduler_pb2.Call)
