"""Hit timing on the generated sync set (studio/demo/sync_set.py): clips whose jolts,
gestures, expression changes and cuts (to another room and within one room) start on
known, irregular frames at 10, 12.5, 25 and 29.97 fps, half analysed from an in point,
and one whose video stream starts 0.85 s into the file."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from expotion_engine.types import Marker
from expotion_engine.vision import AnalysisSettings, analyze_video
from studio.demo.sync_set import (
    FRAME_RATES,
    SyncEvent,
    performance_clip,
    scene_cuts_clip,
    still_clip,
    stream_offset_copy,
)

TOLERANCE = 0.040  # s: a hit this close to its event counts as on it


@dataclass(frozen=True)
class Match:
    """One ground-truth event and the hit nearest to it (None when there is no hit at all)."""

    event: SyncEvent
    hit: Marker | None

    @property
    def error(self) -> float:
        return np.inf if self.hit is None else self.hit.time - self.event.time

    @property
    def found(self) -> bool:
        return abs(self.error) <= TOLERANCE


@pytest.fixture(scope="module")
def matches(tmp_path_factory) -> list[Match]:
    """Every event of the set with its nearest hit, times from each track's time zero."""
    folder = tmp_path_factory.mktemp("sync")
    clips = []
    for i, fps in enumerate(FRAME_RATES):
        offset = 0.0 if i % 2 == 0 else 0.2 + 0.37 * i
        clips.append(performance_clip(folder / f"perf{i}.mp4", fps=fps, seed=i, duration=4.0, start=offset))
        clips.append(scene_cuts_clip(folder / f"scene{i}.mp4", fps=fps, seed=i, shot_length=1.1, start=offset))
    clips.append(stream_offset_copy(clips[4], folder / "perf_offset.mp4"))
    out = []
    for clip in clips:
        track = analyze_video(clip.clip.path, AnalysisSettings(start=clip.start or None))
        hits = [m for m in track.markers if m.kind == "hit"]
        for event in clip.expected(track.source.start):
            nearest = min(hits, key=lambda m: abs(m.time - event.time), default=None)
            out.append(Match(event, nearest))
    return out


def test_the_set_covers_every_kind_of_event(matches) -> None:
    causes = {m.event.cause for m in matches}
    assert causes == {"motion", "expression", "cut"}
    assert sum(m.event.same_scene for m in matches) >= 12
    assert len(matches) >= 50


def test_hit_recall_is_at_least_95_percent_within_40_ms(matches) -> None:
    missed = [(m.event.name, round(m.event.time, 3), round(m.error, 3)) for m in matches if not m.found]
    assert 1.0 - len(missed) / len(matches) >= 0.95, missed


def test_hits_sit_on_the_event_frame_without_early_bias(matches) -> None:
    errors = np.array([m.error for m in matches if m.found])
    assert np.median(np.abs(errors)) <= 0.015
    assert abs(errors.mean()) <= 0.010, errors


def test_cuts_within_one_scene_are_found_as_cuts(matches) -> None:
    same = [m for m in matches if m.event.same_scene]
    found = [m for m in same if m.found and m.hit.cause == "cut"]
    assert len(found) / len(same) >= 0.90, [(m.event.name, m.error, m.hit and m.hit.cause) for m in same]


def test_cuts_rank_above_ordinary_motion(matches) -> None:
    cuts = [m.hit.strength for m in matches if m.found and m.event.cause == "cut"]
    moves = [m.hit.strength for m in matches if m.found and m.event.cause != "cut"]
    assert min(cuts) > max(moves)
    assert all(0.0 < s <= 1.0 for s in cuts + moves)


def test_a_still_picture_of_a_small_person_gives_no_hits(tmp_path) -> None:
    clip = still_clip(tmp_path / "still.mp4")
    track = analyze_video(clip.clip.path, AnalysisSettings())
    assert [m for m in track.markers if m.kind == "hit"] == []
