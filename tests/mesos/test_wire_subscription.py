"""The subscription state machine, without sockets."""

from __future__ import annotations

import random

import pytest

from kafka_mesos.mesos import errors
from kafka_mesos.mesos.subscription import (
    MAX_IMMEDIATE_REDIRECTS,
    Backoff,
    Reconnect,
    State,
    Stop,
    Subscription,
)


def connected(sub: Subscription, fid: str = "F") -> Subscription:
    sub.connecting()
    sub.subscribed("stream-1", fid, 15.0)
    return sub


def test_backoff_grows_exponentially_with_jitter_and_is_capped() -> None:
    backoff = Backoff(initial=1.0, maximum=15.0)
    rng = random.Random(7)
    for attempt, ceiling in enumerate([1, 2, 4, 8, 15, 15, 15]):
        assert backoff.ceiling(attempt) == ceiling
        delays = {backoff.delay(attempt, rng) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1  # jittered
    assert backoff.ceiling(10_000) == 15.0


def test_invalid_backoff() -> None:
    with pytest.raises(ValueError):
        Backoff(initial=2, maximum=1)


def test_lifecycle_and_stream_id() -> None:
    sub = Subscription()
    assert sub.state is State.IDLE and not sub.connected
    sub.connecting()
    assert sub.state is State.CONNECTING and sub.stream_id is None
    sub.subscribed("s1", "F", 10.0)
    assert sub.connected and sub.stream_id == "s1" and sub.framework_id == "F"
    assert sub.read_timeout() == 50.0


def test_heartbeat_interval_defaults_when_absent() -> None:
    sub = Subscription(missed_heartbeats=4)
    sub.connecting()
    assert sub.read_timeout() == 60.0  # before SUBSCRIBED: 15 s default
    sub.subscribed("s", "F", None)
    assert sub.read_timeout() == 60.0


@pytest.mark.parametrize(
    "error",
    [
        errors.MesosConnectionError("refused"),
        errors.HeartbeatTimeout("silent"),
        errors.StreamClosed("eof"),
        errors.ServiceUnavailable(),
        errors.NotFound(),
        errors.TooManyRequests(),
        errors.ProtocolError("garbage"),
    ],
)
def test_retryable_failures_back_off_and_keep_the_framework_id(error: errors.MesosError) -> None:
    sub = connected(Subscription(backoff=Backoff(initial=1.0, maximum=8.0), rng=random.Random(1)))
    ceilings = []
    for _ in range(5):
        action = sub.failed(error)
        assert isinstance(action, Reconnect) and action.reason is error
        ceilings.append(action.delay)
        assert sub.state is State.BACKING_OFF and sub.stream_id is None and sub.framework_id == "F"
        sub.connecting()
    assert ceilings[0] <= 1.0 and ceilings[-1] >= 4.0
    sub.subscribed("s2", "F", 15.0)
    assert sub.failed_attempts == 0
    action = sub.failed(error)
    assert isinstance(action, Reconnect) and action.delay <= 1.0


@pytest.mark.parametrize(
    "error",
    [
        errors.BadRequest(),
        errors.Unauthorized(),
        errors.Forbidden(),
        errors.UnsupportedMediaType(),
        errors.NotAcceptable(),
        errors.SubscriptionError("role not allowed"),
    ],
)
def test_final_failures_stop(error: errors.MesosError) -> None:
    sub = connected(Subscription())
    assert sub.failed(error) == Stop(error)
    assert sub.state is State.STOPPED
    with pytest.raises(RuntimeError):
        sub.connecting()


def test_failed_over_stops_keeping_id_and_removed_clears_it() -> None:
    sub = connected(Subscription())
    failed_over = errors.error_for_event("Framework failed over")
    assert sub.failed(failed_over) == Stop(failed_over) and sub.framework_id == "F"
    sub = connected(Subscription())
    removed = errors.error_for_event("Framework has been removed")
    assert sub.failed(removed) == Stop(removed) and sub.framework_id is None


def test_redirects_are_followed_at_once_then_backed_off() -> None:
    sub = Subscription(backoff=Backoff(initial=1.0, maximum=1.0))
    for _ in range(MAX_IMMEDIATE_REDIRECTS):
        sub.connecting()
        action = sub.failed(errors.NotLeader("//m2:5050/api/v1/scheduler"))
        assert isinstance(action, Reconnect) and action.delay == 0
    sub.connecting()
    action = sub.failed(errors.NotLeader("//m2:5050/api/v1/scheduler"))
    assert isinstance(action, Reconnect) and action.delay > 0


def test_leader_change_reconnects_at_once() -> None:
    sub = connected(Subscription())
    action = sub.failed(errors.LeaderChanged("m2"))
    assert isinstance(action, Reconnect) and action.delay == 0


def test_stop_and_teardown_end_everything() -> None:
    sub = connected(Subscription())
    sub.teardown_sent()
    assert sub.failed(errors.StreamClosed("eof")) == Stop(None)
    sub = connected(Subscription())
    assert sub.stop() == Stop(None)
    assert sub.failed(errors.ServiceUnavailable()) == Stop(None)
