"""The shared test clips carry what their ground truth claims, checked by decoding them with
OpenCV and looking at them with mediapipe."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from studio.demo.scenarios import Actor, Clip, Shot, render_shots
from tests.demo.measure import frame_steps, read_frames

STILL = 0.6  # mean abs difference (0..255) below which two consecutive frames count as unchanged
MOVING = 1.5


def _index(clip: Clip, t: float) -> int:
    return int(np.argmin(np.abs(np.asarray(clip.frame_times) - t)))


@pytest.fixture(scope="module")
def decoded(request):
    """Decode a clip fixture by name once per module."""
    cache: dict[str, tuple[list[np.ndarray], list[float]]] = {}

    def get(name: str) -> tuple[Clip, list[np.ndarray], list[float]]:
        clip = request.getfixturevalue(name)
        if name not in cache:
            cache[name] = read_frames(clip.path)
        return clip, *cache[name]

    return get


@pytest.mark.parametrize("name", ["face_clip", "no_face_clip", "two_faces_clip", "cut_clip", "black_gap_clip",
                                  "vfr_clip", "rotated_clip"])
def test_clip_has_the_frames_size_and_times_it_claims(decoded, name: str) -> None:
    clip, frames, times = decoded(name)
    assert len(frames) == clip.frame_count
    assert frames[0].shape == (clip.size[1], clip.size[0], 3)
    assert times == pytest.approx(list(clip.frame_times), abs=1e-3)
    assert clip.frame_times[-1] < clip.duration <= clip.frame_times[-1] + 0.5
    assert all(0.0 <= e.time < clip.duration for e in clip.events)
    assert clip.path.stat().st_size < 1_000_000


@pytest.mark.parametrize("name", ["face_clip", "vfr_clip", "rotated_clip", "black_gap_clip"])
def test_motion_starts_exactly_at_the_first_event(decoded, name: str) -> None:
    clip, frames, _ = decoded(name)
    steps = frame_steps(frames)
    onset = clip.onsets("motion")[0]
    k = _index(clip, onset)
    assert clip.frame_times[k] == pytest.approx(onset, abs=1e-6)
    assert steps[1:k + 1].max() < STILL  # nothing moves up to and including the onset frame
    assert steps[k + 1] > MOVING  # the next frame has moved


def test_face_clip_face_follows_its_timeline(decoded, face_mesh) -> None:
    clip, frames, _ = decoded("face_clip")
    sway, mouth = clip.event("sway right"), clip.event("mouth open")
    rest = face_mesh(frames[_index(clip, 0.5)])[0]
    swayed = face_mesh(frames[_index(clip, sway.end + 0.3)])[0]
    opened = face_mesh(frames[_index(clip, mouth.end + 0.2)])[0]
    shift = clip.subject.timeline.value("x", sway.end) * clip.size[1]
    assert swayed.nose[0] - rest.nose[0] == pytest.approx(shift, abs=3.0)
    assert opened.mouth_gap > 2.0 * rest.mouth_gap
    assert rest.face_height == pytest.approx(clip.subject.height_px, rel=0.1)


def test_no_face_clip_has_no_face_and_no_body_but_motion(decoded, face_mesh, face_boxes, shoulders) -> None:
    clip, frames, _ = decoded("no_face_clip")
    assert clip.subject is None and not clip.face_visible(2.0)
    for t in (0.5, 1.5, 3.0):
        frame = frames[_index(clip, t)]
        assert face_mesh(frame) == [] and face_boxes(frame) == []
        assert shoulders(frame) is None
    steps = frame_steps(frames)
    k = _index(clip, clip.event("disc moves").time)
    assert steps[1:k + 1].max() < 0.05 < 0.2 < steps[k + 1:].min()


def test_two_faces_clip_sizes_and_subject(decoded, face_boxes) -> None:
    clip, frames, _ = decoded("two_faces_clip")
    boxes = sorted(face_boxes(frames[0]), key=lambda b: b[3] - b[1], reverse=True)
    assert len(boxes) == 2
    heights = [b[3] - b[1] for b in boxes]
    assert heights[0] / heights[1] == pytest.approx(clip.faces[0].height_px / clip.faces[1].height_px, rel=0.2)
    assert heights[0] > 1.6 * heights[1]
    big_x = 0.5 * (boxes[0][0] + boxes[0][2])
    assert big_x == pytest.approx(clip.subject.center_px[0], abs=15.0)
    assert clip.subject.name == "subject"


def test_cut_clip_changes_everything_at_the_cut(decoded, face_mesh) -> None:
    clip, frames, _ = decoded("cut_clip")
    steps = frame_steps(frames)
    k = _index(clip, clip.cut_time)
    assert int(np.argmax(steps)) == k
    assert steps[k] > 3 * np.sort(steps)[-2]
    before, after = face_mesh(frames[k - 1])[0], face_mesh(frames[k])[0]
    first, second = clip.faces
    assert before.face_height == pytest.approx(first.height_px, rel=0.12)
    assert after.face_height == pytest.approx(second.height_px, rel=0.12)
    assert (second.shot_start, first.shot_end) == (clip.cut_time, clip.cut_time)


def test_black_gap_clip_is_black_exactly_in_the_gap(decoded) -> None:
    clip, frames, _ = decoded("black_gap_clip")
    t0, t1 = clip.black_gap
    for t, frame in zip(clip.frame_times, frames, strict=True):
        assert (frame.mean() < 2.0) == (t0 <= t < t1), t
        assert clip.face_visible(t) == (not t0 <= t < t1)


def test_vfr_clip_really_has_uneven_timestamps(vfr_clip: Clip) -> None:
    steps = np.diff(vfr_clip.frame_times)
    assert steps.max() == pytest.approx(0.2) and steps.min() == pytest.approx(0.04)
    capture = cv2.VideoCapture(str(vfr_clip.path), cv2.CAP_FFMPEG)
    nominal = capture.get(cv2.CAP_PROP_FPS)
    capture.release()
    # counting frames at the nominal rate would put the nod (3.0 s) far from where it is
    k = list(vfr_clip.frame_times).index(vfr_clip.event("nod").time)
    assert abs(k / nominal - vfr_clip.event("nod").time) > 0.5


def test_rotated_clip_is_stored_turned_and_plays_upright(decoded, rotated_clip: Clip) -> None:
    clip, frames, _ = decoded("rotated_clip")
    assert clip.rotation == 90 and clip.stored_size == (clip.size[1], clip.size[0])
    capture = cv2.VideoCapture(str(clip.path), cv2.CAP_FFMPEG)
    capture.set(cv2.CAP_PROP_ORIENTATION_AUTO, 0)
    assert capture.get(cv2.CAP_PROP_ORIENTATION_META) == 90
    ok, stored = capture.read()
    capture.release()
    assert ok and stored.shape[:2] == (clip.stored_size[1], clip.stored_size[0])
    subject = clip.subject
    shots = (Shot(0.0, (Actor(subject.timeline, subject.placement),)),)
    t = 2.0
    (expected,) = render_shots(shots, clip.size, [t])
    assert np.abs(frames[_index(clip, t)].astype(int) - expected).mean() < 3.0
