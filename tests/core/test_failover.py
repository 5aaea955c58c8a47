from dataclasses import replace

from kafka_mesos.core.failover import (
    FAILURE_LIMIT_REASON,
    launch_allowed_at,
    record_failure,
    record_stop,
    settle,
    stickiness_window,
)
from kafka_mesos.core.model import TASK_RUNNING, Broker, Failover, Stickiness, Task


def running(broker: Broker, since: float = 0.0) -> Broker:
    task = Task("t", "ag", "e", "h1", port=31001, state=TASK_RUNNING, running_since=since)
    return replace(broker, task=task)


def test_failover_schedule_doubles_up_to_max() -> None:
    broker = Broker(id=0, active=True, failover=Failover(delay=10, max_delay=60))
    waits = []
    now = 1000.0
    for _ in range(6):
        broker = record_failure(running(broker, since=now - 1), now, "TASK_FAILED")
        next_attempt = launch_allowed_at(broker)
        assert next_attempt is not None
        waits.append(next_attempt - now)
        now = next_attempt
    assert waits == [10, 20, 40, 60, 60, 60]
    assert broker.active and broker.task is None and broker.failover.failures == 6


def test_max_tries_deactivates_with_reason() -> None:
    broker = Broker(id=0, active=True, failover=Failover(delay=1, max_tries=2))
    broker = record_failure(running(broker), 10.0, "TASK_FAILED: exit 1", stable_after=1e9)
    assert broker.active
    broker = record_failure(running(broker), 20.0, "TASK_FAILED: exit 1", stable_after=1e9)
    assert not broker.active
    assert broker.events[-1].kind == "deactivated" and FAILURE_LIMIT_REASON in broker.events[-1].message
    assert broker.failover.reason == "TASK_FAILED: exit 1"


def test_running_long_enough_starts_a_new_series() -> None:
    broker = Broker(id=0, active=True, failover=Failover(delay=10, failures=3, failure_time=0))
    broker = record_failure(running(broker, since=100.0), 1000.0, "TASK_LOST", stable_after=60)
    assert broker.failover.failures == 1 and launch_allowed_at(broker) == 1010.0
    crash_loop = Broker(id=0, active=True, failover=Failover(delay=10, failures=3, failure_time=0))
    crash_loop = record_failure(running(crash_loop, since=995.0), 1000.0, "TASK_FAILED", stable_after=60)
    assert crash_loop.failover.failures == 4


def test_settle_resets_counter_of_steady_broker() -> None:
    broker = running(Broker(id=0, active=True, failover=Failover(failures=2, failure_time=0)), since=100)
    assert settle(broker, 120.0, stable_after=60).failover.failures == 2
    assert settle(broker, 160.0, stable_after=60).failover.failures == 0


def test_stickiness_records_host_port_and_first_failure_time() -> None:
    broker = Broker(id=0, active=True, stickiness=Stickiness(period=600))
    broker = record_failure(running(broker), 100.0, "x", stable_after=1e9)
    sticky = broker.stickiness
    assert (sticky.hostname, sticky.port, sticky.stop_time) == ("h1", 31001, 100)
    broker = record_failure(running(broker), 200.0, "x", stable_after=1e9)
    assert broker.stickiness.stop_time == 100  # a series keeps its first stop time (mesos/kafka #130)
    assert stickiness_window(broker, 650.0) == ("h1", 700.0)
    assert stickiness_window(broker, 700.0) is None


def test_clean_stop_records_stop_time() -> None:
    broker = record_stop(running(Broker(id=0)), 50.0)
    assert broker.task is None and broker.stickiness.stop_time == 50 and broker.last_task_id == "t"
    assert broker.failover.failures == 0


def test_task_that_never_ran_does_not_move_stickiness() -> None:
    broker = Broker(id=0, active=True, stickiness=Stickiness(hostname="h0", port=31000, stop_time=0))
    never_ran = replace(broker, task=Task("t", "ag", "e", "bad-host", port=31009))
    failed = record_failure(never_ran, 5000.0, "TASK_FAILED: fetch failed")
    assert (failed.stickiness.hostname, failed.stickiness.port) == ("h0", 31000)
    assert failed.stickiness.stop_time == 5000.0
