"""The launch contract: JSON carried in ``TaskInfo.data`` from the scheduler to the executor.

The scheduler builds a :class:`LaunchSpec` per broker launch; the executor reads it back and turns it into
``config/server.properties``, ``config/log4j.properties`` and the broker's environment. Stdlib only: this
module is bundled into the executor zipapp.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

LAUNCH_SPEC_VERSION = 1
EXECUTOR_LINGER_ENV = "KAFKA_MESOS_EXECUTOR_LINGER_SECONDS"
"""Executor environment variable: seconds an idle shared executor waits for another LAUNCH before it exits."""


class LaunchSpecError(ValueError):
    """``TaskInfo.data`` is not a valid launch spec."""


@dataclass(frozen=True)
class LaunchSpec:
    broker_id: int
    zookeeper_connect: str
    """``host:port[,host:port...][/chroot]``, written as ``zookeeper.connect``."""
    port: int
    advertised_hostname: str
    """Host name the broker advertises (the agent's host name from the offer)."""
    heap_mb: int = 1024
    options: dict[str, str] = field(default_factory=dict)
    """The broker's own ``server.properties`` options; they win over every computed value."""
    log4j_options: dict[str, str] = field(default_factory=dict)
    jvm_options: str = ""
    bind_address: str | None = None
    """Address the listener binds to; ``None`` binds all interfaces."""
    log_dirs: str | None = None
    """Explicit ``log.dirs``; when ``None`` it is ``<volume_path or the task directory>/kafka-logs``."""
    volume_path: str | None = None
    dist_archive: str = ""
    """File name of the Kafka archive fetched into the sandbox, e.g. ``kafka_2.13-3.7.0.tgz``."""
    dist_dir: str = ""
    """Top directory of the extracted archive, e.g. ``kafka_2.13-3.7.0``; empty = find ``kafka*``."""
    stop_grace_seconds: float = 30.0
    """How long a graceful stop waits after SIGTERM before SIGKILL."""

    def to_json(self) -> str:
        return json.dumps({"version": LAUNCH_SPEC_VERSION, **asdict(self)}, sort_keys=True)

    def to_bytes(self) -> bytes:
        return self.to_json().encode("utf-8")

    @classmethod
    def from_json(cls, text: str | bytes) -> LaunchSpec:
        try:
            raw = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise LaunchSpecError(f"launch spec is not JSON: {exc}") from exc
        if not isinstance(raw, dict):
            raise LaunchSpecError("launch spec must be a JSON object")
        version = raw.pop("version", LAUNCH_SPEC_VERSION)
        if version != LAUNCH_SPEC_VERSION:
            raise LaunchSpecError(f"unsupported launch spec version {version!r}")
        known = set(cls.__dataclass_fields__)
        values = {key: value for key, value in raw.items() if key in known}
        try:
            spec = cls(**values)
        except TypeError as exc:
            raise LaunchSpecError(f"launch spec: {exc}") from exc
        spec.validate()
        return spec

    def validate(self) -> None:
        _require(isinstance(self.broker_id, int) and self.broker_id >= 0, "broker_id", "a non-negative int")
        _require(isinstance(self.port, int) and 0 < self.port < 65536, "port", "an int in 1..65535")
        _require(isinstance(self.heap_mb, int) and self.heap_mb > 0, "heap_mb", "a positive int")
        _require(_nonempty_str(self.zookeeper_connect), "zookeeper_connect", "a non-empty string")
        _require(_nonempty_str(self.advertised_hostname), "advertised_hostname", "a non-empty string")
        _require(_str_map(self.options), "options", "a map of strings")
        _require(_str_map(self.log4j_options), "log4j_options", "a map of strings")
        _require(isinstance(self.jvm_options, str), "jvm_options", "a string")
        _require(isinstance(self.stop_grace_seconds, int | float) and self.stop_grace_seconds >= 0,
                 "stop_grace_seconds", "a non-negative number")
        for name in ("bind_address", "log_dirs", "volume_path"):
            value = getattr(self, name)
            _require(value is None or isinstance(value, str), name, "a string or null")

    @property
    def endpoint(self) -> str:
        """``host:port`` the broker advertises (what TASK_RUNNING carries in ``data``)."""
        return f"{self.advertised_hostname}:{self.port}"


def _require(ok: bool, name: str, what: str) -> None:
    if not ok:
        raise LaunchSpecError(f"launch spec field {name!r} must be {what}")


def _nonempty_str(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _str_map(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    return all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
