"""The scheduler's event handlers against a fake session and a fake store sharing one ordered journal."""

from __future__ import annotations

import asyncio
import json

from kafka_mesos.core.model import TASK_RUNNING, Broker
from kafka_mesos.kafka.launch import LaunchSpec
from kafka_mesos.mesos.pb import mesos_pb2
from tests.scheduler.fakes import Call, Event, make_scheduler, offer, offers_event, update_event

THREE_OFFERS = (offer("O1", "S1", "a1"), offer("O2", "S2", "a2"), offer("O3", "S3", "a3"))


def seed_brokers(active: bool = True) -> list[Broker]:
    return [Broker(id=i, cpus=0.01, mem=256, heap=128, options={"num.io.threads": "1"}, active=active)
            for i in range(1000, 1020)]


async def subscribed(brokers: list[Broker], **config: object):  # type: ignore[no-untyped-def]
    scheduler, cluster, caller, journal = make_scheduler(brokers, **config)
    await scheduler.on_subscribed("fw-1", None)
    return scheduler, cluster, caller, journal


async def test_framework_id_is_persisted_before_any_call() -> None:
    scheduler, cluster, _, journal = make_scheduler(seed_brokers())
    await scheduler.on_subscribed("fw-1", None)
    assert journal.entries[0] == ("framework_id", "fw-1")
    assert cluster.framework_id == "fw-1"
    assert journal.calls(Call.RECONCILE), "reconciliation starts after every SUBSCRIBED"


async def test_twenty_brokers_launch_in_one_round_and_records_precede_accept() -> None:
    scheduler, cluster, _, journal = await subscribed(seed_brokers())
    await scheduler.on_event(offers_event(*THREE_OFFERS))
    accepts = journal.calls(Call.ACCEPT)
    tasks = [t for a in accepts for op in a.accept.operations for t in op.launch.task_infos]
    assert len(tasks) == 20
    assert 1 <= len(accepts) <= 3, "several brokers per offer, at most one ACCEPT per offer"
    first_accept = journal.index(lambda e: e[0] == "call" and e[1].type == Call.ACCEPT)
    first_save = journal.index(lambda e: e[0] == "save" and any(b.task for b in e[1]))
    assert first_save < first_accept, "task records are persisted before ACCEPT"
    for task in tasks:
        broker = cluster.brokers[json.loads(task.data)["broker_id"]]
        assert broker.task is not None and broker.task.task_id == task.task_id.value
        assert task.task_id.value.startswith(f"kafka-{broker.id}-")
    accepted = {o.value for a in accepts for o in a.accept.offer_ids}
    declined = {o.value for d in journal.calls(Call.DECLINE) for o in d.decline.offer_ids}
    assert accepted | declined == {"O1", "O2", "O3"} and not accepted & declined


async def test_task_info_carries_executor_and_launch_spec() -> None:
    scheduler, _, _, journal = await subscribed(seed_brokers()[:1])
    await scheduler.on_event(offers_event(THREE_OFFERS[0]))
    (accept,) = journal.calls(Call.ACCEPT)
    (task,) = accept.accept.operations[0].launch.task_infos
    executor = task.executor
    assert executor.type == mesos_pb2.ExecutorInfo.CUSTOM
    assert executor.executor_id.value == task.task_id.value
    assert executor.command.value == "exec python3 kafka-mesos-executor.pyz"
    uris = {u.value: u.extract for u in executor.command.uris}
    assert uris == {"http://127.0.0.1:7000/files/kafka-mesos-executor.pyz": False,
                    "http://127.0.0.1:7000/files/kafka_2.13-3.7.0.tgz": True}
    resources = {r.name: r for r in task.resources}
    assert resources["cpus"].scalar.value == 0.01
    assert resources["mem"].scalar.value == 256
    port = resources["ports"].ranges.range[0].begin
    spec = LaunchSpec.from_json(task.data)
    assert (spec.broker_id, spec.heap_mb, spec.port, spec.advertised_hostname) == (1000, 128, port, "a1")
    assert spec.options == {"num.io.threads": "1"}
    assert spec.zookeeper_connect == "127.0.0.1:2181"
    assert accept.accept.filters.HasField("refuse_seconds")


