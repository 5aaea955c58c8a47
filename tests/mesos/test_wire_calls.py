"""Call builders put each payload in the field Mesos expects."""

from __future__ import annotations

import json

from kafka_mesos.mesos import calls, codec
from kafka_mesos.mesos.pb import mesos_pb2, scheduler_pb2

Call = scheduler_pb2.Call


def payload_field_numbers(call: scheduler_pb2.Call) -> list[int]:
    return [field.number for field, _ in call.ListFields() if field.name not in ("type", "framework_id")]


def framework_info(fid: str | None = None) -> mesos_pb2.FrameworkInfo:
    info = mesos_pb2.FrameworkInfo(user="kafka", name="kafka-mesos", failover_timeout=604800, checkpoint=True)
    info.roles.append("kafka")
    info.capabilities.add(type=mesos_pb2.FrameworkInfo.Capability.MULTI_ROLE)
    if fid:
        info.id.value = fid
    return info


def task() -> mesos_pb2.TaskInfo:
    t = mesos_pb2.TaskInfo(name="broker-0")
    t.task_id.value = "broker-0-1"
    t.agent_id.value = "S0"
    t.resources.extend([calls.scalar("cpus", 0.1000001), calls.ranges("ports", [(31000, 31000)])])
    t.command.value = "true"
    return t


def test_every_call_type_and_its_payload_field() -> None:
    res = [calls.scalar("disk", 100, allocation_role="kafka")]
    cases: list[tuple[scheduler_pb2.Call, int, list[int]]] = [
        (calls.subscribe(framework_info()), Call.SUBSCRIBE, [3]),
        (calls.teardown(), Call.TEARDOWN, []),
        (calls.accept(["O1"], [calls.launch([task()])], refuse_seconds=10), Call.ACCEPT, [4]),
        (calls.decline(["O1", "O2"], refuse_seconds=3600), Call.DECLINE, [5]),
        (calls.revive(), Call.REVIVE, [15]),
        (calls.suppress(["kafka"]), Call.SUPPRESS, [16]),
        (calls.kill("t", "S0", grace_period_seconds=1.5), Call.KILL, [6]),
        (calls.shutdown("e", "S0"), Call.SHUTDOWN, [7]),
        (calls.acknowledge("S0", "t", b"u" * 16), Call.ACKNOWLEDGE, [8]),
        (calls.reconcile([("t", "S0"), ("t2", None)]), Call.RECONCILE, [9]),
        (calls.message("S0", "e", b"\x00"), Call.MESSAGE, [10]),
        (calls.request([mesos_pb2.Request()]), Call.REQUEST, [11]),
        (calls.accept_inverse_offers(["I"]), Call.ACCEPT_INVERSE_OFFERS, [13]),
        (calls.decline_inverse_offers(["I"]), Call.DECLINE_INVERSE_OFFERS, [14]),
        (calls.acknowledge_operation_status("op", b"u" * 16, "S0"), Call.ACKNOWLEDGE_OPERATION_STATUS, [17]),
        (calls.reconcile_operations([("op", None)]), Call.RECONCILE_OPERATIONS, [18]),
        (calls.update_framework(framework_info("F")), Call.UPDATE_FRAMEWORK, [19]),
        (calls.accept(["O"], [calls.reserve(res), calls.create(res)]), Call.ACCEPT, [4]),
        (calls.accept(["O"], [calls.destroy(res), calls.unreserve(res)]), Call.ACCEPT, [4]),
    ]
    seen = set()
    for call, call_type, fields in cases:
        assert call.type == call_type
        assert payload_field_numbers(call) == fields, Call.Type.Name(call_type)
        # Every call serializes (all required fields present) in both encodings.
        again = codec.decode(codec.encode(call, codec.PROTOBUF), codec.PROTOBUF, Call)
        assert again == call
        assert codec.decode(codec.encode(call, codec.JSON), codec.JSON, Call) == call
        seen.add(call_type)
    assert seen == set(Call.Type.values()) - {Call.UNKNOWN}


def test_empty_revive_and_implicit_reconcile_still_carry_their_payload() -> None:
    assert json.loads(codec.encode(calls.revive(), codec.JSON)) == {"type": "REVIVE", "revive": {}}
    assert json.loads(codec.encode(calls.reconcile(), codec.JSON)) == {"type": "RECONCILE", "reconcile": {}}


def test_resubscribe_puts_framework_id_in_both_places() -> None:
    call = calls.subscribe(framework_info("F-1"), suppressed_roles=["kafka"])
    assert call.framework_id.value == "F-1"
    assert call.subscribe.framework_info.id.value == "F-1"
    assert list(call.subscribe.suppressed_roles) == ["kafka"]
    assert not calls.subscribe(framework_info()).HasField("framework_id")


def test_decline_filters_and_accept_operations() -> None:
    call = calls.decline(["O1"], refuse_seconds=3600)
    assert call.decline.filters.refuse_seconds == 3600
    assert not calls.decline(["O1"]).decline.HasField("filters")
    accept = calls.accept(["O1"], [calls.launch([task()])], refuse_seconds=1)
    op = accept.accept.operations[0]
    assert op.type == mesos_pb2.Offer.Operation.LAUNCH and op.launch.task_infos[0].name == "broker-0"
    assert op.launch.task_infos[0].resources[0].scalar.value == 0.1
    assert accept.accept.filters.refuse_seconds == 1


def test_operations() -> None:
    vol = calls.scalar("disk", 1024, allocation_role="kafka")
    vol.disk.persistence.id = "vol-1"
    vol.disk.volume.container_path = "data"
    vol.disk.volume.mode = mesos_pb2.Volume.RW
    assert calls.create([vol], operation_id="op1").create.volumes[0].disk.persistence.id == "vol-1"
    assert calls.create([vol], operation_id="op1").id.value == "op1"
    assert calls.destroy([vol]).type == mesos_pb2.Offer.Operation.DESTROY
    assert calls.reserve([vol]).type == mesos_pb2.Offer.Operation.RESERVE
    assert calls.unreserve([vol]).unreserve.resources[0].allocation_info.role == "kafka"
    executor = mesos_pb2.ExecutorInfo(type=mesos_pb2.ExecutorInfo.DEFAULT)
    executor.executor_id.value = "e"
    group = calls.launch_group(executor, [task()])
    assert group.launch_group.task_group.tasks[0].task_id.value == "broker-0-1"


def test_kill_policy_and_ack_helpers() -> None:
    assert (
        calls.kill("t", grace_period_seconds=2.5).kill.kill_policy.grace_period.nanoseconds == 2_500_000_000
    )
    status = mesos_pb2.TaskStatus(state=mesos_pb2.TASK_RUNNING)
    status.task_id.value = "t"
    status.agent_id.value = "S0"
    assert calls.acknowledge_status(status) is None  # reconciliation answers carry no uuid
    status.uuid = b"x" * 16
    ack = calls.acknowledge_status(status, framework_id="F")
    assert ack is not None and ack.acknowledge.uuid == b"x" * 16 and ack.framework_id.value == "F"
