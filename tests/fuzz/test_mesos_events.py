"""Malformed or unexpected events from Mesos are logged and survived.

- the session (against a fake master on loopback): an event of a type newer than our protos, in protobuf
  and in JSON, is logged and skipped; the stream stays up and the next event is delivered;
- the scheduler (fake session and store): unhandled event types, offers with unknown or mistyped resources,
  updates for unknown or oddly named tasks, updates with garbage data — no exception, and a broker still
  launches on the next good offer.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from kafka_mesos.core.model import Broker
from kafka_mesos.mesos import codec
from kafka_mesos.mesos.pb import mesos_pb2, scheduler_pb2
from kafka_mesos.mesos.recordio import encode_record
from tests.mesos.fake_master import FakeMaster
from tests.mesos.test_wire_session import Recorder, finish, started
from tests.scheduler.fakes import Call, Event, make_scheduler, offer, offers_event, update_event

# Event{type: 99, <field 1000>: {1: 1}}: a type and a payload field this version of the protos does not have
NEWER_EVENT_PROTOBUF = bytes([0x08, 99, 0xC2, 0x3E, 0x02, 0x08, 0x01])
NEWER_EVENT_JSON = b'{"type": "SOMETHING_NEWER", "something_newer": {"x": 1}}'


@pytest.mark.parametrize(("content_type", "record"), [(codec.PROTOBUF, NEWER_EVENT_PROTOBUF),
                                                      (codec.JSON, NEWER_EVENT_JSON)])
async def test_session_skips_an_event_type_it_does_not_know(
    content_type: str, record: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    master = await FakeMaster().start()
    recorder = Recorder()
    session, runner = await started(master, recorder, content_type=content_type)
    try:
        await recorder.wait_for(lambda: "HEARTBEAT" in recorder.log)
        with caplog.at_level(logging.INFO, logger="kafka_mesos.mesos.scheduler_session"):
            await master.push_raw(encode_record(record))
            await master.push(Event(type=Event.HEARTBEAT))
            await recorder.wait_for(lambda: recorder.log.count("HEARTBEAT") == 2)
        assert recorder.log == ["subscribed:fw-0000", "HEARTBEAT", "HEARTBEAT"], "skipped, stream kept"
        assert not recorder.disconnects
        assert any("does not know" in r.getMessage() for r in caplog.records)
        assert len(master.subscribes) == 1, "no resubscription"
    finally:
        await finish(session, runner)
        await master.stop()


def strange_offer() -> mesos_pb2.Offer:
    bad = offer("O-bad", "S9", "weird-host")
    del bad.resources[:]
    bad.resources.add(name="gpus", type=mesos_pb2.Value.SCALAR, role="*").scalar.value = 8
    bad.resources.add(name="fpga", type=mesos_pb2.Value.SET, role="*").set.item.extend(["a", "b"])
    bad.resources.add(name="cpus", type=mesos_pb2.Value.RANGES, role="*")  # cpus with the wrong type
    bad.resources.add(name="mem", type=mesos_pb2.Value.SCALAR, role="*").scalar.value = -512
    bad.resources.add(name="ports", type=mesos_pb2.Value.SCALAR, role="*").scalar.value = 3
    bad.attributes.add(name="odd", type=mesos_pb2.Value.TEXT).text.value = "x"
    bad.attributes.add(name="no-value", type=mesos_pb2.Value.SCALAR)
    return bad


async def test_scheduler_survives_strange_events_and_still_launches(caplog: pytest.LogCaptureFixture) -> None:
    broker = Broker(id=1, cpus=0.1, mem=256, heap=128, active=True)
    scheduler, cluster, _, journal = make_scheduler([broker])
    await scheduler.on_subscribed("fw-1", None)
    strange: list[scheduler_pb2.Event] = [
        Event(),  # no type at all
        Event(type=Event.UNKNOWN),
        Event(type=Event.INVERSE_OFFERS),
        Event(type=Event.RESCIND_INVERSE_OFFER),
        Event(type=Event.UPDATE_OPERATION_STATUS),
        Event(type=Event.RESCIND),  # rescind without an offer id
        Event(type=Event.FAILURE),  # failure without agent or executor
        Event(type=Event.MESSAGE),  # an executor message with no data
        offers_event(),  # OFFERS with no offers
        offers_event(strange_offer()),
        update_event("kafka-77-00000000-0000-4000-8000-000000000000", "TASK_RUNNING"),  # unknown broker
        update_event("not-a-kafka-task", "TASK_FAILED"),  # a task id of another format
        update_event("kafka-1-nope", "TASK_LOST", data=b"\xff\x00garbage"),
        update_event("", "TASK_RUNNING", with_uuid=False),  # no task id, no uuid
        Event(type=Event.UPDATE),  # an update without a status
    ]
    with caplog.at_level(logging.DEBUG):
        for event in strange:
            await scheduler.on_event(event)
    assert cluster.brokers[1].task is None, "nothing was launched on the strange offer"
    killed = {k.kill.task_id.value for k in journal.calls(Call.KILL)}
    assert "kafka-77-00000000-0000-4000-8000-000000000000" in killed, "an unknown kafka task is killed"

    await asyncio.wait_for(_reconcile_then_offer(scheduler), 10)
    accepts = journal.calls(Call.ACCEPT)
    assert accepts and cluster.brokers[1].task is not None, "the next good offer launches the broker"
    assert cluster.brokers[1].cpus == 0.1 and cluster.brokers[1].active, "the spec is unchanged"


async def _reconcile_then_offer(scheduler: object) -> None:
    # the launch gate opens once reconciliation has been answered (nothing was running: an empty answer)
    for _ in range(50):
        if scheduler.status().get("reconciling", 0) == 0:  # type: ignore[attr-defined]
            break
        await scheduler.tick()  # type: ignore[attr-defined]
    await scheduler.on_event(offers_event(offer("O-good", "S1", "a1")))  # type: ignore[attr-defined]