async def test_unused_offers_are_declined_with_a_filter_and_offers_suppressed() -> None:
    scheduler, _, _, journal = await subscribed(seed_brokers()[:1], decline_seconds=3600.0)
    await scheduler.on_event(offers_event(*THREE_OFFERS))
    declines = journal.calls(Call.DECLINE)
    declined = {o.value for d in declines for o in d.decline.offer_ids}
    assert len(declined) == 2
    assert all(d.decline.filters.refuse_seconds == 3600.0 for d in declines)
    assert journal.calls(Call.SUPPRESS), "nothing left to launch: offers suppressed"


async def test_no_work_suppresses_and_wake_revives() -> None:
    brokers = seed_brokers(active=False)[:2]
    scheduler, cluster, _, journal = await subscribed(brokers)
    assert journal.calls(Call.SUPPRESS)
    assert not journal.calls(Call.REVIVE)
    cluster.brokers[1000].active = True
    scheduler.wake()
    await scheduler.tick(force_revive=True)
    assert journal.calls(Call.REVIVE)


async def test_update_is_persisted_before_acknowledged_and_endpoint_recorded() -> None:
    scheduler, cluster, _, journal = await subscribed(seed_brokers()[:1])
    await scheduler.on_event(offers_event(THREE_OFFERS[0]))
    task = cluster.brokers[1000].task
    assert task is not None
    await scheduler.on_event(update_event(task.task_id, "TASK_RUNNING", data=b"a1:31000"))
    saved = journal.index(lambda e: e[0] == "save" and e[1][0].task is not None
                          and e[1][0].task.state == TASK_RUNNING)
    acked = journal.index(lambda e: e[0] == "call" and e[1].type == Call.ACKNOWLEDGE)
    assert saved < acked
    running = cluster.brokers[1000].task
    assert running is not None and running.endpoint == "a1:31000" and running.state == TASK_RUNNING


async def test_updates_without_uuid_are_not_acknowledged() -> None:
    scheduler, cluster, _, journal = await subscribed(seed_brokers()[:1])
    await scheduler.on_event(offers_event(THREE_OFFERS[0]))
    task = cluster.brokers[1000].task
    assert task is not None
    await scheduler.on_event(update_event(task.task_id, "TASK_RUNNING", with_uuid=False,
                                          reason="REASON_RECONCILIATION"))
    assert not journal.calls(Call.ACKNOWLEDGE)
    assert cluster.brokers[1000].task is not None


async def test_reconciliation_gates_launches_until_answered() -> None:
    scheduler, cluster, _, _ = make_scheduler(seed_brokers()[:1])
    await scheduler.on_subscribed("fw-1", None)
    await scheduler.on_event(offers_event(THREE_OFFERS[0]))
    task_id = cluster.brokers[1000].task.task_id  # type: ignore[union-attr]
    # the scheduler restarts: a new instance over the same store, and one more broker wants to run
    scheduler2, _, _, journal2 = make_scheduler([*cluster.brokers.values(), seed_brokers()[1]])
    await scheduler2.on_subscribed("fw-1", None)
    explicit = [c for c in journal2.calls(Call.RECONCILE) if c.reconcile.tasks]
    assert {t.task_id.value for c in explicit for t in c.reconcile.tasks} >= {task_id}
    assert scheduler2.status()["reconciling"] >= 1
    await scheduler2.on_event(offers_event(THREE_OFFERS[1]))
    assert not journal2.calls(Call.ACCEPT), "no launch while reconciling"
    assert journal2.calls(Call.DECLINE)
    for b in scheduler2.cluster.snapshot().values():
        if b.task is not None:
            await scheduler2.on_event(update_event(b.task.task_id, "TASK_RUNNING", with_uuid=False,
                                                   reason="REASON_RECONCILIATION"))
    assert scheduler2.status()["reconciling"] == 0
    await scheduler2.on_event(offers_event(THREE_OFFERS[2]))
    assert journal2.calls(Call.ACCEPT)


async def test_reconciliation_gives_up_and_relaunches() -> None:
    scheduler, cluster, _, _ = make_scheduler(seed_brokers()[:1])
    await scheduler.on_subscribed("fw-1", None)
    await scheduler.on_event(offers_event(THREE_OFFERS[0]))
    stale = list(cluster.brokers.values())
    scheduler2, cluster2, _, journal2 = make_scheduler(stale, reconciliation_timeout=0.0,
                                                       reconciliation_attempts=2)
    await scheduler2.on_subscribed("fw-1", None)
    for _ in range(3):
        await scheduler2.tick()
    assert scheduler2.status()["reconciling"] == 0
    assert cluster2.brokers[1000].task is None, "an unanswered task is declared lost"
    assert journal2.calls(Call.KILL), "and killed in case it still runs"


