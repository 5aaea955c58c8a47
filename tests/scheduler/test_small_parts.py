"""Task ids and the SUPPRESS/REVIVE state machine."""

from __future__ import annotations

from kafka_mesos.scheduler.offer_interest import OfferCall, OfferInterest
from kafka_mesos.scheduler.taskids import broker_id_of, new_task_id


def test_task_id_round_trip() -> None:
    task_id = new_task_id("kafka", 1007)
    assert task_id.startswith("kafka-1007-")
    assert broker_id_of("kafka", task_id) == 1007
    assert broker_id_of("other", task_id) is None


def test_task_id_with_dashes_in_framework_name() -> None:
    task_id = new_task_id("my-kafka", 3)
    assert broker_id_of("my-kafka", task_id) == 3
    assert broker_id_of("my", task_id) is None


def test_foreign_task_ids_are_not_ours() -> None:
    zero = "00000000-0000-0000-0000-000000000000"
    for task_id in ("kafka-1", f"kafka-x-{zero}", "kafka-1-notauuid" + "x" * 30, ""):
        assert broker_id_of("kafka", task_id) is None


def test_suppress_when_idle_then_revive_when_work_appears() -> None:
    interest = OfferInterest(revive_interval=1.0)
    assert interest.decide(wants_offers=False, now=0.0) is OfferCall.SUPPRESS
    interest.done(OfferCall.SUPPRESS, 0.0)
    assert interest.decide(wants_offers=False, now=0.5) is None  # already suppressed: no second call
    assert interest.decide(wants_offers=True, now=1.0) is OfferCall.REVIVE
    interest.done(OfferCall.REVIVE, 1.0)
    assert interest.decide(wants_offers=True, now=1.1) is None  # offers flow: nothing to do


def test_revive_is_rate_limited_and_remembered() -> None:
    interest = OfferInterest(revive_interval=1.0)
    assert interest.decide(True, 0.0, force_revive=True) is OfferCall.REVIVE
    interest.done(OfferCall.REVIVE, 0.0)
    assert interest.decide(True, 0.3, force_revive=True) is None
    assert interest.revive_due_at() == 1.0
    assert interest.decide(True, 1.0) is OfferCall.REVIVE


def test_resubscribe_resets_suppression() -> None:
    interest = OfferInterest(revive_interval=1.0)
    interest.done(OfferCall.SUPPRESS, 0.0)
    interest.reset()
    assert interest.decide(wants_offers=False, now=0.0) is OfferCall.SUPPRESS
