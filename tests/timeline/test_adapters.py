"""``expotion score`` on one sequence written through every OpenTimelineIO adapter (.otio, FCP 7 XML, FCPXML,
CMX3600 EDL) at 25 and 29.97 fps from 01:00:00:00: the edits are hits at their exact frames, the markers are
the session's cues, the session records the sequence, and the delivery holds the sequence with the score."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import opentimelineio as otio
import pytest

from studio.cli import main
from studio.session import Session
from studio.timecode import frame_seconds
from studio.timeline import read_timeline
from studio.timeline.controls import timeline_controls
from studio.timeline.deliver import ROUNDTRIP
from studio.timeline.relink import url_path
from tests.timeline.build import (
    CARRIES,
    CLIP_MARKER,
    CLIP_MARKER_RECORD,
    EDITS,
    SEQUENCE_MARKER,
    SUFFIXES,
    build_timeline,
    write_timeline,
)

#: analysed frames per second: enough for the tiny shots, cheap for eight runs
ANALYSIS_FPS = "5"


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One analysis cache for every run: each rate's clips are analysed once, whatever the format."""
    folder = tmp_path_factory.mktemp("adapter_cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EXPOTION_CACHE_DIR", str(folder))
        yield folder


@pytest.mark.slow
@pytest.mark.parametrize("adapter", list(SUFFIXES))
@pytest.mark.parametrize("fps_name", ["25", "29.97"])
def test_score_reads_every_adapter_with_exact_edits_markers_and_timecode(
        adapter: str, fps_name: str, cache: Path, tmp_path: Path, shots_25: list[Path],
        shots_2997: list[Path]) -> None:
    fps, shots = (25.0, shots_25) if fps_name == "25" else (30000 / 1001, shots_2997)
    built = write_timeline(build_timeline(shots, fps), shots[0].parent, adapter, fps)
    out = tmp_path / "out"

    assert main(["score", str(built.path), "-o", str(out), "--seed", "1", "--analysis-fps", ANALYSIS_FPS,
                 "--format", "audio"]) == 0

    timeline = read_timeline(built.path)
    session = Session.load(next(out.glob("*.expotion")))
    # cuts: every edit point a hit of its own cause at its exact frame; those the music marks are on them too
    edits = [m for m in timeline_controls(timeline, session.analysis_settings()).markers if m.cause == "edit"]
    assert [m.time * fps for m in edits] == pytest.approx(EDITS, abs=1e-6)
    take = json.loads((out / "take.json").read_text())
    marked = [m["time"] * fps for m in take["markers"] if m.get("cause") == "edit"]
    assert marked and all(min(abs(t - e) for e in EDITS) < 1e-6 for t in marked)
    # markers: the timeline's, at their frames, as cues (what each format carries of them)
    sequence_kept, colours_kept = CARRIES[adapter]
    expected = [(CLIP_MARKER_RECORD, CLIP_MARKER[0].lower())]
    if sequence_kept:
        expected.insert(0, (SEQUENCE_MARKER[1], SEQUENCE_MARKER[0].lower()))
    assert [(round(m.time * fps, 6), m.name.lower()) for m in session.markers] == [
        (float(frame), name) for frame, name in expected]
    if colours_kept:
        assert [m.color for m in session.markers][-1] == "#2060e0"  # BLUE
    # the sequence's timecode, and the sequence itself recorded in the session
    assert session.timecode_start == frame_seconds(timeline.start_frame, timeline.rate)
    assert timeline.start_frame == round(otio.opentime.from_timecode("01:00:00:00", fps).value)
    recorded = session.timeline
    assert recorded is not None
    assert (recorded.path, recorded.adapter, recorded.rate, recorded.start_frame) == (
        built.path.resolve(), adapter, timeline.rate.spec, timeline.start_frame)
    # the delivery holds the sequence in its own format with the delivered mix and stems laid in
    roundtrip = next((out / "delivery").glob(f"*_sequence{ROUNDTRIP[adapter][1]}"))
    back = otio.adapters.read_from_file(str(roundtrip), adapter_name=ROUNDTRIP[adapter][0])
    if isinstance(back, otio.schema.SerializableCollection):
        back = next(back.find_children(descended_from_type=otio.schema.Timeline))
    urls = {url_path(clip.media_reference.target_url).resolve() for clip in back.find_clips()}
    delivered = set((out / "delivery").rglob("*.wav"))
    assert len(delivered) == 1 + len(take["stems"]) and delivered <= urls
