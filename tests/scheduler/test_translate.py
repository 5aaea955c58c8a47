"""Protobuf offers → core offers, and decisions → TaskInfo resources per role."""

from __future__ import annotations

from kafka_mesos.core.model import Broker
from kafka_mesos.core.ranges import Range
from kafka_mesos.core.resources import Taken
from kafka_mesos.mesos.pb import mesos_pb2
from kafka_mesos.scheduler.translate import Placement, core_offer, launch_spec, task_info
from tests.scheduler.fakes import launch_context, offer, scalar


def test_core_offer_sums_resources_per_role_and_reads_attributes() -> None:
    pb = offer("O1", "S1", "host-a", cpus=2, mem=1024, ports=(31000, 31010))
    reserved = scalar("cpus", 1.5)
    reserved.role = "kafka"
    pb.resources.append(reserved)
    pb.attributes.append(mesos_pb2.Attribute(name="rack", type=mesos_pb2.Value.TEXT,
                                             text=mesos_pb2.Value.Text(value="r1")))
    pb.attributes.append(mesos_pb2.Attribute(name="weight", type=mesos_pb2.Value.SCALAR,
                                             scalar=mesos_pb2.Value.Scalar(value=3)))
    result = core_offer(pb)
    assert (result.id, result.agent_id, result.hostname) == ("O1", "S1", "host-a")
    assert result.attributes == {"rack": "r1", "weight": "3"}
    assert result.resources["*"].cpus == 2 and result.resources["*"].mem == 1024
    assert result.resources["*"].ports == (Range(31000, 31010),)
    assert result.resources["kafka"].cpus == 1.5


def test_dynamically_reserved_resources_are_ignored() -> None:
    pb = offer("O1", "S1", "h", cpus=1, mem=512)
    dynamic = scalar("mem", 4096)
    dynamic.role = ""
    dynamic.reservations.append(mesos_pb2.Resource.ReservationInfo(
        type=mesos_pb2.Resource.ReservationInfo.DYNAMIC, role="kafka"))
    pb.resources.append(dynamic)
    result = core_offer(pb)
    assert "kafka" not in result.resources
    assert result.resources["*"].mem == 512


def test_task_resources_follow_what_matching_took_per_role() -> None:
    broker = Broker(id=3, cpus=1.0, mem=1024, heap=512, options={"log.dirs": "/data/$id", "gone": None},
                    jvm_options="-Dbroker=$id", active=True)
    placement = Placement(
        broker_id=3, task_id="kafka-3-x", offer_id="O1", agent_id="S1", hostname="h1", port=31005,
        role="kafka",
        task_resources=(Taken("kafka", cpus=0.5, mem=1024, ports=(31005,)), Taken("*", cpus=0.5)),
        executor_resources=(Taken("*", cpus=0.01, mem=32),),
    )
    info = task_info(launch_context(), broker, placement)
    task = {(r.name, r.role): r for r in info.resources}
    assert task[("cpus", "kafka")].scalar.value == 0.5 and task[("cpus", "*")].scalar.value == 0.5
    assert task[("mem", "kafka")].scalar.value == 1024
    assert task[("ports", "kafka")].ranges.range[0].begin == 31005
    executor = {(r.name, r.role): r.scalar.value for r in info.executor.resources}
    assert executor == {("cpus", "*"): 0.01, ("mem", "*"): 32}
    spec = launch_spec(launch_context(), broker, placement)
    assert spec.options == {"log.dirs": "/data/3"}, "$id substituted, unset options not sent"
    assert spec.jvm_options == "-Dbroker=3"
    assert info.name == "kafka-3" and info.executor.name == "broker-3"
    assert info.kill_policy.grace_period.nanoseconds == int(30e9)
