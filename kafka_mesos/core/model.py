"""The broker record: spec (what the operator asked for), desired state, observed state.

``Broker.to_dict()``/``Broker.from_dict()`` are the persisted JSON form (keys stable, round trip exact,
``"schema"`` versioned). ``broker_to_api_json()`` is mesos/kafka's REST shape plus our extra fields.
Core functions never mutate a Broker they are given; they return a changed copy (``Broker.copy``,
``dataclasses.replace``). Times are epoch seconds (float), passed in, never read from a clock here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from kafka_mesos.core.durations import format_duration
from kafka_mesos.core.maps import OptionMap, format_map
from kafka_mesos.core.ranges import PortSpec, Range

SCHEMA_VERSION = 1
MAX_EVENTS = 20

# Mesos task states.
TASK_STAGING = "TASK_STAGING"
TASK_STARTING = "TASK_STARTING"
TASK_RUNNING = "TASK_RUNNING"
TASK_KILLING = "TASK_KILLING"
TASK_FINISHED = "TASK_FINISHED"
TASK_FAILED = "TASK_FAILED"
TASK_KILLED = "TASK_KILLED"
TASK_ERROR = "TASK_ERROR"
TASK_LOST = "TASK_LOST"
TASK_DROPPED = "TASK_DROPPED"
TASK_UNREACHABLE = "TASK_UNREACHABLE"
TASK_GONE = "TASK_GONE"
TASK_GONE_BY_OPERATOR = "TASK_GONE_BY_OPERATOR"
TASK_UNKNOWN = "TASK_UNKNOWN"

# States after which the task does not run any more (UNREACHABLE/UNKNOWN: the master cannot vouch
# for it; a broker is then relaunched, and a task that reappears later is killed as a duplicate).
TERMINAL_STATES = frozenset({
    TASK_FINISHED, TASK_FAILED, TASK_KILLED, TASK_ERROR, TASK_LOST, TASK_DROPPED,
    TASK_UNREACHABLE, TASK_GONE, TASK_GONE_BY_OPERATOR, TASK_UNKNOWN,
})


@dataclass(frozen=True)
class Event:
    """One entry of a broker's bounded recent history."""

    time: float
    kind: str  # placed, launched, starting, running, failed, stopped, relaunch-scheduled, reconciled, ...
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"time": self.time, "kind": self.kind, "message": self.message}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Event:
        return cls(float(data["time"]), str(data["kind"]), str(data.get("message", "")))


@dataclass(frozen=True)
class Task:
    """The Mesos task currently attached to a broker (launched and not yet seen terminal)."""

    task_id: str
    agent_id: str
    executor_id: str
    hostname: str
    port: int | None = None
    state: str = TASK_STAGING
    endpoint: str | None = None  # "host:port" once running
    attributes: Mapping[str, str] = field(default_factory=dict)
    message: str | None = None  # the last status update's message
    launched_at: float = 0.0
    running_since: float | None = None
    stopping: bool = False  # a kill was sent (operator stop, restart, or a duplicate)
    reconciling: bool = False  # state not yet confirmed by the master since (re)subscription
    role: str = "*"
    cpus: float = 0.0
    mem: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "taskId": self.task_id, "agentId": self.agent_id, "executorId": self.executor_id,
            "hostname": self.hostname, "port": self.port, "state": self.state,
            "endpoint": self.endpoint, "attributes": dict(self.attributes), "message": self.message,
            "launchedAt": self.launched_at, "runningSince": self.running_since,
            "stopping": self.stopping, "reconciling": self.reconciling, "role": self.role,
            "cpus": self.cpus, "mem": self.mem,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Task:
        return cls(
            task_id=str(data["taskId"]), agent_id=str(data["agentId"]),
            executor_id=str(data["executorId"]), hostname=str(data["hostname"]),
            port=_opt_int(data.get("port")), state=str(data.get("state", TASK_STAGING)),
            endpoint=_opt_str(data.get("endpoint")),
            attributes={str(k): str(v) for k, v in dict(data.get("attributes") or {}).items()},
            message=_opt_str(data.get("message")), launched_at=float(data.get("launchedAt", 0.0)),
            running_since=_opt_float(data.get("runningSince")),
            stopping=bool(data.get("stopping", False)), reconciling=bool(data.get("reconciling", False)),
            role=str(data.get("role", "*")), cpus=float(data.get("cpus", 0.0)),
            mem=float(data.get("mem", 0.0)),
        )

    @property
    def running(self) -> bool:
        return self.state == TASK_RUNNING

    def phase(self) -> str:
        """mesos/kafka's task state word: pending, starting, running, reconciling, stopping."""
        if self.stopping:
            return "stopping"
        if self.reconciling:
            return "reconciling"
        if self.state == TASK_RUNNING:
            return "running"
        if self.state == TASK_STARTING:
            return "starting"
        if self.state == TASK_KILLING:
            return "stopping"
        return "pending"


