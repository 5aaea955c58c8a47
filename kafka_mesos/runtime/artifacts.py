"""What the agents fetch from the scheduler's HTTP server: the executor zipapp and the Kafka distribution."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kafka_mesos.executor.artifact import build_executor_zipapp
from kafka_mesos.kafka.distribution import DistributionNotFound, find_distribution, read_distribution
from kafka_mesos.settings import Settings


@dataclass(frozen=True)
class Artifacts:
    executor_name: str
    files: dict[str, Path] = field(default_factory=dict)  # served under /files/<name>
    dist_name: str = ""
    dist_url: str | None = None  # set when the operator gave a URL: agents fetch it from there
    dist_top_dir: str = ""
    dist_version: str = ""
    problem: str | None = None  # why brokers cannot be launched (no distribution)


class ArtifactError(Exception):
    pass


def prepare_artifacts(settings: Settings, workdir: Path, files_dir: Path) -> Artifacts:
    """Build the executor zipapp into `files_dir` and locate the Kafka distribution.

    A `--kafka-dist` that does not exist is an error; no distribution at all is not (the scheduler still
    serves the API, and `broker list` says why brokers do not start)."""
    executor = build_executor_zipapp(files_dir)
    files = {executor.name: executor}
    try:
        ref = find_distribution(settings.kafka_dist, workdir)
    except DistributionNotFound as e:
        if settings.kafka_dist:
            raise ArtifactError(str(e)) from e
        return Artifacts(executor_name=executor.name, files=files, problem=str(e))
    if ref.is_url:
        return Artifacts(executor_name=executor.name, files=files, dist_name=ref.name, dist_url=ref.location)
    dist = read_distribution(Path(ref.location))
    files[dist.name] = dist.path
    return Artifacts(executor_name=executor.name, files=files, dist_name=dist.name, dist_top_dir=dist.top_dir,
                     dist_version=dist.version)
