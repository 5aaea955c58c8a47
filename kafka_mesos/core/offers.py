"""Core's offer type: what matching needs to know of a Mesos offer (the scheduler translates protobuf)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from kafka_mesos.core.resources import Resources


@dataclass(frozen=True)
class Offer:
    id: str
    agent_id: str
    hostname: str
    attributes: Mapping[str, str] = field(default_factory=dict)  # text form of every agent attribute
    resources: Mapping[str, Resources] = field(default_factory=dict)  # role -> that role's resources
    # Persistent volumes on offer: persistence id -> role of the disk resource carrying it.
    volumes: Mapping[str, str] = field(default_factory=dict)
