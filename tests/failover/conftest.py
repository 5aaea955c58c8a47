from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.standin import build_standin_dist


@pytest.fixture
def standin_dist(tmp_path: Path) -> Path:
    return build_standin_dist(tmp_path / "dist")
