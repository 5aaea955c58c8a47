"""The scheduler's failover wiring against the fake session/store: counters reset after a steady run,
crash points exit at the configured arrival, the recent events record what happened."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kafka_mesos.core.model import Broker, Failover, Stickiness, Task
from kafka_mesos.scheduler.crash import AFTER_PERSIST_BEFORE_ACCEPT, CRASH_ENV, CrashPoints
from kafka_mesos.scheduler.scheduler import Scheduler, SchedulerConfig
from tests.scheduler.fakes import (
    Call,
    FakeCaller,
    FakeCluster,
    Journal,
    launch_context,
    offer,
    offers_event,
    update_event,
)

TASK_ID = "kafka-1-0f5e8c86-4a54-4b8e-9d3e-5f1b2a7c9d10"


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def running_broker(stable_after: float = 30.0) -> tuple[Scheduler, FakeCluster, Clock]:
    journal = Journal()
    broker = Broker(id=1, cpus=0.1, mem=256, heap=128, active=True,
                    failover=Failover(delay=5.0, max_delay=60.0, max_tries=3))
    cluster = FakeCluster(journal, [broker])
    clock = Clock()
    config = SchedulerConfig(launch=launch_context(), revive_interval=0.0, batch_updates=False,
                             stable_after=stable_after)
    scheduler = Scheduler(cluster, config, clock=clock)
    scheduler.attach(FakeCaller(journal))
    await scheduler.on_subscribed("fw-1", None)
    await launch_and_run(scheduler, cluster, "O1")
    return scheduler, cluster, clock


async def launch_and_run(scheduler: Scheduler, cluster: FakeCluster, offer_id: str) -> str:
    await scheduler.on_event(offers_event(offer(offer_id, "S1", "h1")))
    task = cluster.brokers[1].task
    assert task is not None, cluster.brokers[1].placement_reason
    await scheduler.on_event(update_event(task.task_id, "TASK_RUNNING", data=b"h1:31000"))
    return task.task_id


async def test_a_steady_run_resets_the_failure_counter() -> None:
    scheduler, cluster, clock = await running_broker(stable_after=30.0)
    task_id = cluster.brokers[1].task.task_id  # type: ignore[union-attr]
    await scheduler.on_event(update_event(task_id, "TASK_FAILED", message="exit 1"))
    assert cluster.brokers[1].failover.failures == 1
    clock.now += 5.0  # the failover delay
    await launch_and_run(scheduler, cluster, "O2")
    clock.now += 10.0
    await scheduler.tick()
    assert cluster.brokers[1].failover.failures == 1, "not yet running long enough"
    clock.now += 25.0
    await scheduler.tick()
    broker = cluster.brokers[1]
    assert broker.failover.failures == 0 and broker.failover.reason is None
    assert broker.events[-1].kind == "failures-reset"
    await scheduler.stop()


async def test_a_crash_loop_reaches_max_tries_and_deactivates() -> None:
    scheduler, cluster, clock = await running_broker(stable_after=30.0)
    for attempt in range(1, 4):
        task_id = cluster.brokers[1].task.task_id  # type: ignore[union-attr]
        clock.now += 1.0  # dies a second after RUNNING: no reset
        await scheduler.on_event(update_event(task_id, "TASK_FAILED", message=f"exit {attempt}"))
        await scheduler.tick()
        broker = cluster.brokers[1]
        assert broker.failover.failures == attempt
        if attempt < 3:
            assert broker.active and broker.failover.next_attempt() == clock.now + 5.0 * 2 ** (attempt - 1)
            clock.now += 5.0 * 2 ** (attempt - 1)
            await launch_and_run(scheduler, cluster, f"O{attempt + 1}")
    broker = cluster.brokers[1]
    assert not broker.active, "deactivated after max tries"
    assert broker.failover.reason == "TASK_FAILED: exit 3"
    assert [e.kind for e in broker.events][-2:] == ["failed", "deactivated"]
    await scheduler.stop()


def test_crash_points_parse_and_reject_bad_specs() -> None:
    assert CrashPoints.from_environment({}).point is None
    points = CrashPoints.from_environment({CRASH_ENV: f"{AFTER_PERSIST_BEFORE_ACCEPT}:3"})
    assert (points.point, points.at) == (AFTER_PERSIST_BEFORE_ACCEPT, 3)
    points.reached(AFTER_PERSIST_BEFORE_ACCEPT)
    points.reached("other-point")
    assert points.arrivals == 1
    with pytest.raises(ValueError, match="unknown crash point"):
        CrashPoints.from_environment({CRASH_ENV: "nowhere:1"})
    with pytest.raises(ValueError, match="expected"):
        CrashPoints.from_environment({CRASH_ENV: f"{AFTER_PERSIST_BEFORE_ACCEPT}:x"})


def test_a_crash_point_exits_like_sigkill_at_the_configured_arrival() -> None:
    program = (
        "from kafka_mesos.scheduler.crash import CrashPoints\n"
        "p = CrashPoints.from_environment()\n"
        "for i in range(5):\n"
        "    print(i, flush=True)\n"
        f"    p.reached({AFTER_PERSIST_BEFORE_ACCEPT!r})\n"
    )
    env = {CRASH_ENV: f"{AFTER_PERSIST_BEFORE_ACCEPT}:2", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=env,
                            timeout=60, cwd=str(Path(__file__).resolve().parents[2]))
    assert result.returncode == 137
    assert result.stdout.split() == ["0", "1"]


async def test_the_end_of_stickiness_revives_offers() -> None:
    journal = Journal()
    pinned = Broker(id=1, cpus=0.1, mem=256, heap=128, active=True,
                    stickiness=Stickiness(period=10.0, hostname="h1", port=31000, stop_time=1000.0))
    cluster = FakeCluster(journal, [pinned])
    clock = Clock(1001.0)
    config = SchedulerConfig(launch=launch_context(), revive_interval=0.0, batch_updates=False)
    scheduler = Scheduler(cluster, config, clock=clock)
    scheduler.attach(FakeCaller(journal))
    await scheduler.on_subscribed("fw-1", None)
    await scheduler.on_event(offers_event(offer("O1", "S2", "h2")))
    assert cluster.brokers[1].task is None, "h2 is not the sticky host"
    revives = len(journal.calls(Call.REVIVE))
    await scheduler.tick()
    assert len(journal.calls(Call.REVIVE)) == revives, "nothing changed yet"
    clock.now = 1010.0
    await scheduler.tick()
    assert len(journal.calls(Call.REVIVE)) == revives + 1, "other hosts' offers are wanted again"
    await scheduler.on_event(offers_event(offer("O2", "S2", "h2")))
    task = cluster.brokers[1].task
    assert task is not None and task.hostname == "h2"
    await scheduler.stop()


async def test_reconciliation_declines_briefly_shows_the_count_and_repeats_periodically() -> None:
    journal = Journal()
    task = Task(task_id=TASK_ID, agent_id="S1", executor_id=TASK_ID, hostname="h1", port=31000,
                state="TASK_RUNNING", running_since=900.0)
    cluster = FakeCluster(journal, [Broker(id=1, active=True, task=task), Broker(id=2, active=True)])
    clock = Clock()
    config = SchedulerConfig(launch=launch_context(), revive_interval=0.0, batch_updates=False,
                             reconcile_interval=300.0, reconciling_refuse_seconds=2.0)
    scheduler = Scheduler(cluster, config, clock=clock)
    scheduler.attach(FakeCaller(journal))
    await scheduler.on_subscribed("fw-1", None)
    assert scheduler.status()["reconciling"] == 1
    assert cluster.brokers[1].task.reconciling  # type: ignore[union-attr]
    reconciles = journal.calls(Call.RECONCILE)
    assert [len(c.reconcile.tasks) for c in reconciles] == [0, 1], "implicit, then explicit"

    await scheduler.on_event(offers_event(offer("O1", "S1", "h1")))
    (decline,) = journal.calls(Call.DECLINE)
    assert decline.decline.filters.refuse_seconds == 2.0 and cluster.brokers[2].task is None, "no launch"

    await scheduler.on_event(update_event(TASK_ID, "TASK_RUNNING", with_uuid=False,
                                          reason="REASON_RECONCILIATION"))
    assert scheduler.status()["reconciling"] == 0
    assert cluster.brokers[1].events[-1].kind == "reconciled"
    await scheduler.on_event(offers_event(offer("O2", "S1", "h1")))
    assert cluster.brokers[2].task is not None, "the gate is open"

    clock.now += 301.0
    await scheduler.tick()
    explicit = [c for c in journal.calls(Call.RECONCILE) if len(c.reconcile.tasks) > 0]
    assert len(explicit) == 2, "a periodic explicit reconciliation"
    await scheduler.on_event(offers_event(offer("O3", "S2", "h2")))
    await scheduler.stop()
