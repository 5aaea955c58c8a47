"""Configuration of a local Mesos cluster (one master, N agents, one process)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_RESOURCES = "cpus:4;mem:8192;disk:20480;ports:[31000-32000]"
DEFAULT_ATTRIBUTES = "rack:r{n};zone:z{n}"
MESOS_VERSION = "1.12.0"


@dataclass
class LocalMesosConfig:
    """Everything a `LocalMesos` needs. Ports 0 mean "pick a free loopback port".

    `{n}` in `resources`/`attributes` is replaced by the agent's index (0-based, the same number
    as the `-S<n>` suffix of its agent id). `agent_resources` overrides the resources of single
    agents by index.
    """

    port: int = 0
    agents: int = 3
    resources: str = DEFAULT_RESOURCES
    attributes: str = DEFAULT_ATTRIBUTES
    agent_resources: dict[int, str] = field(default_factory=dict)
    agent_attributes: dict[int, str] = field(default_factory=dict)
    heartbeat_interval: float = 15.0
    allocation_interval: float = 1.0
    work_dir: Path | None = None
    zk: str | None = None
    executor_registration_timeout: float = 60.0
    executor_shutdown_grace_period: float = 5.0
    executor_reregistration_timeout: float = 2.0
    status_update_retry_initial: float = 10.0
    status_update_retry_max: float = 600.0
    hostname: str = "127.0.0.1"
    # Host names agents advertise instead of `hostname`, by index (names only: everything still binds
    # `ip`); lets stickiness and hostname constraints be tried on one machine.
    agent_hostnames: dict[int, str] = field(default_factory=dict)
    ip: str = "127.0.0.1"
    agent_ports: list[int] = field(default_factory=list)
    min_allocatable_cpus: float = 0.01
    min_allocatable_mem: float = 32.0
    # Mesos' --offer_timeout: outstanding offers are rescinded after this many seconds (None = never).
    offer_timeout: float | None = None

    def resources_for(self, index: int) -> str:
        return self.agent_resources.get(index, self.resources).replace("{n}", str(index))

    def attributes_for(self, index: int) -> str:
        return self.agent_attributes.get(index, self.attributes).replace("{n}", str(index))

    def hostname_for(self, index: int) -> str:
        return self.agent_hostnames.get(index, self.hostname).replace("{n}", str(index))

    def agent_port(self, index: int) -> int:
        return self.agent_ports[index] if index < len(self.agent_ports) else 0


def format_duration(seconds: float) -> str:
    """Mesos' duration rendering as used in `MESOS_*` variables and /state flags (`5secs`, `15mins`)."""
    units = (("weeks", 604800.0), ("days", 86400.0), ("hrs", 3600.0), ("mins", 60.0), ("secs", 1.0))
    for name, size in units:
        if seconds >= size:
            amount = seconds / size
            text = f"{amount:.6f}".rstrip("0").rstrip(".")
            return f"{text}{name}"
    millis = seconds * 1000.0
    if millis >= 1.0:
        return f"{millis:.6f}".rstrip("0").rstrip(".") + "ms"
    return f"{round(seconds * 1e9)}ns"
