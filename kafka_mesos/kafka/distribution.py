"""Locate a Kafka distribution (``kafka*.tgz``) and read what it is: file name, version, top directory.

The scheduler uses :func:`find_distribution` / :func:`read_distribution`; the executor uses
:func:`find_extracted_distribution` in its sandbox. Stdlib only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse

DIST_GLOB = "kafka*.tgz"
START_SCRIPT = PurePosixPath("bin/kafka-server-start.sh")
_KAFKA_JAR = re.compile(r"^kafka_[0-9.]+-(?P<version>[^/]+?)\.jar$")


class DistributionNotFound(LookupError):
    pass


@dataclass(frozen=True)
class DistributionRef:
    """Where the distribution is: a local path or an http(s) URL."""

    location: str
    name: str

    @property
    def is_url(self) -> bool:
        return urlparse(self.location).scheme in ("http", "https")


@dataclass(frozen=True)
class KafkaDistribution:
    path: Path
    name: str
    version: str
    top_dir: str


def version_from_name(name: str) -> str:
    """``kafka_2.13-3.7.0.tgz`` → ``3.7.0``: the text between the last ``-`` and ``.tgz``."""
    stem = name[: -len(".tgz")] if name.endswith(".tgz") else name
    if "-" not in stem:
        return ""
    return stem.rsplit("-", 1)[1]


def find_distribution(given: str | None, workdir: Path) -> DistributionRef:
    """The operator's ``--kafka-dist`` (path or URL), or the first ``kafka*.tgz`` in ``workdir``."""
    if given:
        parsed = urlparse(given)
        if parsed.scheme in ("http", "https"):
            name = PurePosixPath(parsed.path).name
            if not name:
                raise DistributionNotFound(f"kafka distribution URL has no file name: {given}")
            return DistributionRef(given, name)
        local = Path(parsed.path if parsed.scheme == "file" else given)
        if not local.is_file():
            raise DistributionNotFound(f"kafka distribution not found: {local}")
        return DistributionRef(str(local.resolve()), local.name)
    candidates = sorted(path for path in workdir.glob(DIST_GLOB) if path.is_file())
    if not candidates:
        raise DistributionNotFound(
            f"no Kafka distribution: give --kafka-dist or put a {DIST_GLOB} file in {workdir.resolve()}"
        )
    return DistributionRef(str(candidates[0].resolve()), candidates[0].name)


def read_distribution(path: Path) -> KafkaDistribution:
    """Read the top directory and version from a local ``kafka*.tgz``.

    The version comes from ``libs/kafka_<scala>-<version>.jar`` when the archive has one, else from the file
    name.
    """
    import tarfile  # here, not at the top: the executor imports this module and never reads archives

    version = version_from_name(path.name)
    top_dir = ""
    try:
        with tarfile.open(path, "r:*") as archive:
            for member in archive:
                parts = PurePosixPath(member.name).parts
                if not parts:
                    continue
                if not top_dir and parts[0] not in (".", ""):
                    top_dir = parts[0]
                if len(parts) >= 2 and parts[-2] == "libs":
                    match = _KAFKA_JAR.match(parts[-1])
                    if match and not match.group("version").endswith(("-sources", "-javadoc", "-test")):
                        version = match.group("version")
                        break
    except (OSError, tarfile.TarError) as exc:
        raise DistributionNotFound(f"cannot read kafka distribution {path}: {exc}") from exc
    if not top_dir:
        top_dir = path.name[: -len(".tgz")] if path.name.endswith(".tgz") else path.name
    return KafkaDistribution(path=path, name=path.name, version=version, top_dir=top_dir)


def find_extracted_distribution(sandbox: Path, top_dir: str = "") -> Path:
    """The unpacked distribution in the sandbox: ``top_dir`` if given, else the first ``kafka*`` directory."""
    if top_dir:
        candidate = sandbox / top_dir
        if (candidate / START_SCRIPT).is_file():
            return candidate
    for candidate in sorted(sandbox.iterdir()):
        if candidate.is_dir() and candidate.name.startswith("kafka") and (candidate / START_SCRIPT).is_file():
            return candidate
    wanted = f"{top_dir!r} or kafka*" if top_dir else "kafka*"
    raise DistributionNotFound(f"no extracted Kafka distribution ({wanted} with {START_SCRIPT}) in {sandbox}")
