"""One table of what can go wrong talking to Mesos, and whether retrying can help.

HTTP statuses of ``/api/v1/scheduler`` (and ``/api/v1/executor``) map to
:class:`MesosHTTPError` subclasses through :func:`error_for_status`; ERROR events map
through :func:`error_for_event`; FAILURE events are described by :class:`FailureEvent`.
``retryable`` means "the same request may succeed later, after a backoff" (possibly
after re-subscribing); a non-retryable error needs a different request or configuration.
"""

from __future__ import annotations

from typing import ClassVar

from .pb import scheduler_pb2


class MesosError(Exception):
    """Base of every error of the wire layer."""

    retryable: ClassVar[bool] = False


# ---------------------------------------------------------------- HTTP statuses


class MesosHTTPError(MesosError):
    status: ClassVar[int] = 0

    def __init__(self, message: str = "", *, status: int | None = None, body: str = "") -> None:
        self.http_status = self.status if status is None else status
        self.body = body
        super().__init__(message or f"HTTP {self.http_status}: {body.strip()}".rstrip(": "))


class NotLeader(MesosHTTPError):
    """307: this master is not the leader; ``location`` names it (``//host:port/path``)."""

    status = 307
    retryable = True

    def __init__(self, location: str, *, body: str = "") -> None:
        self.location = location
        super().__init__(f"not the leading master; leader is at {location!r}", body=body)


class BadRequest(MesosHTTPError):
    """400: unparsable body, failed validation, missing/stale Mesos-Stream-Id, unknown framework."""

    status = 400

    @property
    def stale_stream(self) -> bool:
        """The request carried no or an outdated stream id: re-subscribe, then retry."""
        return "Mesos-Stream-Id" in self.body or "stream ID" in self.body


class Unauthorized(MesosHTTPError):
    """401: authentication required or credentials wrong."""

    status = 401


class Forbidden(MesosHTTPError):
    """403: framework not subscribed (any more), or not authorized."""

    status = 403

    @property
    def not_subscribed(self) -> bool:
        return "not subscribed" in self.body


class NotFound(MesosHTTPError):
    """404: transient while a master starts."""

    status = 404
    retryable = True


class MethodNotAllowed(MesosHTTPError):
    status = 405


class NotAcceptable(MesosHTTPError):
    """406: the Accept header allows neither JSON nor protobuf."""

    status = 406


class Conflict(MesosHTTPError):
    """409: documented for UPDATE_FRAMEWORK racing a teardown."""

    status = 409


class UnsupportedMediaType(MesosHTTPError):
    """415: Content-Type is not exactly application/json or application/x-protobuf."""

    status = 415


class TooManyRequests(MesosHTTPError):
    """429: rate limited (Mesos itself does not emit it; proxies may)."""

    status = 429
    retryable = True


class NotImplementedCall(MesosHTTPError):
    """501: call type UNKNOWN or unset."""

    status = 501


class ServiceUnavailable(MesosHTTPError):
    """503: master recovering, or no leader known."""

    status = 503
    retryable = True


class UnexpectedStatus(MesosHTTPError):
    """Any other status; 5xx are retryable."""

    def __init__(self, status: int, body: str = "") -> None:
        super().__init__(status=status, body=body)

    @property
    def retryable(self) -> bool:  # type: ignore[override]
        return self.http_status >= 500


HTTP_ERRORS: dict[int, type[MesosHTTPError]] = {
    cls.status: cls
    for cls in (
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        NotAcceptable,
        Conflict,
        UnsupportedMediaType,
        TooManyRequests,
        NotImplementedCall,
        ServiceUnavailable,
    )
}


def error_for_status(status: int, body: str = "", location: str | None = None) -> MesosHTTPError:
    """The exception for a non-success HTTP answer (200 and 202 are success)."""
    if status == 307:
        return NotLeader(location or "", body=body)
    cls = HTTP_ERRORS.get(status)
    if cls is None:
        return UnexpectedStatus(status, body)
    return cls(status=status, body=body)


class MesosConnectionError(MesosError):
    """Could not connect, or the connection/stream broke. Retry after a backoff."""

    retryable = True


class HeartbeatTimeout(MesosConnectionError):
    """No bytes on the subscription stream for several heartbeat intervals."""


class StreamClosed(MesosConnectionError):
    """The master ended the subscription stream."""


class NotSubscribed(MesosConnectionError):
    """A call was attempted while no subscription is active (it would get 400/403)."""


class LeaderChanged(MesosConnectionError):
    """The master detector reported a new leader: the subscription moves there."""


class ProtocolError(MesosError):
    """The master answered something that is not the Mesos API (bad framing, undecodable event)."""

    retryable = True


# ---------------------------------------------------------------- ERROR events


class SubscriptionError(MesosError):
    """An ERROR event: the subscription is over. Generic ones (invalid role, principal
    mismatch, …) need a configuration change."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class FrameworkFailedOver(SubscriptionError):
    """Another scheduler instance subscribed with our framework id: step down, do not retry."""


class FrameworkRemoved(SubscriptionError):
    """The framework id is dead (failover timeout expired or TEARDOWN): clear it and
    subscribe afresh with a new id (the old tasks were killed)."""

    retryable = True


def error_for_event(message: str) -> SubscriptionError:
    """The exception for an ERROR event's ``error.message``."""
    lowered = message.lower()
    if "failed over" in lowered:
        return FrameworkFailedOver(message)
    if "has been removed" in lowered or "framework removed" in lowered:
        return FrameworkRemoved(message)
    return SubscriptionError(message)


# ---------------------------------------------------------------- FAILURE events


class FailureEvent(MesosError):
    """A FAILURE event: an executor exited (``executor_id`` and ``status`` set) or an agent
    was lost (only ``agent_id``). Task updates arrive separately; not raised by the session,
    provided to classify the event."""

    def __init__(self, agent_id: str | None, executor_id: str | None, status: int | None) -> None:
        self.agent_id = agent_id
        self.executor_id = executor_id
        self.status = status
        what = f"executor {executor_id} exited (status {status})" if executor_id else "agent lost"
        super().__init__(f"{what} on agent {agent_id}")

    @property
    def agent_lost(self) -> bool:
        return self.executor_id is None


def failure_event(failure: scheduler_pb2.Event.Failure) -> FailureEvent:
    """Describe a scheduler FAILURE event payload."""
    return FailureEvent(
        failure.agent_id.value if failure.HasField("agent_id") else None,
        failure.executor_id.value if failure.HasField("executor_id") else None,
        failure.status if failure.HasField("status") else None,
    )
