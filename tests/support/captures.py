"""Where the recordings of real Apache Mesos 1.12 traffic (golden test vectors) are kept in the repository."""

from pathlib import Path

CAPTURES = Path(__file__).resolve().parents[1] / "captures"