@dataclass(frozen=True)
class Failover:
    """Failover policy (operator's) and counters (observed)."""

    delay: float = 60.0
    max_delay: float = 600.0
    max_tries: int | None = None
    failures: int = 0
    failure_time: float | None = None
    reason: str | None = None  # why the last failure happened (status reason/message)

    def backoff(self) -> float:
        """Seconds to wait after ``failure_time`` before the next launch attempt."""
        if self.failures <= 0:
            return 0.0
        # Cap the exponent: 2**1100 would overflow a float long before max_delay matters.
        exponent = min(self.failures - 1, 64)
        return float(min(self.delay * (2 ** exponent), self.max_delay))

    def next_attempt(self) -> float | None:
        """Earliest launch time after a failure; None when there is no failure to wait for."""
        if self.failures <= 0 or self.failure_time is None:
            return None
        return self.failure_time + self.backoff()

    def exhausted(self) -> bool:
        return self.max_tries is not None and self.failures >= self.max_tries

    def reset(self) -> Failover:
        return replace(self, failures=0, failure_time=None, reason=None)

    def to_dict(self) -> dict[str, Any]:
        return {"delay": self.delay, "maxDelay": self.max_delay, "maxTries": self.max_tries,
                "failures": self.failures, "failureTime": self.failure_time, "reason": self.reason}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Failover:
        return cls(delay=float(data.get("delay", 60.0)), max_delay=float(data.get("maxDelay", 600.0)),
                   max_tries=_opt_int(data.get("maxTries")), failures=int(data.get("failures", 0)),
                   failure_time=_opt_float(data.get("failureTime")), reason=_opt_str(data.get("reason")))


@dataclass(frozen=True)
class Stickiness:
    """Stickiness period (operator's) and the host/port the broker last ran on (observed)."""

    period: float = 600.0
    hostname: str | None = None
    port: int | None = None
    stop_time: float | None = None

    def expires(self) -> float | None:
        """Until when only ``hostname`` may run the broker; None when it is not pinned."""
        if self.hostname is None or self.stop_time is None:
            return None
        return self.stop_time + self.period

    def allows(self, hostname: str, now: float) -> bool:
        expires = self.expires()
        return expires is None or now >= expires or hostname == self.hostname

    def to_dict(self) -> dict[str, Any]:
        return {"period": self.period, "hostname": self.hostname, "port": self.port,
                "stopTime": self.stop_time}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Stickiness:
        return cls(period=float(data.get("period", 600.0)), hostname=_opt_str(data.get("hostname")),
                   port=_opt_int(data.get("port")), stop_time=_opt_float(data.get("stopTime")))


