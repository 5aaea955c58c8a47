"""The working directory of one broker task inside the executor sandbox: ``<sandbox>/<task_id>/``.

One executor may run several brokers (a shared per-agent executor) next to ONE extracted distribution, which
is only read. Everything a broker writes lives in its own task directory::

    <sandbox>/<task_id>/config/server.properties   rendered from the distribution's config/server.properties
    <sandbox>/<task_id>/config/log4j.properties    rendered from the distribution's config/log4j.properties
    <sandbox>/<task_id>/logs/                      LOG_DIR: server.log, controller.log, GC logs...
    <sandbox>/<task_id>/kafka.stdout, kafka.stderr the broker process's output
    <sandbox>/<task_id>/kafka-logs/                default log.dirs (no volume, no explicit log.dirs)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

KAFKA_STDOUT = "kafka.stdout"
KAFKA_STDERR = "kafka.stderr"


class BadTaskId(ValueError):
    """The task id cannot name a directory (Mesos itself refuses such ids; checked again here)."""


def check_task_id(task_id: str) -> None:
    """As Mesos validates ids: not empty, not ``.``/``..``, no ``/``, no control characters."""
    if not task_id or task_id in (".", ".."):
        raise BadTaskId(f"task id {task_id!r} cannot name a directory")
    if "/" in task_id or any(ord(char) < 32 or ord(char) == 127 for char in task_id):
        raise BadTaskId(f"task id {task_id!r} cannot name a directory (slash or control character)")


@dataclass(frozen=True)
class TaskDir:
    root: Path

    @classmethod
    def of(cls, sandbox: Path, task_id: str) -> TaskDir:
        check_task_id(task_id)
        return cls(sandbox / task_id)

    @property
    def config(self) -> Path:
        return self.root / "config"

    @property
    def server_properties(self) -> Path:
        return self.config / "server.properties"

    @property
    def log4j_properties(self) -> Path:
        return self.config / "log4j.properties"

    @property
    def logs(self) -> Path:
        """Kafka's ``LOG_DIR`` (``kafka.logs.dir`` in log4j.properties)."""
        return self.root / "logs"

    @property
    def stdout(self) -> Path:
        return self.root / KAFKA_STDOUT

    @property
    def stderr(self) -> Path:
        return self.root / KAFKA_STDERR

    def create(self) -> None:
        self.config.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(exist_ok=True)
