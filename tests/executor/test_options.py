from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kafka_mesos.executor.options import LINGER_ENV, ExecutorOptionError, linger_from_environ
from tests.executor.test_executor_session import base_environ


def test_linger_defaults_to_zero_and_reads_seconds() -> None:
    assert linger_from_environ({}) == 0.0
    assert linger_from_environ({LINGER_ENV: ""}) == 0.0
    assert linger_from_environ({LINGER_ENV: "0"}) == 0.0
    assert linger_from_environ({LINGER_ENV: " 2.5 "}) == 2.5
    assert linger_from_environ({LINGER_ENV: "30"}) == 30.0


@pytest.mark.parametrize("bad", ["-1", "abc", "5s", "nan", "inf", "1e400"])
def test_bad_linger_values_are_refused(bad: str) -> None:
    with pytest.raises(ExecutorOptionError, match=LINGER_ENV):
        linger_from_environ({LINGER_ENV: bad})


def test_the_executor_refuses_to_start_with_a_bad_linger() -> None:
    environ = {**base_environ(), LINGER_ENV: "soon"}
    result = subprocess.run([sys.executable, "-m", "kafka_mesos.executor"], env=environ, capture_output=True,
                            text=True, timeout=60, check=False, cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 64
    assert f"{LINGER_ENV} must be a number of seconds, not 'soon'" in result.stderr
