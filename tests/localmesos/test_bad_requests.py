"""Status codes and error texts for bad scheduler calls, checked against real Mesos 1.12 captures."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from kafka_mesos.localmesos.cluster import LocalMesos
from kafka_mesos.mesos import codec
from tests.localmesos.client import Call, RawFramework, framework_info
from tests.support.captures import CAPTURES

TEXT = "text/plain; charset=utf-8"


def capture_lines(name: str) -> list[dict[str, Any]]:
    path = CAPTURES / name
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def revive() -> Call:
    return Call(type=Call.REVIVE)


async def test_status_codes_match_the_captures(framework: RawFramework) -> None:
    """Replays the capture's error cases (seq 39-51) with this cluster's ids."""
    await framework.subscribe(framework_info())
    fid, sid = framework.framework_id or "", framework.stream_id or ""
    body = codec.encode(_revive_for(fid), framework.content_type)
    expected = {
        line["request_seq"]: line
        for line in capture_lines("scheduler-json.jsonl")
        if line["dir"] == "response" and line["status"] >= 400
    }

    missing = await framework.post(body, headers={"Content-Type": framework.content_type})
    _same(missing, expected[39])
    charset = await framework.post(
        body, headers={**framework.headers(), "Content-Type": framework.content_type + "; charset=utf-8"}
    )
    _same(charset, expected[41])
    foreign = "6df2c9ca-316a-4776-b961-a5e855dce9f2"
    stale = await framework.post(body, headers={**framework.headers(), "Mesos-Stream-Id": foreign})
    assert stale.status == 400 and stale.headers["Content-Type"] == TEXT
    assert stale.body.decode() == (
        f"The stream ID '{foreign}' included in this request didn't match the stream ID currently "
        f"associated with framework ID {fid}"
    )
    unknown = await framework.post(codec.encode(_revive_for(fid[:-4] + "9999"), framework.content_type))
    _same(unknown, expected[45])
    only_info = Call(type=Call.SUBSCRIBE)
    only_info.subscribe.framework_info.CopyFrom(framework_info())
    only_info.subscribe.framework_info.id.value = fid
    differs = await framework.post(
        codec.encode(only_info, framework.content_type), headers=framework.headers(with_stream=False)
    )
    _same(differs, expected[47])
    assert sid == framework.stream_id


async def test_other_bad_requests(framework: RawFramework, http: aiohttp.ClientSession) -> None:
    await framework.subscribe(framework_info())
    body = codec.encode(_revive_for(framework.framework_id or ""), framework.content_type)
    wrong_type = await framework.post(body, headers={**framework.headers(), "Content-Type": "text/plain"})
    assert wrong_type.status == 415
    no_type = await framework.post(body, headers={"Mesos-Stream-Id": framework.stream_id or ""})
    assert no_type.status == 400
    malformed = await framework.post(b"\xff\xff{not a call", headers=framework.headers())
    assert malformed.status == 400 and malformed.headers["Content-Type"] == TEXT
    async with http.get(framework.url) as response:
        assert response.status == 405
    subscribe = Call(type=Call.SUBSCRIBE)
    subscribe.subscribe.framework_info.CopyFrom(framework_info())
    with_stream = await framework.post(
        codec.encode(subscribe, framework.content_type), headers=framework.headers()
    )
    assert with_stream.status == 400
    assert with_stream.body == b"Subscribe calls should not include the 'Mesos-Stream-Id' header"
    no_framework_id = await framework.post(codec.encode(revive(), framework.content_type))
    assert no_framework_id.status == 400
    ack = Call(type=Call.ACKNOWLEDGE)
    ack.framework_id.value = framework.framework_id or ""
    ack.acknowledge.agent_id.value = "a"
    ack.acknowledge.task_id.value = "t"
    ack.acknowledge.uuid = b"not-a-uuid"
    bad_uuid = await framework.post(codec.encode(ack, framework.content_type))
    assert bad_uuid.status == 400
    unknown_call = Call(type=Call.UNKNOWN)
    unknown_call.framework_id.value = framework.framework_id or ""
    assert (await framework.post(codec.encode(unknown_call, framework.content_type))).status == 501


async def test_accept_header_negotiation(mesos: LocalMesos, http: aiohttp.ClientSession) -> None:
    subscribe = Call(type=Call.SUBSCRIBE)
    subscribe.subscribe.framework_info.CopyFrom(framework_info())
    body = codec.encode(subscribe, codec.PROTOBUF)
    url = f"{mesos.master_url}/api/v1/scheduler"
    for accept, expected in (
        ("*/*", codec.JSON),
        ("application/x-protobuf", codec.PROTOBUF),
        ("application/json;q=0, */*", codec.PROTOBUF),
        ("text/html", None),
    ):
        headers = {"Content-Type": codec.PROTOBUF, "Accept": accept}
        async with http.post(url, data=body, headers=headers) as response:
            if expected is None:
                assert response.status == 406
            else:
                assert response.status == 200 and response.headers["Content-Type"] == expected


def _revive_for(framework_id: str) -> Call:
    call = revive()
    call.framework_id.value = framework_id
    return call


def _same(response: Any, capture: dict[str, Any]) -> None:
    assert response.status == capture["status"]
    assert response.headers["Content-Type"] == capture["headers"]["Content-Type"]
    assert response.body.decode() == capture["body_text"]


async def test_kill_of_unknown_task_is_answered_like_reconciliation(framework: RawFramework) -> None:
    await framework.subscribe(framework_info())
    kill = Call(type=Call.KILL)
    kill.kill.task_id.value = "ghost"
    assert (await framework.call(kill)).status == 202
    answer = await framework.wait_update("ghost", 5)  # TASK_LOST
    assert answer.message == "Reconciliation: Task is unknown" and not answer.HasField("uuid")


async def test_health_and_redirect(mesos: LocalMesos, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{mesos.master_url}/health") as response:
        assert response.status == 200
    async with http.get(f"{mesos.master_url}/redirect", allow_redirects=False) as response:
        assert response.status == 307
        assert response.headers["Location"] == f"//127.0.0.1:{mesos.master.port}"
