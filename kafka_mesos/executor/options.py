"""Executor settings of our own (not Mesos'), read from the environment the scheduler gives the executor."""

from __future__ import annotations

import math
from collections.abc import Mapping

from kafka_mesos.kafka.launch import EXECUTOR_LINGER_ENV as LINGER_ENV


class ExecutorOptionError(ValueError):
    pass


def linger_from_environ(environ: Mapping[str, str]) -> float:
    """How long an idle executor (every task terminal and acknowledged) waits for another LAUNCH before it
    exits: ``KAFKA_MESOS_EXECUTOR_LINGER_SECONDS``, a non-negative number of seconds; absent or empty = 0."""
    text = environ.get(LINGER_ENV, "").strip()
    if not text:
        return 0.0
    try:
        value = float(text)
    except ValueError:
        raise ExecutorOptionError(f"{LINGER_ENV} must be a number of seconds, not {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ExecutorOptionError(f"{LINGER_ENV} must be a finite number of seconds >= 0, not {text!r}")
    return value
