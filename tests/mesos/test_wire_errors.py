from __future__ import annotations

import pytest

from kafka_mesos.mesos import errors
from kafka_mesos.mesos.pb import scheduler_pb2


@pytest.mark.parametrize(
    ("status", "cls", "retryable"),
    [
        (400, errors.BadRequest, False),
        (401, errors.Unauthorized, False),
        (403, errors.Forbidden, False),
        (404, errors.NotFound, True),
        (405, errors.MethodNotAllowed, False),
        (406, errors.NotAcceptable, False),
        (409, errors.Conflict, False),
        (415, errors.UnsupportedMediaType, False),
        (429, errors.TooManyRequests, True),
        (501, errors.NotImplementedCall, False),
        (503, errors.ServiceUnavailable, True),
        (502, errors.UnexpectedStatus, True),
        (418, errors.UnexpectedStatus, False),
    ],
)
def test_status_table(status: int, cls: type[errors.MesosHTTPError], retryable: bool) -> None:
    err = errors.error_for_status(status, "body text")
    assert type(err) is cls and err.http_status == status and err.retryable is retryable
    assert "body text" in str(err)


def test_redirect_keeps_location() -> None:
    err = errors.error_for_status(307, "", "//m2.example:5050/api/v1/scheduler")
    assert isinstance(err, errors.NotLeader) and err.location == "//m2.example:5050/api/v1/scheduler"
    assert err.retryable


def test_bad_request_and_forbidden_details() -> None:
    stale = errors.error_for_status(
        400, "All non-subscribe calls should include the 'Mesos-Stream-Id' header"
    )
    assert isinstance(stale, errors.BadRequest) and stale.stale_stream
    assert not errors.BadRequest(body="Framework cannot be found").stale_stream
    forbidden = errors.error_for_status(403, "Framework is not subscribed")
    assert isinstance(forbidden, errors.Forbidden) and forbidden.not_subscribed


def test_error_events() -> None:
    assert type(errors.error_for_event("Framework failed over")) is errors.FrameworkFailedOver
    removed = errors.error_for_event("Framework has been removed")
    assert type(removed) is errors.FrameworkRemoved and removed.retryable
    other = errors.error_for_event("Role 'x' is not present in the master's --roles")
    assert type(other) is errors.SubscriptionError and not other.retryable


def test_failure_event() -> None:
    failure = scheduler_pb2.Event.Failure(status=256)
    failure.agent_id.value = "S0"
    failure.executor_id.value = "e"
    described = errors.failure_event(failure)
    assert (described.agent_id, described.executor_id, described.status, described.agent_lost) == (
        "S0",
        "e",
        256,
        False,
    )
    lost = scheduler_pb2.Event.Failure()
    lost.agent_id.value = "S1"
    assert errors.failure_event(lost).agent_lost
