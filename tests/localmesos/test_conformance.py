"""Shapes of what the local Mesos puts on the wire, compared with real Mesos 1.12 captures (JSON run):
header names, event order, key paths of each event, fixed strings, the executor environment."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp

from kafka_mesos.localmesos.cluster import LocalMesos
from kafka_mesos.mesos import codec
from kafka_mesos.mesos.pb import mesos_pb2 as mpb
from tests.localmesos.client import Call, Event, RawFramework, framework_info
from tests.localmesos.conftest import launch_call, sample_executor_info
from tests.localmesos.test_bad_requests import CAPTURES, capture_lines


def key_paths(value: Any, prefix: str = "") -> set[str]:
    paths: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{prefix}.{key}" if prefix else key
            paths.add(path)
            paths |= key_paths(item, path)
    elif isinstance(value, list):
        for item in value:
            paths |= key_paths(item, prefix + "[]")
    return paths


def captured_event(lines: list[dict[str, Any]], predicate: Any) -> dict[str, Any]:
    return next(line["body_json"] for line in lines if line["dir"] == "event" and predicate(line))


async def test_scheduler_events_have_the_captured_shapes(
    mesos: LocalMesos, http: aiohttp.ClientSession
) -> None:
    lines = capture_lines("scheduler-json.jsonl")
    framework = RawFramework(mesos.master_url, codec.JSON, http)
    try:
        info = framework_info()
        info.role = "*"  # set explicitly by the capture's scheduler, like the URI flags below
        await framework.subscribe(info)
        offers = await framework.wait_offers()
        ours = [json.loads(raw) for raw in framework.raw_events]
        assert [e["type"] for e in ours[:3]] == ["SUBSCRIBED", "HEARTBEAT", "OFFERS"]
        assert key_paths(ours[0]) == key_paths(captured_event(lines, lambda x: x["seq"] == 3))
        assert key_paths(ours[1]) == key_paths(captured_event(lines, lambda x: x["seq"] == 4))
        captured_offers = captured_event(lines, lambda x: x["seq"] == 5)
        assert key_paths(ours[2]) == key_paths(captured_offers)
        assert ours[2]["offers"]["offers"][0]["url"]["path"] == "/slave(1)"

        offer = offers[0]
        launched_at = len(framework.events)
        executor = sample_executor_info("exec-1", codec.JSON)
        executor.command.uris[0].executable = False
        executor.command.uris[0].cache = False
        await framework.call(launch_call(offer, "capture-task-1", executor, refuse_seconds=0.5))
        starting = await framework.wait_update("capture-task-1", mpb.TASK_STARTING)
        raw = _raw_update(framework, "TASK_STARTING")
        assert key_paths(raw) == key_paths(captured_event(lines, lambda x: x["seq"] == 11))
        assert raw["update"]["status"]["container_status"]["network_infos"][0]["ip_addresses"][0] == {
            "protocol": "IPv4",
            "ip_address": "127.0.0.1",
        }
        await framework.acknowledge(starting)
        running = await framework.wait_update("capture-task-1", mpb.TASK_RUNNING)
        await framework.acknowledge(running)
        assert key_paths(_raw_update(framework, "TASK_RUNNING")) == key_paths(
            captured_event(lines, lambda x: x["seq"] == 19)
        )

        again = await framework.wait_for(
            lambda e: e.type == Event.OFFERS and any(o.agent_id == offer.agent_id for o in e.offers.offers),
            after=launched_at,
        )
        offered = next(o for o in again.offers.offers if o.agent_id == offer.agent_id)
        assert [e.value for e in offered.executor_ids] == ["exec-1"]
        assert [r.ranges.range[0].begin for r in offered.resources if r.name == "ports"] == [31001]

        reconcile = Call(type=Call.RECONCILE)
        item = reconcile.reconcile.tasks.add()
        item.task_id.value = "capture-task-1"
        item.agent_id.CopyFrom(offer.agent_id)
        unknown = reconcile.reconcile.tasks.add()
        unknown.task_id.value = "capture-no-such-task"
        unknown.agent_id.CopyFrom(offer.agent_id)
        mark = len(framework.raw_events)
        await framework.call(reconcile)
        await framework.wait_update("capture-no-such-task", mpb.TASK_LOST, after=mark)
        answers = [json.loads(r) for r in framework.raw_events[mark:]]
        known = next(
            a for a in answers if a.get("update", {}).get("status", {}).get("state") == "TASK_RUNNING"
        )
        lost = next(a for a in answers if a.get("update", {}).get("status", {}).get("state") == "TASK_LOST")
        known["update"]["status"].pop("timestamp")
        expected_known = captured_event(lines, lambda x: x["seq"] == 28)
        assert key_paths(known) | {"update.status.timestamp"} == key_paths(expected_known)
        assert key_paths(lost) == key_paths(captured_event(lines, lambda x: x["seq"] == 35))

        message = Call(type=Call.MESSAGE)
        message.message.agent_id.CopyFrom(offer.agent_id)
        message.message.executor_id.value = "exec-1"
        message.message.data = b"x"
        mark = len(framework.raw_events)
        await framework.call(message)
        await framework.wait_for(lambda e: e.type == Event.MESSAGE, after=mark)
        echoed = next(json.loads(r) for r in framework.raw_events[mark:] if b'"MESSAGE"' in r)
        assert key_paths(echoed) == key_paths(captured_event(lines, lambda x: x["seq"] == 26))

        _check_executor_side(mesos, framework.framework_id or "")
    finally:
        await framework.close_stream()


def _raw_update(framework: RawFramework, state: str) -> dict[str, Any]:
    for raw in framework.raw_events:
        event = json.loads(raw)
        if event["type"] == "UPDATE" and event["update"]["status"]["state"] == state:
            return dict(event)
    raise AssertionError(f"no raw {state} update")


def _check_executor_side(mesos: LocalMesos, framework_id: str) -> None:
    lines = capture_lines("executor-json.jsonl")
    envs = json.loads((CAPTURES / "executor-env.json").read_text())
    sandbox = next(mesos.work_dir.glob(f"slaves/*/frameworks/{framework_id}/executors/exec-1/runs/*-*"))
    env = json.loads((sandbox / "env.json").read_text())
    captured_env = envs["checkpoint_true"]["env"]
    ours = {k: v for k, v in env.items() if k.startswith(("MESOS_", "LIBPROCESS_"))}
    assert set(ours) == set(captured_env)
    assert set(env) - set(ours) <= {
        "PATH",
        "PYTHONPATH",
        "PWD",
        "SHLVL",
        "LC_CTYPE",
        "_",
    }  # shell and python add some
    agent = next(a for a in mesos.agents if sandbox.is_relative_to(mesos.work_dir / "slaves" / a.id))
    assert ours["MESOS_AGENT_ENDPOINT"] == f"127.0.0.1:{agent.port}"
    assert ours["MESOS_SLAVE_PID"] == f"slave(1)@127.0.0.1:{agent.port}"
    assert ours["MESOS_DIRECTORY"] == ours["MESOS_SANDBOX"] == str(sandbox)
    for key in (
        "MESOS_CHECKPOINT",
        "MESOS_HTTP_COMMAND_EXECUTOR",
        "MESOS_RECOVERY_TIMEOUT",
        "MESOS_SUBSCRIPTION_BACKOFF_MAX",
        "LIBPROCESS_IP",
        "LIBPROCESS_PORT",
    ):
        assert ours[key] == captured_env[key], key
    assert ours["MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD"] == "3secs"
    argv = json.loads((sandbox / "argv.json").read_text())
    assert argv["cwd"] == str(sandbox)
    assert {"sample_executor.py", "stdout", "stderr"} <= {p.name for p in sandbox.iterdir()}

    records = _read_records(sandbox / "events.raw")
    by_type = {r["type"]: r for r in reversed(records)}
    for seq, kind in ((3, "SUBSCRIBED"), (4, "LAUNCH"), (8, "ACKNOWLEDGED"), (11, "MESSAGE")):
        captured = captured_event(lines, lambda x, seq=seq: x["seq"] == seq)
        ignore = {"subscribed.executor_info.command.environment", "launch.task.executor.command.environment"}
        assert _without(key_paths(by_type[kind]), ignore) == _without(key_paths(captured), ignore), kind
    launch = by_type["LAUNCH"]["launch"]["task"]
    assert all(r["allocation_info"] == {"role": "*"} and "role" not in r for r in launch["resources"])


def _without(paths: set[str], prefixes: set[str]) -> set[str]:
    return {p for p in paths if not any(p.startswith(prefix) for prefix in prefixes)}


def _read_records(path: Path) -> list[dict[str, Any]]:
    data = path.read_bytes()
    records: list[dict[str, Any]] = []
    while data:
        size = int.from_bytes(data[:4], "big")
        records.append(json.loads(data[4 : 4 + size]))
        data = data[4 + size :]
    return records
