"""Human output in mesos/kafka's shape: a header (`brokers added:`) then one block per broker."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

Json = Mapping[str, Any]


def plural(count: int, singular: str, many: str | None = None) -> str:
    return singular if count == 1 else (many or singular + "s")


def broker_ids(brokers: Sequence[Json]) -> str:
    return ",".join(str(b.get("id")) for b in brokers)


def brokers_section(
    header: str, brokers: Sequence[Json], *, quiet: bool = False, events: bool = False
) -> str:
    """`broker added:` / `brokers added:` etc. then the blocks, separated by blank lines."""
    title = f"{plural(len(brokers), 'broker')} {header}:" if header else f"{plural(len(brokers), 'broker')}:"
    blocks = ["\n".join("  " + line for line in broker_block(b, quiet=quiet, events=events)) for b in brokers]
    return title + "\n" + "\n\n".join(blocks)


def _resources(broker: Json) -> str:
    cpus = broker.get("cpus", 0)
    parts = [f"cpus:{float(cpus):.2f}", f"mem:{broker.get('mem')}", f"heap:{broker.get('heap')}",
             f"port:{broker.get('port') or 'auto'}"]
    if broker.get("volume"):
        parts.append(f"volume:{broker['volume']}")
    return ", ".join(parts)


def _failover(failover: Json) -> str:
    parts = [f"delay:{failover.get('delay')}", f"max-delay:{failover.get('maxDelay')}"]
    if failover.get("maxTries") is not None:
        parts.append(f"max-tries:{failover['maxTries']}")
    if failover.get("failures"):
        parts.append(f"failures:{failover['failures']}")
    if failover.get("failureTime"):
        parts.append(f"failed:{failover['failureTime']}")
    if failover.get("nextAttempt"):
        parts.append(f"next-attempt:{failover['nextAttempt']}")
    if failover.get("reason"):
        parts.append(f"reason:{failover['reason']}")
    return ", ".join(parts)


def _stickiness(stickiness: Json) -> str:
    parts = [f"period:{stickiness.get('period')}"]
    if stickiness.get("hostname"):
        parts.append(f"hostname:{stickiness['hostname']}")
    if stickiness.get("expires"):
        parts.append(f"expires:{stickiness['expires']}")
    return ", ".join(parts)


def _state(broker: Json) -> str:
    state = str(broker.get("state") or ("active" if broker.get("active") else "stopped"))
    if broker.get("needsRestart") and "needs restart" not in state:
        state += " (modified, needs restart)"
    return state


def broker_block(broker: Json, *, quiet: bool = False, events: bool = False) -> list[str]:
    lines = [f"id: {broker.get('id')}", f"active: {str(bool(broker.get('active'))).lower()}",
             f"state: {_state(broker)}"]
    if broker.get("reason"):
        lines.append(f"reason: {broker['reason']}")
    lines.append(f"resources: {_resources(broker)}")
    for key, label in (("bindAddress", "bind-address"), ("constraints", "constraints")):
        if broker.get(key):
            lines.append(f"{label}: {broker[key]}")
    if not quiet:
        for key, label in (("options", "options"), ("log4jOptions", "log4j-options"),
                           ("jvmOptions", "jvm-options")):
            if broker.get(key):
                lines.append(f"{label}: {broker[key]}")
    if isinstance(broker.get("failover"), Mapping):
        lines.append(f"failover: {_failover(broker['failover'])}")
    if isinstance(broker.get("stickiness"), Mapping):
        lines.append(f"stickiness: {_stickiness(broker['stickiness'])}")
    task = broker.get("task")
    if isinstance(task, Mapping):
        lines.append("task:")
        lines.append(f"  id: {task.get('id')}")
        lines.append(f"  state: {task.get('state')}")
        if task.get("endpoint"):
            lines.append(f"  endpoint: {task['endpoint']}")
        elif task.get("hostname"):
            lines.append(f"  hostname: {task['hostname']}")
        attributes = task.get("attributes")
        if isinstance(attributes, Mapping) and attributes:
            rendered = ",".join(f"{k}={v}" for k, v in sorted(attributes.items()))
            lines.append(f"  attributes: {rendered}")
        if task.get("message"):
            lines.append(f"  message: {task['message']}")
    if events:
        lines.append("events:")
        for event in broker.get("events") or []:
            message = f" {event['message']}" if event.get("message") else ""
            lines.append(f"  {event.get('time')} {event.get('kind')}{message}")
    return lines


def not_running_reasons(brokers: Sequence[Json], wanted_state: str) -> list[str]:
    """For a start/stop timeout: which brokers are not there yet, and why."""
    lines = []
    for broker in brokers:
        task = broker.get("task")
        task_state = task.get("state") if isinstance(task, Mapping) else None
        done = task_state == "running" if wanted_state == "running" else task is None
        if done:
            continue
        why = broker.get("reason") or (task.get("message") if isinstance(task, Mapping) else None)
        state = broker.get("state") or task_state or "stopped"
        lines.append(f"broker {broker.get('id')}: {state}" + (f" ({why})" if why else ""))
    return lines