@dataclass
class Broker:
    """One Kafka broker: spec, desired state (``active``) and observed state (``task`` and counters)."""

    id: int
    cpus: float = 1.0
    mem: int = 2048
    heap: int = 1024
    port: PortSpec | None = None  # None: any offered port
    volume: str | None = None
    bind_address: str | None = None
    constraints: dict[str, str] = field(default_factory=dict)  # attribute -> constraint text
    options: OptionMap = field(default_factory=dict)
    log4j_options: OptionMap = field(default_factory=dict)
    jvm_options: str | None = None
    failover: Failover = field(default_factory=Failover)
    stickiness: Stickiness = field(default_factory=Stickiness)
    active: bool = False
    task: Task | None = None
    last_task_id: str | None = None
    needs_restart: bool = False
    placement_reason: str | None = None  # why the last offer round could not place it
    events: tuple[Event, ...] = ()

    def __post_init__(self) -> None:
        if self.id < 0:
            raise ValueError(f"broker id must be >= 0, not {self.id}")

    def copy(self) -> Broker:
        """A copy whose mutable containers are not shared with this one."""
        return replace(self, constraints=dict(self.constraints), options=dict(self.options),
                       log4j_options=dict(self.log4j_options))

    def with_event(self, time: float, kind: str, message: str = "") -> Broker:
        events = (*self.events, Event(time, kind, message))[-MAX_EVENTS:]
        return replace(self, events=events)

    def spec_equals(self, other: Broker) -> bool:
        """Same operator-given settings (ignores id, desired and observed state)."""
        return (_spec_dict(self), _policy_dict(self)) == (_spec_dict(other), _policy_dict(other))

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"schema": SCHEMA_VERSION, "id": self.id}
        data.update(_spec_dict(self))
        data.update({
            "failover": self.failover.to_dict(),
            "stickiness": self.stickiness.to_dict(),
            "active": self.active,
            "task": None if self.task is None else self.task.to_dict(),
            "lastTaskId": self.last_task_id,
            "needsRestart": self.needs_restart,
            "placementReason": self.placement_reason,
            "events": [event.to_dict() for event in self.events],
        })
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Broker:
        schema = int(data.get("schema", SCHEMA_VERSION))
        if schema > SCHEMA_VERSION:
            raise ValueError(f"broker record schema {schema} is newer than this program ({SCHEMA_VERSION})")
        port = data.get("port")
        task = data.get("task")
        return cls(
            id=int(data["id"]),
            cpus=float(data.get("cpus", 1.0)), mem=int(data.get("mem", 2048)),
            heap=int(data.get("heap", 1024)),
            port=None if port is None else Range(int(port[0]), int(port[1])),
            volume=_opt_str(data.get("volume")), bind_address=_opt_str(data.get("bindAddress")),
            constraints={str(k): str(v) for k, v in dict(data.get("constraints") or {}).items()},
            options=_option_map(data.get("options")), log4j_options=_option_map(data.get("log4jOptions")),
            jvm_options=_opt_str(data.get("jvmOptions")),
            failover=Failover.from_dict(data.get("failover") or {}),
            stickiness=Stickiness.from_dict(data.get("stickiness") or {}),
            active=bool(data.get("active", False)),
            task=None if task is None else Task.from_dict(task),
            last_task_id=_opt_str(data.get("lastTaskId")),
            needs_restart=bool(data.get("needsRestart", False)),
            placement_reason=_opt_str(data.get("placementReason")),
            events=tuple(Event.from_dict(e) for e in data.get("events") or ()),
        )


def _spec_dict(broker: Broker) -> dict[str, Any]:
    return {
        "cpus": broker.cpus, "mem": broker.mem, "heap": broker.heap,
        "port": None if broker.port is None else [broker.port.start, broker.port.end],
        "volume": broker.volume, "bindAddress": broker.bind_address,
        "constraints": dict(broker.constraints), "options": dict(broker.options),
        "log4jOptions": dict(broker.log4j_options), "jvmOptions": broker.jvm_options,
    }


def _policy_dict(broker: Broker) -> dict[str, Any]:
    return {"failoverDelay": broker.failover.delay, "failoverMaxDelay": broker.failover.max_delay,
            "failoverMaxTries": broker.failover.max_tries, "stickinessPeriod": broker.stickiness.period}


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _option_map(value: Any) -> OptionMap:
    return {str(k): (None if v is None else str(v)) for k, v in dict(value or {}).items()}


# ---- mesos/kafka's REST JSON (§6.4) plus our extra fields ----------------------------------------

