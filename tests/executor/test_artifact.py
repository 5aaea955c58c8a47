"""The zipapp's slim protobuf modules read and re-send what a real agent sends (Mesos 1.12 captures)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kafka_mesos.executor.artifact import build_executor_zipapp
from kafka_mesos.mesos import codec
from kafka_mesos.mesos.pb import executor_pb2
from tests.support.captures import CAPTURES

# Runs inside the isolated interpreter with only the zipapp on sys.path.
PROBE = """
import base64, json, os, sys
os.environ["PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION"] = "python"
sys.path.insert(0, sys.argv[1])
from kafka_mesos.mesos import codec
from kafka_mesos.mesos.pb import executor_pb2

def summary(event):
    return {
        "type": executor_pb2.Event.Type.Name(event.type),
        "hostname": event.subscribed.agent_info.hostname,
        "agent_id": event.subscribed.agent_info.id.value,
        "task_id": (event.launch.task.task_id.value or event.kill.task_id.value
                    or event.acknowledged.task_id.value),
        "data": base64.b64encode(event.launch.task.data or event.message.data).decode(),
        "uuid": base64.b64encode(event.acknowledged.uuid).decode(),
    }

out = []
for line in sys.stdin:
    record = json.loads(line)
    if record["dir"] != "event":
        continue
    if "body_b64" in record:
        event = codec.decode(base64.b64decode(record["body_b64"]), codec.PROTOBUF, executor_pb2.Event)
        again = base64.b64encode(event.SerializeToString()).decode()
    else:
        event = codec.decode(json.dumps(record["body_json"]).encode(), codec.JSON, executor_pb2.Event)
        again = ""
    out.append({"summary": summary(event), "again": again})
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def zipapp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_executor_zipapp(tmp_path_factory.mktemp("artifact") / "executor.pyz")


def summary(event: executor_pb2.Event) -> dict[str, str]:
    return {
        "type": executor_pb2.Event.Type.Name(event.type),
        "hostname": event.subscribed.agent_info.hostname,
        "agent_id": event.subscribed.agent_info.id.value,
        "task_id": (event.launch.task.task_id.value or event.kill.task_id.value
                    or event.acknowledged.task_id.value),
        "data": base64.b64encode(event.launch.task.data or event.message.data).decode(),
        "uuid": base64.b64encode(event.acknowledged.uuid).decode(),
    }


def probe(zipapp: Path, capture: str) -> tuple[list[dict[str, str]], list[dict[str, object]]]:
    text = (CAPTURES / capture).read_text()
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", PROBE, str(zipapp)],
        input=text, capture_output=True, text=True, check=True, cwd="/",
    )
    expected = []
    for line in text.splitlines():
        record = json.loads(line)
        if record["dir"] != "event":
            continue
        if "body_b64" in record:
            raw = base64.b64decode(record["body_b64"])
            expected.append(summary(codec.decode(raw, codec.PROTOBUF, executor_pb2.Event)))
        else:
            body = json.dumps(record["body_json"]).encode()
            expected.append(summary(codec.decode(body, codec.JSON, executor_pb2.Event)))
    return expected, json.loads(result.stdout)


def test_slim_protobuf_reads_every_captured_event_and_keeps_unknown_fields(zipapp: Path) -> None:
    expected, got = probe(zipapp, "executor-protobuf.jsonl")
    assert [item["summary"] for item in got] == expected
    seen = {e["type"] for e in expected}
    assert seen >= {"SUBSCRIBED", "LAUNCH", "ACKNOWLEDGED", "MESSAGE", "KILL", "SHUTDOWN"}
    original = [
        base64.b64decode(json.loads(line)["body_b64"])
        for line in (CAPTURES / "executor-protobuf.jsonl").read_text().splitlines()
        if json.loads(line)["dir"] == "event"
    ]
    for raw, item in zip(original, got, strict=True):
        again = base64.b64decode(str(item["again"]))
        # fields the slim schema does not know travel as unknown fields: nothing is lost on re-send
        assert executor_pb2.Event.FromString(again) == executor_pb2.Event.FromString(raw)


def test_slim_protobuf_reads_the_captured_json_events(zipapp: Path) -> None:
    expected, got = probe(zipapp, "executor-json.jsonl")
    assert [item["summary"] for item in got] == expected


def test_zipapp_does_not_carry_the_scheduler_side(zipapp: Path) -> None:
    import zipfile

    names = set(zipfile.ZipFile(zipapp).namelist())
    assert "kafka_mesos/executor/main.py" in names and "google/protobuf/json_format.py" in names
    assert not any(name.endswith(".so") for name in names)
    assert not any(name.startswith(("kafka_mesos/scheduler", "kafka_mesos/api", "aiohttp")) for name in names)
    assert "kafka_mesos/mesos/pb/scheduler_pb2.py" not in names


def test_zipapp_start_does_not_load_ssl(zipapp: Path) -> None:
    # Started without the agent's environment it stops right after its imports (exit 64).
    result = subprocess.run([sys.executable, "-X", "importtime", str(zipapp)], capture_output=True, text=True,
                            cwd="/", env={"PATH": os.environ.get("PATH", "")})
    assert result.returncode == 64, result.stderr[-2000:]
    imported = {line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines() if line.count("|") == 2}
    assert "asyncio" in imported and "kafka_mesos.mesos.pb.mesos_pb2" in imported
    assert "_ssl" not in imported
