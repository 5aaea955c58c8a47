from dataclasses import replace

from kafka_mesos.core.lifecycle import (
    KillTask,
    broker_id_of_task,
    is_steady,
    on_launch,
    on_placement_failed,
    on_status,
    request_restart,
    request_start,
    request_stop,
    task_id_for,
    wants_offers,
)
from kafka_mesos.core.matching import LaunchDecision
from kafka_mesos.core.model import (
    TASK_FAILED,
    TASK_FINISHED,
    TASK_KILLED,
    TASK_LOST,
    TASK_RUNNING,
    TASK_STAGING,
    TASK_STARTING,
    Broker,
    Failover,
)

DECISION = LaunchDecision(broker_id=1, offer_id="o1", agent_id="ag1", hostname="h1",
                          attributes={"rack": "r1"}, cpus=1.0, mem=1024.0, port=31000, role="*",
                          task_resources=(), executor_resources=())


def launched(now: float = 100.0) -> Broker:
    broker = Broker(id=1, active=True, needs_restart=True, placement_reason="old")
    return on_launch(broker, DECISION, "kafka-1-abc", "kafka-1-abc", now)


def test_task_ids() -> None:
    assert task_id_for("kafka", 12, "u-u-id") == "kafka-12-u-u-id"
    assert broker_id_of_task("kafka-12-u-u-id", "kafka") == 12
    assert broker_id_of_task("kafka-prod-3-x", "kafka-prod") == 3
    assert broker_id_of_task("other-3-x", "kafka") is None
    assert broker_id_of_task("kafka-x-3", "kafka") is None


def test_launch_records_task() -> None:
    broker = launched()
    assert broker.task is not None and broker.task.state == TASK_STAGING
    assert (broker.task.hostname, broker.task.port, broker.task.attributes) == ("h1", 31000, {"rack": "r1"})
    assert not broker.needs_restart and broker.placement_reason is None
    assert broker.last_task_id == "kafka-1-abc" and broker.events[-1].kind == "launched"


def test_starting_then_running_with_endpoint() -> None:
    broker, actions = on_status(launched(), "kafka-1-abc", TASK_STARTING, None, None, None, 101.0)
    assert actions == [] and broker.task is not None and broker.task.phase() == "starting"
    broker, actions = on_status(broker, "kafka-1-abc", TASK_RUNNING, None, None, b"h1:31000", 102.0)
    assert actions == [] and broker.task is not None
    assert broker.task.endpoint == "h1:31000" and broker.task.running_since == 102.0
    assert broker.stickiness.hostname == "h1" and broker.stickiness.port == 31000
    assert is_steady(broker)


def test_unasked_terminal_is_failure() -> None:
    for state in (TASK_FAILED, TASK_LOST, TASK_FINISHED, TASK_KILLED, "TASK_GONE", "TASK_DROPPED",
                  "TASK_ERROR", "TASK_UNREACHABLE"):
        broker, actions = on_status(launched(), "kafka-1-abc", state, "REASON_X", "exit 1", None, 200.0)
        assert broker.task is None and broker.active, state
        assert broker.failover.failures == 1 and broker.failover.reason == f"{state} REASON_X: exit 1"
        assert actions == []


def test_asked_stop_is_clean() -> None:
    broker, actions = request_stop(launched(), 150.0)
    assert actions == [KillTask("kafka-1-abc", "ag1", "stop requested")]
    assert broker.task is not None and broker.task.phase() == "stopping"
    broker, actions = on_status(broker, "kafka-1-abc", TASK_KILLED, None, None, None, 151.0)
    assert broker.task is None and not broker.active and broker.failover.failures == 0
    assert broker.stickiness.stop_time == 151.0


def test_running_for_stopping_task_is_killed_again() -> None:
    broker, _ = request_stop(launched(), 150.0)
    _, actions = on_status(broker, "kafka-1-abc", TASK_RUNNING, None, None, None, 151.0)
    assert actions == [KillTask("kafka-1-abc", "ag1", "broker is stopping")]


def test_stale_task_ids() -> None:
    broker = launched()
    same, actions = on_status(broker, "kafka-1-old", TASK_FAILED, None, None, None, 150.0)
    assert same == broker and actions == []
    same, actions = on_status(broker, "kafka-1-old", TASK_RUNNING, None, None, None, 150.0, agent_id="ag9")
    assert same == broker and actions == [KillTask("kafka-1-old", "ag9", actions[0].reason)]


def test_reconciled_running_clears_flag() -> None:
    broker = launched()
    assert broker.task is not None
    task = replace(broker.task, reconciling=True, state=TASK_RUNNING, running_since=1.0)
    broker = replace(broker, task=task)
    assert broker.task is not None and broker.task.phase() == "reconciling"
    broker, _ = on_status(broker, "kafka-1-abc", TASK_RUNNING, "REASON_RECONCILIATION", None, None, 160.0)
    assert broker.task is not None and broker.task.phase() == "running" and broker.task.running_since == 1.0
    assert broker.events[-1].kind == "reconciled"


def test_inactive_broker_running_task_gets_killed() -> None:
    broker = replace(launched(), active=False)
    broker, actions = on_status(broker, "kafka-1-abc", TASK_RUNNING, None, None, None, 160.0)
    assert len(actions) == 1 and broker.task is not None and broker.task.stopping


def test_start_restart_wants_offers() -> None:
    stopped = Broker(id=2, failover=Failover(failures=3, failure_time=0))
    started = request_start(stopped, 10.0)
    assert started.active and started.failover.failures == 0
    assert wants_offers([started], 10.0) and not wants_offers([stopped], 10.0)
    broker, actions = request_restart(launched(), 200.0)
    assert broker.active and broker.task is not None and broker.task.stopping and len(actions) == 1
    broker, _ = on_status(broker, "kafka-1-abc", TASK_KILLED, None, None, None, 201.0)
    assert broker.active and broker.task is None and broker.failover.failures == 0
    assert wants_offers([broker], 201.0)


def test_placement_failed_only_changes_when_reason_changes() -> None:
    broker = Broker(id=0)
    first = on_placement_failed(broker, "no offers")
    assert first.placement_reason == "no offers"
    assert on_placement_failed(first, "no offers") is first


def test_inactive_broker_terminal_is_not_a_failure() -> None:
    broker = replace(launched(), active=False)
    broker, actions = on_status(broker, "kafka-1-abc", TASK_FAILED, None, "boom", None, 300.0)
    assert broker.task is None and broker.failover.failures == 0 and actions == []
