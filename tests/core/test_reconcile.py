from kafka_mesos.core.model import TASK_RUNNING, Broker, Task
from kafka_mesos.core.reconcile import (
    ReconcilePolicy,
    TaskRef,
    answered,
    begin,
    classify_task,
    give_up,
    mark_reconciling,
    periodic_due,
    tick,
)

POLICY = ReconcilePolicy(first_delay=2, max_delay=10, max_attempts=4, interval=300)


def with_task(broker_id: int) -> Broker:
    task = Task(f"kafka-{broker_id}-u", f"ag{broker_id}", "e", "h", state=TASK_RUNNING, running_since=0.0)
    return Broker(id=broker_id, active=True, task=task)


BROKERS = [with_task(0), with_task(1), Broker(id=2)]


def test_begin_asks_implicitly_and_explicitly_and_gates() -> None:
    state, request = begin(BROKERS, 100.0, POLICY)
    assert request.implicit
    assert set(request.explicit) == {TaskRef("kafka-0-u", "ag0"), TaskRef("kafka-1-u", "ag1")}
    assert not state.gate_open and state.outstanding == 2 and state.next_round_at == 102.0


def test_answers_open_the_gate() -> None:
    state, _ = begin(BROKERS, 100.0, POLICY)
    state = answered(state, "kafka-0-u")
    state = answered(state, "unrelated")
    assert not state.gate_open
    state = answered(state, "kafka-1-u")
    assert state.gate_open and state.finished


def test_nothing_to_reconcile_is_open_at_once() -> None:
    state, request = begin([Broker(id=0)], 0.0, POLICY)
    assert state.gate_open and request.implicit and request.explicit == ()


def test_backoff_then_give_up_after_bounded_attempts() -> None:
    state, _ = begin(BROKERS, 0.0, POLICY)
    state = answered(state, "kafka-0-u")
    now, rounds = 0.0, []
    state, request = tick(state, 1.0, POLICY)
    assert request.explicit == ()  # backoff not passed yet
    while not state.finished:
        assert state.next_round_at is not None
        now = state.next_round_at
        state, request = tick(state, now, POLICY)
        if request.explicit:
            rounds.append(now)
    assert rounds == [2.0, 6.0, 14.0]  # waits 2, 4, 8 after rounds 1, 2, 3; then gives up
    assert state.given_up == (TaskRef("kafka-1-u", "ag1"),) and state.gate_open


def test_give_up_declares_lost_and_kills() -> None:
    broker, actions = give_up(BROKERS[1], TaskRef("kafka-1-u", "ag1"), 50.0, 4)
    assert broker.task is None and broker.active and broker.failover.failures == 1
    assert [a.task_id for a in actions] == ["kafka-1-u"]


def test_periodic_rounds_do_not_gate() -> None:
    state, request = begin(BROKERS, 0.0, POLICY, gating=False, implicit=False)
    assert state.gate_open and not request.implicit and len(request.explicit) == 2
    assert periodic_due(None, 0.0, POLICY) and periodic_due(0.0, 300.0, POLICY)
    assert not periodic_due(0.0, 299.0, POLICY)


def test_mark_and_classify() -> None:
    marked = mark_reconciling(BROKERS[0])
    assert marked.task is not None and marked.task.phase() == "reconciling"
    assert mark_reconciling(BROKERS[2]) is BROKERS[2]
    by_id = {b.id: b for b in BROKERS}
    assert classify_task("kafka-0-u", by_id, 0) == "current"
    assert classify_task("kafka-0-old", by_id, 0) == "stale"
    assert classify_task("kafka-2-x", by_id, 2) == "stale"
    assert classify_task("kafka-9-x", by_id, 9) == "unknown"
    assert classify_task("zzz", by_id, None) == "unknown"
