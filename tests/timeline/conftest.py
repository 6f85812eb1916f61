"""Fixtures: three short generated shots at 25 and 29.97 fps, beside which the timelines are written."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.demo import scenarios

SIZE = (160, 120)


def make_shots(folder: Path, fps: float) -> list[Path]:
    """A face, a drifting disc and a shot with a hard cut at 1.0 s, 2 s each at ``fps``."""
    folder.mkdir(parents=True, exist_ok=True)
    return [
        scenarios.face_clip(folder / "shot_a.mp4", size=SIZE, fps=fps, duration=2.0).path,
        scenarios.no_face_clip(folder / "shot_b.mp4", size=SIZE, fps=fps, duration=2.0).path,
        scenarios.cut_clip(folder / "shot_c.mp4", size=SIZE, fps=fps, duration=2.0, cut_time=1.0).path,
    ]


@pytest.fixture(scope="session")
def shots_25(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return make_shots(tmp_path_factory.mktemp("shots25"), 25.0)


@pytest.fixture(scope="session")
def shots_2997(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return make_shots(tmp_path_factory.mktemp("shots2997"), 30000 / 1001)
