"""Failover timelines with time as a parameter: a launch that never reached Mesos, the doubling schedule
as a property, and the stickiness window's edges."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from kafka_mesos.core.failover import record_failure, record_stop, stickiness_window
from kafka_mesos.core.lifecycle import REASON_RECONCILIATION, on_status
from kafka_mesos.core.model import TASK_LOST, TASK_RUNNING, TASK_STAGING, Broker, Failover, Stickiness, Task


def staged(state: str = TASK_STAGING, running_since: float | None = None) -> Broker:
    task = Task(task_id="kafka-1-a", agent_id="S1", executor_id="kafka-1-a", hostname="h1", port=31000,
                state=state, running_since=running_since)
    return Broker(id=1, active=True, task=task, failover=Failover(delay=60.0, max_tries=2))


def test_a_launch_mesos_never_heard_of_is_retried_at_once_without_a_failure() -> None:
    broker, actions = on_status(staged(), "kafka-1-a", TASK_LOST, REASON_RECONCILIATION,
                                "Reconciliation: Task is unknown", None, 100.0)
    assert actions == [] and broker.task is None and broker.active
    assert broker.failover.failures == 0 and broker.failover.next_attempt() is None
    assert broker.stickiness.hostname is None, "it never ran there"
    assert broker.events[-1].kind == "launch-lost"


def test_a_task_that_ran_and_is_lost_in_reconciliation_is_a_failure() -> None:
    broker, _ = on_status(staged(TASK_RUNNING, running_since=50.0), "kafka-1-a", TASK_LOST,
                          REASON_RECONCILIATION, "Reconciliation: Task is unknown", None, 100.0)
    assert broker.failover.failures == 1 and broker.failover.next_attempt() == 160.0


def test_a_staging_task_lost_outside_reconciliation_is_a_failure() -> None:
    broker, _ = on_status(staged(), "kafka-1-a", TASK_LOST, "REASON_AGENT_REMOVED", None, None, 100.0)
    assert broker.failover.failures == 1


@given(delay=st.floats(0.1, 600), max_delay=st.floats(0.1, 7200), failures=st.integers(1, 200),
       at=st.floats(0, 1e9))
def test_failover_schedule_doubles_and_is_capped(
        delay: float, max_delay: float, failures: int, at: float) -> None:
    failover = Failover(delay=delay, max_delay=max_delay, failures=failures, failure_time=at)
    wait = failover.backoff()
    assert wait == min(delay * 2 ** min(failures - 1, 64), max_delay)
    assert failover.next_attempt() == at + wait
    if failures > 1:
        previous = replace(failover, failures=failures - 1).backoff()
        assert previous <= wait <= max(previous * 2, previous)


@given(period=st.floats(0.001, 1e6), stopped=st.floats(0, 1e9), offset=st.floats(-1e6, 1e6))
def test_stickiness_window_is_half_open(period: float, stopped: float, offset: float) -> None:
    broker = Broker(id=1, stickiness=Stickiness(period=period, hostname="h1", stop_time=stopped))
    now = stopped + period + offset
    window = stickiness_window(broker, now)
    if now < stopped + period:
        assert window == ("h1", stopped + period)
    else:
        assert window is None


def test_failures_keep_the_first_stop_time_stop_restarts_it() -> None:
    running = staged(TASK_RUNNING, running_since=10.0)
    first = record_failure(running, 20.0, "TASK_FAILED")
    relaunched = replace(first, task=replace(running.task, task_id="kafka-1-b", running_since=25.0))  # type: ignore[arg-type]
    second = record_failure(relaunched, 30.0, "TASK_FAILED")
    assert second.stickiness.stop_time == 20.0, "the window runs from the first failure of the series"
    stopped = record_stop(replace(second, task=relaunched.task), 40.0)
    assert stopped.stickiness.stop_time == 40.0
