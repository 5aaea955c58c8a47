"""Every scheduler/executor line of the real Mesos captures decodes, and re-encodes to the same bytes."""

from __future__ import annotations

import base64

import pytest
from google.protobuf import json_format, unknown_fields
from google.protobuf.message import Message

from kafka_mesos.mesos import codec
from kafka_mesos.mesos.recordio import RecordIODecoder

from .capture_vectors import Line, lines

ALL = lines()
PROTOBUF_BODIES = [ln for ln in ALL if "body_b64" in ln.data]
# Includes the deliberate `application/json; charset=utf-8` requests: their bodies are valid.
JSON_BODIES = [ln for ln in ALL if "body_json" in ln.data and ln.data["dir"] in ("request", "event")]
STREAMS = [ln for ln in ALL if "recordio_b64" in ln.data]
# executor-protobuf seq 3: the agent's AgentInfo carries field 7 (old SlaveInfo.checkpoint).
KNOWN_UNKNOWN = {("executor-protobuf.jsonl", 3): [("subscribed.agent_info", 7)]}


def unknown_field_paths(msg: Message, path: str = "") -> list[tuple[str, int]]:
    found = [(path, f.field_number) for f in unknown_fields.UnknownFieldSet(msg)]
    for field, value in msg.ListFields():
        if field.message_type is None or field.message_type.GetOptions().map_entry:
            continue
        child = f"{path}.{field.name}" if path else field.name
        for sub in value if field.is_repeated else [value]:
            found += unknown_field_paths(sub, child)
    return found


def test_vectors_cover_every_direction() -> None:
    kinds = {(ln.file, ln.data["dir"]) for ln in PROTOBUF_BODIES + JSON_BODIES}
    assert len(PROTOBUF_BODIES) >= 50 and len(JSON_BODIES) >= 50
    assert ("executor-protobuf.jsonl", "event") in kinds and ("scheduler-json.jsonl", "request") in kinds


@pytest.mark.parametrize("line", PROTOBUF_BODIES, ids=lambda ln: ln.id)
def test_protobuf_body_decodes_and_reencodes_exactly(line: Line) -> None:
    raw = base64.b64decode(line.data["body_b64"])
    msg = codec.decode(raw, codec.PROTOBUF, line.message_class)
    assert msg.HasField("type")
    assert unknown_field_paths(msg) == KNOWN_UNKNOWN.get((line.file, line.data["seq"]), [])
    # Same field names as the recorder's own descriptors (protobuf's canonical JSON of the bytes).
    assert json_format.MessageToDict(msg, preserving_proto_field_name=True) == line.data["decoded"]
    if (line.file, line.data["seq"]) not in KNOWN_UNKNOWN:
        rebuilt = json_format.ParseDict(line.data["decoded"], line.message_class())
        assert codec.encode(rebuilt, codec.PROTOBUF) == raw
        assert msg.SerializeToString() == raw


@pytest.mark.parametrize("line", JSON_BODIES, ids=lambda ln: ln.id)
def test_json_body_parses_with_mesos_mapping(line: Line) -> None:
    body = line.data["body_json"]
    msg = codec.dict_to_message(body, line.message_class)
    assert msg.HasField("type")
    assert codec.message_to_dict(msg)["type"] == body["type"]
    if line.data["dir"] == "event":
        # Mesos' own JSON: exactly our output with declared defaults emitted.
        assert codec.message_to_dict(msg, emit_defaults=True) == body
    # Bytes survive a protobuf round trip of the parsed JSON.
    again = codec.decode(codec.encode(msg, codec.PROTOBUF), codec.PROTOBUF, line.message_class)
    assert again == msg


def _stream_records(line: Line) -> list[Line]:
    seq = line.data["request_seq"]
    events = [
        ln
        for ln in ALL
        if ln.file == line.file and ln.data["dir"] == "event" and ln.data.get("request_seq") == seq
    ]
    return events[: line.data.get("recordio_records", 3)]


def _record_matches(record: bytes, event: Line) -> bool:
    if "body_b64" in event.data:
        return record == base64.b64decode(event.data["body_b64"])
    import json

    return bool(json.loads(record) == event.data["body_json"])


@pytest.mark.parametrize("line", STREAMS, ids=lambda ln: ln.id)
def test_recordio_stream_split_at_every_byte(line: Line) -> None:
    stream = base64.b64decode(line.data["recordio_b64"])
    expected = _stream_records(line)
    assert len(expected) == 3
    whole = RecordIODecoder().feed(stream)
    assert len(whole) == 3 and all(_record_matches(r, e) for r, e in zip(whole, expected, strict=True))
    for cut in range(len(stream) + 1):
        decoder = RecordIODecoder()
        records = decoder.feed(stream[:cut]) + decoder.feed(stream[cut:])
        assert records == whole, cut
        assert decoder.at_record_boundary()