async def test_unknown_task_is_killed_and_acknowledged() -> None:
    scheduler, _, _, journal = await subscribed(seed_brokers()[:1])
    await scheduler.on_event(update_event("kafka-7-00000000-0000-4000-8000-000000000000", "TASK_RUNNING"))
    assert [k.kill.task_id.value for k in journal.calls(Call.KILL)] == [
        "kafka-7-00000000-0000-4000-8000-000000000000"]
    assert journal.calls(Call.ACKNOWLEDGE)


async def test_stop_kills_then_killed_update_clears_task() -> None:
    scheduler, cluster, _, journal = await subscribed(seed_brokers()[:1])
    await scheduler.on_event(offers_event(THREE_OFFERS[0]))
    task = cluster.brokers[1000].task
    assert task is not None
    await scheduler.on_event(update_event(task.task_id, "TASK_RUNNING", data=b"a1:31000"))
    cluster.brokers[1000].active = False
    await scheduler.tick()
    stopping = cluster.brokers[1000].task
    assert stopping is not None and stopping.stopping
    saved = journal.index(lambda e: e[0] == "save" and e[1][0].task is not None and e[1][0].task.stopping)
    killed = journal.index(lambda e: e[0] == "call" and e[1].type == Call.KILL)
    assert saved < killed
    await scheduler.on_event(update_event(task.task_id, "TASK_KILLED"))
    broker = cluster.brokers[1000]
    assert broker.task is None and broker.failover.failures == 0
    assert journal.calls(Call.ACKNOWLEDGE)[-1].acknowledge.task_id.value == task.task_id


async def test_failed_task_counts_a_failure() -> None:
    scheduler, cluster, _, _ = await subscribed(seed_brokers()[:1])
    await scheduler.on_event(offers_event(THREE_OFFERS[0]))
    task = cluster.brokers[1000].task
    assert task is not None
    await scheduler.on_event(update_event(task.task_id, "TASK_FAILED", message="exit 1"))
    broker = cluster.brokers[1000]
    assert broker.task is None and broker.failover.failures == 1 and broker.active


async def test_placement_failure_reason_is_recorded() -> None:
    big = [Broker(id=1, cpus=0.1, mem=100_000, heap=128, active=True)]
    scheduler, cluster, _, journal = await subscribed(big)
    await scheduler.on_event(offers_event(*THREE_OFFERS))
    reason = cluster.brokers[1].placement_reason
    assert reason is not None and "mem" in reason
    assert not journal.calls(Call.ACCEPT)


async def test_failed_accept_undoes_the_task_records() -> None:
    scheduler, cluster, caller, _ = await subscribed(seed_brokers()[:1])
    caller.fail_next = ConnectionError("master went away")
    await scheduler.on_event(offers_event(THREE_OFFERS[0]))
    assert cluster.brokers[1000].task is None
    assert "launch failed" in (cluster.brokers[1000].placement_reason or "")


async def test_broker_log_round_trip() -> None:
    scheduler, cluster, _, journal = await subscribed(seed_brokers()[:1])
    await scheduler.on_event(offers_event(THREE_OFFERS[0]))
    task = cluster.brokers[1000].task
    assert task is not None
    await scheduler.on_event(update_event(task.task_id, "TASK_RUNNING", data=b"a1:31000"))
    pending = asyncio.ensure_future(scheduler.broker_log(1000, "server.log", 5, timeout=5))
    for _ in range(100):
        if journal.calls(Call.MESSAGE):
            break
        await asyncio.sleep(0)
    (request,) = journal.calls(Call.MESSAGE)
    body = json.loads(request.message.data)
    assert (body["name"], body["lines"]) == ("server.log", 5)
    assert request.message.executor_id.value == task.executor_id
    reply = json.dumps({"type": "log", "request_id": body["request_id"], "content": "line1\nline2"}).encode()
    await scheduler.on_event(Event(type=Event.MESSAGE, message=Event.Message(data=reply)))
    assert await pending == "line1\nline2"


async def test_force_stop_kills_with_a_zero_grace_period() -> None:
    scheduler, cluster, _, journal = await subscribed(seed_brokers()[:1])
    await scheduler.on_event(offers_event(THREE_OFFERS[0]))
    task = cluster.brokers[1000].task
    assert task is not None
    scheduler.force_stop([1000])
    for _ in range(100):
        if journal.calls(Call.KILL):
            break
        await asyncio.sleep(0)
    await scheduler.stop()
    (kill,) = journal.calls(Call.KILL)
    assert kill.kill.task_id.value == task.task_id
    assert kill.kill.kill_policy.grace_period.nanoseconds == 0
    assert kill.kill.HasField("kill_policy"), "the executor kills Kafka at once"
    assert not journal.calls(Call.SHUTDOWN), "the executor reports TASK_KILLED itself"


