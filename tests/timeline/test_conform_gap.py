"""A gap of the old sequence in the conform's report: cut when the recut closes it up (and a hit on it lost for
that reason), still in the cut when the recut keeps a gap there.

The old cut is shot a (100 frames), a 30-frame gap, shot b (100 frames), scored by the
procedural engine from controls with a hit (cause ``edit``) on each edit point, the gap's
first frame among them (as the QA's "dgap" recut).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest

from expotion_engine.engines.procedural.engine import ProceduralEngine
from expotion_engine.types import ControlTrack, GenerationRequest, Marker, Take, VideoSource
from studio.commands.conform import report_data, report_lines
from studio.timeline import Timeline, TimelineClip
from studio.timeline.conform import conform_plan
from studio.timeline.conform_audio import conform_take
from tests.engines.procedural.hit_tracks import synth_preset
from tests.timeline.recut import FPS, RATE, SR

Shots = tuple[tuple[str | None, int, int], ...]
#: (media, source in, frames) per shot; media None: a gap
OLD = (("a", 0, 100), (None, 0, 30), ("b", 0, 100))
CLOSED = (("a", 0, 100), ("b", 0, 100))
SHORTER = (("a", 0, 100), (None, 0, 12), ("b", 0, 100))


def _cut(shots: Shots, name: str) -> Timeline:
    clips, record = [], 0
    for media, source_in, duration in shots:
        clips.append(TimelineClip(media or "gap", Path(f"/media/{media}.mp4") if media else None, source_in, record,
                                  duration))
        record += duration
    return Timeline(Path(f"/cuts/{name}.otio"), name, RATE, 90000, tuple(clips))


def _request(shots: Shots) -> GenerationRequest:
    """The procedural request for ``shots``: each shot's energy (low in a gap), a hit on every edit point."""
    energy, markers, record = [], [], 0
    for index, (media, source_in, duration) in enumerate(shots):
        frames = np.arange(source_in, source_in + duration)
        energy.append(np.full(duration, 0.1) if media is None else 0.5 + 0.2 * np.sin(frames / 17.0))
        if index:
            markers.append(Marker(record / FPS, f"edit {index}", "hit", strength=1.0, cause="edit"))
        record += duration
    e = np.concatenate(energy)
    values = np.stack([e, np.full(len(e), 0.2), e, e], axis=1).astype(np.float32)
    source = VideoSource(path="sequence.mp4", content_hash="sequence", fps=FPS, width=320, height=180,
                         duration=record / FPS, start=0.0, end=record / FPS)
    controls = ControlTrack(rate=FPS, channels=("energy", "valence", "flow_energy", "body_speed"), values=values,
                            mask=np.ones_like(values, bool), source=source, markers=tuple(markers))
    return GenerationRequest(controls=controls, preset=synth_preset("cinematic"), seed=5, sample_rate=SR, bpm=120.0)


@cache
def _scored() -> Take:
    return ProceduralEngine().generate(_request(OLD))


def _report(new_shots: Shots) -> tuple[dict, list[str]]:
    old_tl, new_tl = _cut(OLD, "old"), _cut(new_shots, "new")
    plan = conform_plan(old_tl, new_tl)
    result = conform_take(_scored(), plan, old_tl, new_tl, _request(new_shots))
    data = {**report_data(plan, result, old_tl, new_tl), "user_markers_lost": []}
    return data, report_lines(data)


def test_a_gap_the_recut_closes_is_cut_and_its_hit_lost_with_it() -> None:
    plan = conform_plan(_cut(OLD, "old"), _cut(CLOSED, "new"))
    assert plan.removed == () and plan.removed_gaps == ((100, 130),)
    assert plan.to_new(110) is None and plan.to_new(130) == 100
    assert plan.report(FPS)[-1] == "removed old 100-130 (1.20 s) (a gap)"

    data, lines = _report(CLOSED)
    assert data["removed_old_frames"] == [] and data["removed_old_gaps"] == [[100, 130]]
    cut = [line.split() for line in lines if line.startswith("cut ")]
    assert cut == [["cut", "-", "100-130", "gap"]]
    lost = {h["name"]: h for h in data["hits_lost"]}
    assert lost["edit 1"]["reason"] == "its frames were cut from the sequence"
    assert round(lost["edit 1"]["old_time"] * FPS) == 100  # inside the cut row's old frames
    assert "  lost hit edit 1 at 4.000 s: its frames were cut from the sequence" in lines


def test_a_gap_the_recut_keeps_is_not_cut_and_its_hit_not_lost_as_cut() -> None:
    plan = conform_plan(_cut(OLD, "old"), _cut(OLD, "same"))
    assert plan.removed_gaps == () and plan.gaps == ((100, 130, 100),) and plan.to_new(110) == 110

    data, lines = _report(OLD)
    assert data["removed_old_gaps"] == [] and not any(line.startswith("cut ") for line in lines)
    fates = {h["name"]: h for h in [*data["hits_kept"], *data["hits_replanned"], *data["hits_lost"]]}
    assert fates["edit 1"]["reason"] != "its frames were cut from the sequence"


@pytest.mark.parametrize(("new_shots", "removed", "kept"), [
    (SHORTER, ((112, 130),), ((100, 112, 100),)),  # 18 of its 30 frames closed up
    ((("a", 0, 90), (None, 0, 30), ("b", 0, 100)), (), ((100, 130, 90),)),  # shot a trimmed: the gap moves
    ((("b", 0, 100), (None, 0, 30), ("a", 0, 100)), ((100, 130),), ()),  # shots swapped: it is another gap
])
def test_an_old_gap_is_known_by_its_neighbours(new_shots: Shots, removed: tuple, kept: tuple) -> None:
    plan = conform_plan(_cut(OLD, "old"), _cut(new_shots, "new"))
    assert plan.removed_gaps == removed and plan.gaps == kept
