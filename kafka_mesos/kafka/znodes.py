"""Kafka's own ZooKeeper layout (ZooKeeper mode): paths and the JSON of ``/brokers/ids/<id>``.

Paths are relative to the chroot of ``zookeeper.connect``. Pure and stdlib only; callers do the I/O.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

BROKER_IDS_PATH = "/brokers/ids"
BROKER_TOPICS_PATH = "/brokers/topics"
CONTROLLER_PATH = "/controller"
CLUSTER_ID_PATH = "/cluster/id"


def broker_path(broker_id: int | str) -> str:
    return f"{BROKER_IDS_PATH}/{broker_id}"


def split_chroot(connect: str) -> tuple[str, str]:
    """``h1:2181,h2:2181/kafka`` → (``h1:2181,h2:2181``, ``/kafka``); no chroot → ``""``."""
    hosts, slash, chroot = connect.partition("/")
    return hosts, ("/" + chroot.rstrip("/")) if slash and chroot.strip("/") else ""


class RegistrationError(ValueError):
    """The data of ``/brokers/ids/<id>`` is not a broker registration."""


@dataclass(frozen=True)
class BrokerRegistration:
    host: str | None
    port: int
    endpoints: tuple[str, ...] = ()
    timestamp_ms: int = 0
    version: int = 5
    jmx_port: int = -1
    rack: str | None = None
    listener_security_protocol_map: dict[str, str] = field(default_factory=dict)

    def endpoint(self) -> str:
        """``host:port`` of the PLAINTEXT listener (or the first endpoint when there is none)."""
        if self.host is not None and self.port >= 0:
            return f"{self.host}:{self.port}"
        for endpoint in self.endpoints:
            _, _, address = endpoint.partition("://")
            if address:
                return address
        return ""

    def to_json(self) -> bytes:
        data: dict[str, Any] = {
            "version": self.version,
            "host": self.host,
            "port": self.port,
            "jmx_port": self.jmx_port,
            "timestamp": str(self.timestamp_ms),
            "endpoints": list(self.endpoints),
        }
        if self.rack is not None:
            data["rack"] = self.rack
        if self.version >= 4:
            data["listener_security_protocol_map"] = self.listener_security_protocol_map
        if self.version >= 5:
            data["features"] = {}
        return json.dumps(data, separators=(",", ":")).encode()


def parse_broker_registration(data: bytes) -> BrokerRegistration:
    try:
        raw = json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise RegistrationError(f"broker registration is not JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise RegistrationError("broker registration is not a JSON object")
    try:
        host = raw.get("host")
        endpoints = raw.get("endpoints") or []
        protocols = raw.get("listener_security_protocol_map") or {}
        return BrokerRegistration(
            host=str(host) if host is not None else None,
            port=int(raw.get("port", -1)),
            endpoints=tuple(str(endpoint) for endpoint in endpoints),
            timestamp_ms=int(raw.get("timestamp", 0)),
            version=int(raw.get("version", 1)),
            jmx_port=int(raw.get("jmx_port", -1)),
            rack=str(raw["rack"]) if raw.get("rack") is not None else None,
            listener_security_protocol_map={str(k): str(v) for k, v in protocols.items()},
        )
    except (TypeError, ValueError, AttributeError) as exc:
        raise RegistrationError(f"broker registration has a bad field: {exc}") from exc
