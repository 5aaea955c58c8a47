"""One executor per agent: every broker placed on an agent is launched onto the same ExecutorInfo."""

from __future__ import annotations

import dataclasses
import json

from kafka_mesos.core.model import Broker
from kafka_mesos.mesos.pb import mesos_pb2
from tests.scheduler.fakes import Call, launch_context, make_scheduler, offer, offers_event, update_event


def brokers(*ids: int) -> list[Broker]:
    return [Broker(id=i, cpus=0.5, mem=256, heap=128, active=True) for i in ids]


async def shared_scheduler(*ids: int):  # type: ignore[no-untyped-def]
    launch = dataclasses.replace(launch_context(), shared_executor=True)
    scheduler, cluster, _, journal = make_scheduler(brokers(*ids), launch=launch)
    await scheduler.on_subscribed("fw-1", None)
    return scheduler, cluster, journal


def launched(journal) -> list[mesos_pb2.TaskInfo]:  # type: ignore[no-untyped-def]
    return [t for a in journal.calls(Call.ACCEPT) for op in a.accept.operations for t in op.launch.task_infos]


async def test_brokers_on_one_agent_share_one_executor_and_its_info() -> None:
    scheduler, cluster, journal = await shared_scheduler(1, 2, 3)
    await scheduler.on_event(offers_event(offer("O1", "S1", "a1")))
    tasks = launched(journal)
    assert len(tasks) == 3
    executor = tasks[0].executor
    assert executor.executor_id.value.startswith("kafka-executor-")
    assert executor.framework_id.value == "fw-1"
    assert all(t.executor == executor for t in tasks), "Mesos wants the identical ExecutorInfo"
    assert {t.task_id.value for t in tasks} == {b.task.task_id for b in cluster.brokers.values() if b.task}
    assert {b.task.executor_id for b in cluster.brokers.values() if b.task} == {executor.executor_id.value}
    env = {v.name: v.value for v in executor.command.environment.variables}
    assert float(env["KAFKA_MESOS_EXECUTOR_LINGER_SECONDS"]) > 0
    assert {r.name for r in executor.resources} == {"cpus", "mem"}


async def test_a_later_broker_joins_the_running_executor_another_agent_gets_its_own() -> None:
    scheduler, cluster, journal = await shared_scheduler(1)
    await scheduler.on_event(offers_event(offer("O1", "S1", "a1")))
    (first,) = launched(journal)
    await scheduler.on_event(update_event(first.task_id.value, "TASK_RUNNING", data=b"a1:31000"))
    cluster.brokers[2] = Broker(id=2, cpus=0.5, mem=256, heap=128, active=True)
    cluster.brokers[3] = Broker(id=3, cpus=0.5, mem=256, heap=128, active=True)
    # the running executor's resources are no longer offered: an offer with room for the task alone fits
    await scheduler.on_event(offers_event(offer("O2", "S1", "a1", cpus=0.5, mem=256),
                                          offer("O3", "S2", "a2")))
    by_agent = {t.agent_id.value: t for t in launched(journal)[1:]}
    assert by_agent["S1"].executor == first.executor
    assert by_agent["S2"].executor.executor_id.value != first.executor.executor_id.value
    assert by_agent["S2"].executor.executor_id.value.startswith("kafka-executor-")


async def test_an_executor_whose_brokers_are_all_stopping_gets_no_new_broker() -> None:
    scheduler, cluster, journal = await shared_scheduler(1)
    await scheduler.on_event(offers_event(offer("O1", "S1", "a1")))
    (first,) = launched(journal)
    await scheduler.on_event(update_event(first.task_id.value, "TASK_RUNNING", data=b"a1:31000"))
    old = cluster.brokers[1]
    assert old.task is not None
    stopping = dataclasses.replace(old.task, stopping=True)
    cluster.brokers[1] = dataclasses.replace(old, active=False, task=stopping)
    cluster.brokers[2] = Broker(id=2, cpus=0.5, mem=256, heap=128, active=True)
    await scheduler.on_event(offers_event(offer("O2", "S1", "a1")))
    (second,) = launched(journal)[1:]
    assert json.loads(second.data)["broker_id"] == 2
    assert second.executor.executor_id.value != first.executor.executor_id.value
