"""The committed generated modules are exactly what generate.py produces from our .proto files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from kafka_mesos.mesos.proto.generate import DEFAULT_OUTPUT, generate

REPO = Path(__file__).resolve().parents[2]


def test_generated_modules_are_up_to_date(tmp_path: Path) -> None:
    written = generate(tmp_path)
    names = sorted(p.name for p in written)
    assert names == sorted(
        [
            "__init__.py",
            *(f"{m}{s}" for m in ("mesos_pb2", "scheduler_pb2", "executor_pb2") for s in (".py", ".pyi")),
        ]
    )
    for fresh in written:
        committed = DEFAULT_OUTPUT / fresh.name
        assert committed.read_text() == fresh.read_text(), f"{committed} is stale: run generate.py"


def test_generated_imports_are_package_relative() -> None:
    for module in ("scheduler_pb2", "executor_pb2"):
        text = (DEFAULT_OUTPUT / f"{module}.py").read_text()
        assert "from . import mesos_pb2" in text
        assert "from mesos.v1" not in text


def test_modules_import_and_round_trip_with_pure_python_protobuf() -> None:
    # The executor zipapp bundles protobuf's pure-Python implementation.
    script = (
        "from google.protobuf.internal import api_implementation as a\n"
        "assert a.Type() == 'python', a.Type()\n"
        "from kafka_mesos.mesos.pb import executor_pb2, mesos_pb2, scheduler_pb2\n"
        "c = executor_pb2.Call(type=executor_pb2.Call.MESSAGE)\n"
        "c.executor_id.value = 'e'; c.framework_id.value = 'f'; c.message.data = b'\\x00\\xff'\n"
        "assert executor_pb2.Call.FromString(c.SerializeToString()) == c\n"
        "r = scheduler_pb2.Call(type=scheduler_pb2.Call.REVIVE); r.revive.roles.append('k')\n"
        "assert r.SerializeToString() == b'\\x10\\x05z\\x03\\n\\x01k'\n"
        "assert mesos_pb2.CommandInfo().shell is True\n"
        "print('ok')\n"
    )
    env = dict(os.environ, PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION="python")
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
