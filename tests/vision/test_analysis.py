"""Video analysis on generated clips with known ground truth (see studio/demo/scenarios.py)."""

from __future__ import annotations

import numpy as np
import pytest

from expotion_engine.media.reader import iter_frames
from expotion_engine.types import ControlTrack
from expotion_engine.vision import AnalysisSettings, analyze_video

ANALYSIS_FRAME = 0.1  # seconds between analysed frames at the default 10 fps


@pytest.fixture(scope="module")
def analysed(face_clip, no_face_clip, two_faces_clip, cut_clip, black_gap_clip):
    """Each clip analysed once with default settings."""
    clips = {
        "face": face_clip,
        "no_face": no_face_clip,
        "two_faces": two_faces_clip,
        "cut": cut_clip,
        "black_gap": black_gap_clip,
    }
    return {name: (clip, analyze_video(clip.path, AnalysisSettings())) for name, clip in clips.items()}


def _mean(track: ControlTrack, name: str, start: float, end: float) -> float:
    window = (track.times >= start) & (track.times < end) & track.valid(name)
    assert window.any(), f"{name} has no valid frame in {start}-{end} s"
    return float(track.channel(name)[window].mean())


def _hits(track: ControlTrack) -> np.ndarray:
    return np.array([m.time for m in track.markers if m.kind == "hit"])


def test_track_covers_the_video_at_the_control_rate(analysed) -> None:
    clip, track = analysed["face"]
    assert track.rate == 50.0
    assert track.n_frames == round(clip.duration * 50)
    assert track.source.fps == pytest.approx(clip.fps)
    assert track.source.content_hash and track.versions["mediapipe"].startswith("0.10")
    assert track.settings["subject"] == "largest face in frame"


def test_face_channels_follow_the_animated_face(analysed) -> None:
    clip, track = analysed["face"]
    assert track.valid("face_mouth_open")[track.times < clip.duration - 0.2].mean() > 0.95
    still_mouth = _mean(track, "face_mouth_open", 0.2, 0.9)
    open_mouth = _mean(track, "face_mouth_open", 2.35, 2.75)
    assert open_mouth > still_mouth + 0.03, (still_mouth, open_mouth)
    assert _mean(track, "face_x", 1.5, 1.9) > _mean(track, "face_x", 0.2, 0.9) + 0.03  # sway right
    assert _mean(track, "face_brow_raise", 4.6, 4.9) > _mean(track, "face_brow_raise", 3.8, 4.1) + 0.005
    assert abs(_mean(track, "face_roll", 3.9, 4.1) - _mean(track, "face_roll", 2.9, 3.3)) > 2.0  # nod with tilt


def test_hit_points_land_on_the_events_the_clip_was_built_with(analysed) -> None:
    clip, track = analysed["face"]
    hits = _hits(track)
    for event in clip.events:
        if event.kind not in ("motion", "expression"):
            continue
        nearest = float(np.min(np.abs(hits - event.time))) if len(hits) else np.inf
        assert nearest <= ANALYSIS_FRAME + 1e-6, f"{event.name} at {event.time} s: nearest hit {nearest:.3f} s away"
    still = hits[hits < 0.8]
    assert len(still) == 0, f"hits while the face is still: {still}"


def test_no_face_is_masked_not_zero(analysed) -> None:
    clip, track = analysed["no_face"]
    assert not track.valid("face_mouth_open").any()
    assert not track.valid("valence").any()
    assert track.valid("flow_energy").mean() > 0.9
    moving = _mean(track, "flow_energy", clip.onsets()[0] + 0.5, clip.duration - 0.2)
    assert moving > 2 * _mean(track, "flow_energy", 0.1, clip.onsets()[0] - 0.1)


def test_the_largest_of_two_faces_is_the_subject(analysed) -> None:
    clip, track = analysed["two_faces"]
    subject, other = clip.faces[0], clip.faces[1]
    size = _mean(track, "face_size", 0.2, clip.duration - 0.2)
    subject_size = subject.height_px / clip.size[1]
    assert abs(size - subject_size) < abs(size - other.height_px / clip.size[1])
    assert _mean(track, "face_x", 0.2, 1.0) == pytest.approx(subject.center_px[0] / clip.size[0], abs=0.05)
    assert track.settings["max_faces_seen"] == 2


def _first_frame_at(clip, t: float) -> float:
    return min(f for f in clip.frame_times if f >= t - 1e-9)


def test_a_cut_becomes_a_hit_on_its_first_frame_without_spurious_motion(analysed) -> None:
    clip, track = analysed["cut"]
    cuts = [m for m in track.markers if m.cause == "cut"]
    assert len(cuts) == 1 and cuts[0].time == pytest.approx(_first_frame_at(clip, clip.cut_time), abs=1e-3)
    assert cuts[0].strength >= 0.8 and cuts[0].name.startswith("cut")
    near = (track.times > clip.cut_time - 0.3) & (track.times < clip.cut_time + 0.3)
    assert track.channel("body_speed")[near & track.valid("body_speed")].max(initial=0.0) < 1.0
    assert track.valid("face_mouth_open")[track.times > clip.cut_time + 0.3].mean() > 0.9


def test_a_black_gap_is_masked_and_marked(analysed) -> None:
    clip, track = analysed["black_gap"]
    gap_start, gap_end = clip.black_gap
    inside = (track.times > gap_start + 0.15) & (track.times < gap_end - 0.15)
    assert not track.valid("face_mouth_open")[inside].any()
    outside = (track.times < gap_start - 0.2) | (track.times > gap_end + 0.3)
    assert track.valid("face_mouth_open")[outside].mean() > 0.9
    cuts = sorted(m.time for m in track.markers if m.cause == "cut")
    assert len(cuts) == 2
    assert cuts == pytest.approx([_first_frame_at(clip, gap_start), _first_frame_at(clip, gap_end)], abs=1e-3)


def test_in_and_out_points_select_the_range(face_clip) -> None:
    track = analyze_video(face_clip.path, AnalysisSettings(start=1.5, end=4.0))
    assert track.duration == pytest.approx(2.5)
    assert track.n_frames == 125
    assert (track.source.start, track.source.end) == (1.5, 4.0)
    hits = _hits(track)
    mouth = face_clip.event("mouth open").time - 1.5
    assert np.min(np.abs(hits - mouth)) <= ANALYSIS_FRAME


def test_variable_frame_rate_timestamps_are_honoured(vfr_clip) -> None:
    times = np.array([f.time for f in iter_frames(vfr_clip.path, rate=1000.0)])
    np.testing.assert_allclose(times, vfr_clip.frame_times, atol=2e-3)
    picked = np.array([f.time for f in iter_frames(vfr_clip.path, rate=10.0)])
    # at most one analysed frame per 100 ms slot, each the first frame at or after its slot
    slots = np.floor(picked * 10.0 + 1e-6)
    assert len(np.unique(slots)) == len(slots)


def test_rotation_metadata_is_applied(rotated_clip) -> None:
    frame = next(iter(iter_frames(rotated_clip.path, rate=10.0, max_side=4096)))
    assert frame.rgb.shape[1::-1] == tuple(rotated_clip.size)
    track = analyze_video(rotated_clip.path, AnalysisSettings())
    assert track.source.rotation == rotated_clip.rotation
    assert track.valid("face_mouth_open").mean() > 0.9


def test_analysing_again_gives_the_same_track(analysed) -> None:
    clip, track = analysed["face"]
    again = analyze_video(clip.path, AnalysisSettings())
    assert np.array_equal(again.values, track.values) and np.array_equal(again.mask, track.mask)
    assert again.markers == track.markers