def format_date(epoch_seconds: float) -> str:
    """mesos/kafka's JSON date: ``yyyy-MM-dd HH:mm:ss.SSS`` in UTC."""
    moment = datetime.fromtimestamp(epoch_seconds, tz=UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def display_state(broker: Broker, now: float | None = None) -> str:
    """The ``state`` line of mesos/kafka's broker block (``running``, ``failed 1/5 <date>, ...``)."""
    task = broker.task
    if task is not None:
        text = task.phase()
    elif not broker.active:
        text = "stopped"
        if broker.failover.exhausted():
            text += f" (failure limit exceeded: {broker.failover.failures} failures)"
    elif broker.failover.failures > 0 and broker.failover.failure_time is not None:
        tries = str(broker.failover.failures)
        if broker.failover.max_tries is not None:
            tries += f"/{broker.failover.max_tries}"
        failed_at = format_date(broker.failover.failure_time)
        next_attempt = broker.failover.next_attempt()
        if next_attempt is not None and (now is None or now < next_attempt):
            text = f"failed {tries} {failed_at}, next start {format_date(next_attempt)}"
        else:
            text = f"starting {tries}, failed {failed_at}"
    else:
        text = "starting"
    if broker.needs_restart:
        text += " (modified, needs restart)"
    return text


def display_state_switch_time(broker: Broker) -> float | None:
    """The one instant at which ``display_state(broker, now)`` (and so ``broker_to_api_json``) changes
    with ``now``: ``failed ..., next start ...`` before it, ``starting ...`` from it on. None when the
    text does not depend on ``now``. Keep in step with ``display_state``'s failure branch."""
    failover = broker.failover
    if broker.task is not None or not broker.active:
        return None
    if failover.failures <= 0 or failover.failure_time is None:
        return None
    return failover.next_attempt()


def broker_to_api_json(broker: Broker, now: float | None = None) -> dict[str, Any]:
    """mesos/kafka's broker JSON (unset fields omitted) plus ``state``, ``reason``, ``events`` etc."""
    out: dict[str, Any] = {
        "id": str(broker.id), "active": broker.active, "cpus": broker.cpus,
        "mem": broker.mem, "heap": broker.heap,
    }
    if broker.port is not None:
        out["port"] = broker.port.format()
    if broker.volume is not None:
        out["volume"] = broker.volume
    if broker.bind_address is not None:
        out["bindAddress"] = broker.bind_address
    if broker.jvm_options is not None:
        out["jvmOptions"] = broker.jvm_options
    out["syslog"] = False
    out["needsRestart"] = broker.needs_restart
    if broker.constraints:
        out["constraints"] = format_map(dict(broker.constraints))
    if broker.options:
        out["options"] = format_map(broker.options)
    if broker.log4j_options:
        out["log4jOptions"] = format_map(broker.log4j_options)
    out["stickiness"] = _stickiness_json(broker.stickiness)
    out["failover"] = _failover_json(broker.failover)
    if broker.task is not None:
        out["task"] = _task_json(broker.task)
    out["state"] = display_state(broker, now)
    if broker.placement_reason is not None:
        out["reason"] = broker.placement_reason
    out["events"] = [
        {"time": format_date(e.time), "kind": e.kind, "message": e.message} for e in broker.events
    ]
    return out


def _stickiness_json(stickiness: Stickiness) -> dict[str, Any]:
    out: dict[str, Any] = {"period": format_duration(stickiness.period)}
    if stickiness.hostname is not None:
        out["hostname"] = stickiness.hostname
    if stickiness.stop_time is not None:
        out["stopTime"] = format_date(stickiness.stop_time)
    expires = stickiness.expires()
    if expires is not None:
        out["expires"] = format_date(expires)
    if stickiness.port is not None:
        out["port"] = stickiness.port
    return out


def _failover_json(failover: Failover) -> dict[str, Any]:
    out: dict[str, Any] = {"delay": format_duration(failover.delay),
                           "maxDelay": format_duration(failover.max_delay)}
    if failover.max_tries is not None:
        out["maxTries"] = failover.max_tries
    out["failures"] = failover.failures
    if failover.failure_time is not None:
        out["failureTime"] = format_date(failover.failure_time)
    next_attempt = failover.next_attempt()
    if next_attempt is not None:
        out["nextAttempt"] = format_date(next_attempt)
    if failover.reason is not None:
        out["reason"] = failover.reason
    return out


def _task_json(task: Task) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": task.task_id, "slaveId": task.agent_id, "executorId": task.executor_id,
        "hostname": task.hostname,
    }
    if task.endpoint is not None:
        out["endpoint"] = task.endpoint
    out["attributes"] = dict(task.attributes)
    out["state"] = task.phase()
    out["mesosState"] = task.state
    if task.port is not None:
        out["port"] = task.port
    if task.message:
        out["message"] = task.message
    out["launchedAt"] = format_date(task.launched_at)
    return out
