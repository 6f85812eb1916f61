"""Fixtures: three short generated shots at 25 and 29.97 fps, beside which the timelines are written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.timeline.build import make_shots


@pytest.fixture(scope="session")
def shots_25(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return make_shots(tmp_path_factory.mktemp("shots25"), 25.0)


@pytest.fixture(scope="session")
def shots_2997(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return make_shots(tmp_path_factory.mktemp("shots2997"), 30000 / 1001)
