"""Timelines written through every OpenTimelineIO adapter read back frame-exact: edits, markers, start timecode."""

from __future__ import annotations

import shutil
from pathlib import Path

import opentimelineio as otio
import pytest

from studio.timeline import TimelineError, read_timeline
from tests.timeline.build import (
    CARRIES,
    CLIP_MARKER,
    CLIP_MARKER_RECORD,
    EDITS,
    SEQUENCE_MARKER,
    SHOTS,
    START,
    SUFFIXES,
    build_timeline,
    write_timeline,
)


@pytest.mark.parametrize("adapter", list(SUFFIXES))
@pytest.mark.parametrize("fps_name", ["25", "29.97"])
def test_every_adapter_reads_back_frame_exact(adapter: str, fps_name: str, shots_25: list[Path],
                                              shots_2997: list[Path]) -> None:
    fps, shots = (25.0, shots_25) if fps_name == "25" else (30000 / 1001, shots_2997)
    folder = shots[0].parent
    built = write_timeline(build_timeline(shots, fps), folder, adapter, fps)

    timeline = read_timeline(built.path)

    # OpenTimelineIO's EDL writer counts 29.97 in drop frame: the same first frame, another label
    drop = adapter == "cmx_3600" and fps_name == "29.97"
    assert timeline.rate.written == float(fps_name)
    assert timeline.rate.drop_frame == drop
    assert timeline.start_frame == round(otio.opentime.from_timecode(START, fps).value)
    assert timeline.start_timecode == ("01:00:03;18" if drop else START)
    assert timeline.edit_frames == EDITS
    assert [(c.media, c.source_in, c.duration) for c in timeline.clips] == [
        (path.resolve(), source_in, duration) for path, (source_in, duration) in zip(shots, SHOTS, strict=True)]
    assert timeline.duration == sum(d for _, d in SHOTS)
    sequence_kept, colours_kept = CARRIES[adapter]
    expected = [(CLIP_MARKER_RECORD, CLIP_MARKER[0].lower(), CLIP_MARKER[2] if colours_kept else None)]
    if sequence_kept:
        colour = SEQUENCE_MARKER[2] if colours_kept else None
        expected.insert(0, (SEQUENCE_MARKER[1], SEQUENCE_MARKER[0].lower(), colour))
    got = [(m.frame, m.name.lower(), m.color_name if colours_kept else None) for m in timeline.markers]
    assert got == expected


def test_media_is_relinked_by_name_next_to_a_moved_timeline(tmp_path: Path, shots_25: list[Path]) -> None:
    timeline = build_timeline(shots_25, 25.0)
    for clip in timeline.find_clips():
        clip.media_reference.target_url = f"file:///Volumes/Editor/Footage/{clip.name}"
    moved = tmp_path / "project"
    (moved / "media").mkdir(parents=True)
    for shot in shots_25:
        shutil.copy(shot, moved / "media" / shot.name)
    otio.adapters.write_to_file(timeline, str(moved / "scene.otio"))

    read = read_timeline(moved / "scene.otio")

    assert [c.media for c in read.clips] == [(moved / "media" / s.name).resolve() for s in shots_25]


def test_missing_media_is_listed_in_one_sentence(tmp_path: Path, shots_25: list[Path]) -> None:
    otio.adapters.write_to_file(build_timeline(shots_25, 25.0), str(tmp_path / "scene.otio"))
    shutil.copy(shots_25[1], tmp_path / shots_25[1].name)

    with pytest.raises(TimelineError) as caught:
        read_timeline(tmp_path / "scene.otio")

    message = str(caught.value)
    assert "2 media files not found (shot_a.mp4, shot_c.mp4)" in message
    assert message.count(".") >= 2 and "\n" not in message


def test_a_content_hash_passes_over_a_same_named_file(tmp_path: Path, shots_25: list[Path]) -> None:
    from expotion_engine.media.hashing import content_hash

    timeline = build_timeline(shots_25, 25.0)
    first = timeline.find_clips()[0].media_reference
    first.metadata["expotion"] = {"content_hash": content_hash(shots_25[0])}
    for shot in shots_25[1:]:
        shutil.copy(shot, tmp_path / shot.name)
    shutil.copy(shots_25[1], tmp_path / shots_25[0].name)  # right name, other content
    otio.adapters.write_to_file(timeline, str(tmp_path / "scene.otio"))

    with pytest.raises(TimelineError, match=r"1 media file not found \(shot_a.mp4\)"):
        read_timeline(tmp_path / "scene.otio")


def test_gaps_and_a_top_track_are_cut_where_the_picture_changes(tmp_path: Path, shots_25: list[Path]) -> None:
    timeline = build_timeline(shots_25, 25.0)
    track = timeline.tracks[0]
    track.insert(1, otio.schema.Gap(source_range=otio.opentime.TimeRange(duration=otio.opentime.RationalTime(10, 25))))
    top = otio.schema.Track(name="V2", kind=otio.schema.TrackKind.Video)
    top.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(duration=otio.opentime.RationalTime(100, 25))))
    insert = otio.schema.ExternalReference(target_url=shots_25[1].name)
    top.append(otio.schema.Clip(name="insert", media_reference=insert, source_range=otio.opentime.TimeRange(
        otio.opentime.RationalTime(0, 25), otio.opentime.RationalTime(5, 25))))
    timeline.tracks.append(top)
    for shot in shots_25:
        shutil.copy(shot, tmp_path / shot.name)
    otio.adapters.write_to_file(timeline, str(tmp_path / "scene.otio"))

    read = read_timeline(tmp_path / "scene.otio")

    # shot A 0-40, gap 40-50, shot B 50-84, shot C 84-100, the V2 insert 100-105 over it, shot C again 105-124
    assert read.edit_frames == (40, 50, 84, 100, 105)
    assert [c.is_gap for c in read.clips] == [False, True, False, False, False, False]
    assert (read.clips[4].name, read.clips[4].source_in) == ("insert", 0)
    assert (read.clips[5].source_in, read.clips[5].duration) == (21, 19)
