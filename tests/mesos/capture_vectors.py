"""Loads the recordings of real Mesos 1.12 traffic kept in tests/captures (golden test vectors)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from google.protobuf.message import Message

from kafka_mesos.mesos.pb import executor_pb2, scheduler_pb2
from tests.support.captures import CAPTURES as REPO_CAPTURES

CAPTURES = Path(os.environ.get("KAFKA_MESOS_CAPTURES", str(REPO_CAPTURES)))
FILES = ("scheduler-json.jsonl", "scheduler-protobuf.jsonl", "executor-json.jsonl", "executor-protobuf.jsonl")


@dataclass(frozen=True)
class Line:
    file: str
    data: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.file.removesuffix('.jsonl')}#{self.data['seq']}"

    @property
    def message_class(self) -> type[Message]:
        module = scheduler_pb2 if self.data["path"].endswith("/scheduler") else executor_pb2
        return module.Call if self.data["dir"] == "request" else module.Event


def lines() -> list[Line]:
    out: list[Line] = []
    for name in FILES:
        path = CAPTURES / name
        with path.open() as fh:
            out.extend(Line(name, json.loads(raw)) for raw in fh if raw.strip())
    return out


def available() -> bool:
    return all((CAPTURES / name).exists() for name in FILES)
