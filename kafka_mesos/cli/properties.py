"""Java `.properties` files: the CLI's `kafka-mesos.properties` defaults and `file:` option values.

The parser is the one the executor uses for Kafka's own `server.properties` (`kafka_mesos.kafka.config`).
"""

from __future__ import annotations

from pathlib import Path

from kafka_mesos.kafka.config import parse_properties

__all__ = ["parse_properties", "read_properties"]


def read_properties(path: Path) -> dict[str, str]:
    return parse_properties(path.read_text(encoding="utf-8"))
