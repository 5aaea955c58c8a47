"""Applying add/update parameters (mesos/kafka's names) to broker specs, with validation.

Update semantics as mesos/kafka: only the given parameters change; ``""`` unsets (back to the
default); a map parameter (``options``, ``log4jOptions``, ``constraints``) replaces the whole map.
Every problem is a :class:`ValidationError` naming the parameter.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace

from kafka_mesos.core.constraints import parse_constraints
from kafka_mesos.core.durations import parse_duration
from kafka_mesos.core.errors import ParseError, ValidationError
from kafka_mesos.core.expr import format_broker_ids
from kafka_mesos.core.maps import parse_map
from kafka_mesos.core.model import Broker, Failover, Stickiness
from kafka_mesos.core.ranges import parse_port_spec

BROKER_PARAMS: tuple[str, ...] = (
    "cpus", "mem", "heap", "port", "volume", "bindAddress", "constraints", "options", "log4jOptions",
    "jvmOptions", "stickinessPeriod", "failoverDelay", "failoverMaxDelay", "failoverMaxTries",
)
# Options the scheduler sets itself; a different value would break the broker's identity.
RESERVED_OPTIONS = frozenset({"broker.id"})
_DEFAULT = Broker(id=0)
_BIND_ADDRESS = re.compile(r"(if:[A-Za-z0-9_.:@-]+|[A-Za-z0-9_.\-\[\]:]+\*?)")


def _float(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ParseError(name, text, "not a number") from None
    if not math.isfinite(value):
        raise ParseError(name, text, "not a finite number")
    return value


def _int(name: str, text: str) -> int:
    stripped = text.strip()
    digits = stripped[1:] if stripped[:1] == "-" else stripped
    if not digits.isascii() or not digits.isdigit():
        raise ParseError(name, text, "not an integer")
    if len(digits) > 18:
        raise ParseError(name, text, "number too large")
    return int(stripped)


def _required(name: str, text: str) -> str:
    if not text.strip():
        raise ValidationError(name, f"{name} cannot be empty")
    return text.strip()


def _bind_address(name: str, text: str) -> str | None:
    stripped = text.strip()
    if not stripped:
        return None
    if not _BIND_ADDRESS.fullmatch(stripped) or (":" in stripped and not stripped.startswith("if:")
                                                  and not _looks_ipv6(stripped)):
        raise ParseError(name, text, "expected an IP, a host name, a prefix like 10.0.0.* or if:<interface>")
    return stripped


def _looks_ipv6(text: str) -> bool:
    return text.count(":") >= 2 and all(c in "0123456789abcdefABCDEF:[]*." for c in text)


def apply_broker_params(broker: Broker, params: Mapping[str, str], *,
                        field_names: Mapping[str, str] | None = None) -> Broker:
    """Return ``broker`` with the given parameters applied and the result validated.

    ``field_names`` renames parameters in errors (e.g. to the CLI's ``failover-delay``).
    """
    try:
        return _apply(broker, params)
    except ValidationError as exc:
        if field_names and exc.field in field_names:
            exc.field = field_names[exc.field]
        raise


def _apply(broker: Broker, params: Mapping[str, str]) -> Broker:
    unknown = sorted(set(params) - set(BROKER_PARAMS))
    if unknown:
        known = ", ".join(BROKER_PARAMS)
        raise ValidationError(unknown[0], f"unknown parameter {unknown[0]!r}; known: {known}")
    result = broker.copy()
    failover, stickiness = result.failover, result.stickiness
    for name, text in params.items():
        if name == "cpus":
            result.cpus = _float(name, _required(name, text))
            if result.cpus <= 0:
                raise ValidationError(name, f"cpus must be > 0, not {text}")
        elif name in ("mem", "heap"):
            value = _int(name, _required(name, text))
            if value <= 0:
                raise ValidationError(name, f"{name} must be > 0, not {text}")
            setattr(result, name, value)
        elif name == "port":
            result.port = parse_port_spec(text, name)
        elif name == "volume":
            result.volume = text.strip() or None
        elif name == "bindAddress":
            result.bind_address = _bind_address(name, text)
        elif name == "constraints":
            result.constraints = parse_constraints(text, name)
        elif name in ("options", "log4jOptions"):
            values = parse_map(text, name)
            if name == "options":
                reserved = sorted(RESERVED_OPTIONS & set(values))
                if reserved:
                    raise ValidationError(name, f"option {reserved[0]} is set by the scheduler")
                result.options = values
            else:
                result.log4j_options = values
        elif name == "jvmOptions":
            result.jvm_options = text.strip() or None
        elif name == "stickinessPeriod":
            period = _DEFAULT.stickiness.period if not text.strip() else parse_duration(text, name)
            stickiness = replace(stickiness, period=period)
        elif name == "failoverDelay":
            delay = _DEFAULT.failover.delay if not text.strip() else parse_duration(text, name)
            failover = replace(failover, delay=delay)
        elif name == "failoverMaxDelay":
            max_delay = _DEFAULT.failover.max_delay if not text.strip() else parse_duration(text, name)
            failover = replace(failover, max_delay=max_delay)
        elif name == "failoverMaxTries":
            tries = None if not text.strip() else _int(name, text)
            if tries is not None and tries < 1:
                raise ValidationError(name, f"failoverMaxTries must be >= 1 (\"\" = unlimited), not {text}")
            failover = replace(failover, max_tries=tries)
    result.failover, result.stickiness = failover, stickiness
    _check_spec(result, params)
    return result


def _check_spec(broker: Broker, params: Mapping[str, str]) -> None:
    if broker.heap >= broker.mem:
        name = "heap" if "heap" in params or "mem" not in params else "mem"
        raise ValidationError(name, f"heap ({broker.heap} MB) must be less than mem ({broker.mem} MB)")
    if broker.failover.max_delay < broker.failover.delay:
        name = "failoverMaxDelay" if "failoverMaxDelay" in params else "failoverDelay"
        raise ValidationError(name, "failoverMaxDelay must not be less than failoverDelay")


def new_brokers(ids: Iterable[int], existing_ids: Iterable[int], params: Mapping[str, str], *,
                field: str = "broker", field_names: Mapping[str, str] | None = None) -> list[Broker]:
    """Brokers for ``add``: refuses ids that exist already (all or nothing)."""
    wanted = sorted(set(ids))
    if not wanted:
        raise ValidationError(field, "no broker ids given")
    clash = sorted(set(wanted) & set(existing_ids))
    if clash:
        noun = "broker" if len(clash) == 1 else "brokers"
        verb = "exists" if len(clash) == 1 else "exist"
        raise ValidationError(field, f"{noun} {format_broker_ids(clash)} already {verb}")
    template = apply_broker_params(Broker(id=0), params, field_names=field_names)
    return [replace(template.copy(), id=broker_id) for broker_id in wanted]


def updated_broker(broker: Broker, params: Mapping[str, str], *,
                   field_names: Mapping[str, str] | None = None) -> Broker:
    """``update``: the changed spec; a broker with a task is marked ``needs_restart`` if it changed."""
    result = apply_broker_params(broker, params, field_names=field_names)
    if broker.task is not None and not result.spec_equals(broker):
        result.needs_restart = True
    return result


def cloned_brokers(source: Broker, ids: Iterable[int], existing_ids: Iterable[int], *,
                   field: str = "broker") -> list[Broker]:
    """``clone``: every setting of ``source`` (not its state) under new ids."""
    wanted = sorted(set(ids))
    clash = sorted(set(wanted) & set(existing_ids))
    if clash:
        raise ValidationError(field, f"broker(s) {format_broker_ids(clash)} already exist")
    spec = Broker(
        id=0, cpus=source.cpus, mem=source.mem, heap=source.heap, port=source.port, volume=source.volume,
        bind_address=source.bind_address, constraints=dict(source.constraints),
        options=dict(source.options), log4j_options=dict(source.log4j_options),
        jvm_options=source.jvm_options,
        failover=Failover(delay=source.failover.delay, max_delay=source.failover.max_delay,
                          max_tries=source.failover.max_tries),
        stickiness=Stickiness(period=source.stickiness.period),
    )
    return [replace(spec.copy(), id=broker_id) for broker_id in wanted]