async def test_broker_whose_failover_delay_ends_gets_a_revive() -> None:
    now = [1000.0]
    scheduler, cluster, _, journal = make_scheduler(seed_brokers()[:1])
    scheduler.clock = lambda: now[0]
    await scheduler.on_subscribed("fw-1", None)
    await scheduler.on_event(offers_event(THREE_OFFERS[0]))
    task = cluster.brokers[1000].task
    assert task is not None
    await scheduler.on_event(update_event(task.task_id, "TASK_FAILED", message="crashed"))
    revives = len(journal.calls(Call.REVIVE))
    await scheduler.tick()
    assert len(journal.calls(Call.REVIVE)) == revives, "still inside the failover delay"
    now[0] += cluster.brokers[1000].failover.delay + 1
    await scheduler.tick()
    assert len(journal.calls(Call.REVIVE)) == revives + 1, "eligible again: filters cleared"


async def test_without_distribution_offers_are_declined_and_the_reason_recorded() -> None:
    reason = "no Kafka distribution: give --kafka-dist"
    scheduler, cluster, _, journal = await subscribed(seed_brokers()[:1], cannot_launch=reason)
    await scheduler.on_event(offers_event(THREE_OFFERS[0]))
    assert not journal.calls(Call.ACCEPT)
    assert journal.calls(Call.DECLINE)
    assert cluster.brokers[1000].placement_reason == "no Kafka distribution: give --kafka-dist"


async def test_subscribe_with_known_framework_id_keeps_it() -> None:
    scheduler, cluster, _, journal = make_scheduler(seed_brokers()[:1])
    cluster._framework_id = "fw-old"
    await scheduler.on_subscribed("fw-old", None)
    assert ("framework_id", "fw-old") not in journal.entries, "unchanged id: nothing to write"
    assert scheduler.status()["frameworkId"] == "fw-old"
    await scheduler.on_framework_removed()
    assert cluster.framework_id is None


async def test_batched_updates_share_one_write_and_are_acknowledged_after_it() -> None:
    scheduler, cluster, _, journal = await subscribed(seed_brokers()[:3], batch_updates=True)
    await scheduler.on_event(offers_event(THREE_OFFERS[0]))
    tasks = {i: cluster.brokers[i].task for i in (1000, 1001, 1002)}
    assert all(tasks.values())
    saves_before = journal.kinds().count("save")
    for i, task in tasks.items():
        assert task is not None
        await scheduler.on_event(update_event(task.task_id, "TASK_STARTING"))
        await scheduler.on_event(update_event(task.task_id, "TASK_RUNNING", data=f"a1:{i}".encode()))
    await scheduler.flush()
    saves = [i for i, (kind, _) in enumerate(journal.entries) if kind == "save"][saves_before:]
    acks = [i for i, (kind, c) in enumerate(journal.entries) if kind == "call" and c.type == Call.ACKNOWLEDGE]
    assert len(acks) == 6
    assert len(saves) < 6, "updates received while one was being written share a write"
    for ack in acks:
        acked = journal.entries[ack][1].acknowledge.task_id.value
        persisted = [i for i in saves
                     if any(b.task and b.task.task_id == acked for b in journal.entries[i][1])]
        assert persisted and persisted[0] < ack, "persisted before acknowledged"
    for i in tasks:
        running = cluster.brokers[i].task
        assert running is not None and running.state == TASK_RUNNING and running.endpoint == f"a1:{i}"
    await scheduler.stop()


async def test_batched_update_that_cannot_be_persisted_is_not_acknowledged() -> None:
    scheduler, cluster, _, journal = await subscribed(seed_brokers()[:1], batch_updates=True)
    await scheduler.on_event(offers_event(THREE_OFFERS[0]))
    task = cluster.brokers[1000].task
    assert task is not None

    async def broken(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    cluster.mutate = broken  # type: ignore[method-assign,assignment]
    await scheduler.on_event(update_event(task.task_id, "TASK_RUNNING"))
    await scheduler.flush()
    assert not journal.calls(Call.ACKNOWLEDGE), "Mesos will send it again"
    await scheduler.stop()
