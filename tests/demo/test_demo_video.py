"""The bundled demo video: format and size, the script that makes it, and what is in it."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest

import studio.demo
from studio.demo import make_demo_video as demo
from studio.demo.scenarios import Actor, Shot, render_shots
from tests.demo.measure import frame_steps, read_frames


@pytest.fixture(scope="module")
def decoded(demo_video: Path) -> tuple[list[np.ndarray], list[float]]:
    return read_frames(demo_video)


@pytest.fixture(scope="module")
def truth(demo_events: Path) -> dict:
    return json.loads(demo_events.read_text(encoding="utf-8"))


def _frame(decoded, t: float) -> np.ndarray:
    return decoded[0][int(round(t * demo.FPS))]


def test_demo_is_bundled_inside_the_package(demo_video: Path, demo_events: Path) -> None:
    package = Path(studio.demo.__file__).parent
    assert demo_video.parent == package == demo_events.parent
    assert demo_video.name == "demo.mp4"
    assert 100_000 < demo_video.stat().st_size < 5_000_000


def test_demo_format(demo_video: Path, decoded) -> None:
    capture = cv2.VideoCapture(str(demo_video), cv2.CAP_FFMPEG)
    code = int(capture.get(cv2.CAP_PROP_FOURCC))
    assert "".join(chr((code >> 8 * k) & 0xFF) for k in range(4)) in {"avc1", "h264"}
    assert capture.get(cv2.CAP_PROP_FPS) == pytest.approx(25.0)
    capture.release()
    frames, times = decoded
    duration = len(frames) / 25.0
    assert 10.0 <= duration <= 20.0
    assert duration == pytest.approx(demo.DURATION)
    assert frames[0].shape == (demo.SIZE[1], demo.SIZE[0], 3)
    assert times == pytest.approx([i / 25.0 for i in range(len(frames))], abs=1e-3)


def test_event_list_is_what_the_script_makes(truth: dict) -> None:
    assert truth == json.loads(json.dumps(demo.ground_truth()))
    assert truth["licence"].startswith("Portrait of astronaut Eileen Collins by NASA")
    assert all(0.0 <= e["time"] < e["end"] <= truth["duration"] for e in truth["events"])
    kinds = {e["kind"] for e in truth["events"]}
    assert kinds == {"motion", "expression"}
    assert any(b - a >= 1.5 for a, b in truth["still_sections"])


def test_video_is_what_the_script_renders(decoded) -> None:
    shots = (Shot(0.0, (Actor(demo.demo_timeline(), demo.PLACEMENT),), palette="studio", seed=7),)
    times = [0.0, 4.2, 11.8, 13.3]
    for t, expected in zip(times, render_shots(shots, demo.SIZE, times), strict=True):
        mse = np.mean((_frame(decoded, t).astype(float) - expected) ** 2)
        assert 10 * math.log10(255.0**2 / mse) > 32.0, t


def test_a_face_and_shoulders_are_on_screen_throughout(decoded, face_mesh, shoulders) -> None:
    for t in (0.5, 4.3, 8.0, 11.0, 13.3, 15.5):
        frame = _frame(decoded, t)
        assert len(face_mesh(frame)) == 1, t
        found = shoulders(frame)
        assert found is not None and (found[1] > 0.5).all(), t


def test_expressions_show_when_the_event_list_says(decoded, truth: dict, face_mesh) -> None:
    events = {e["name"]: e for e in truth["events"]}
    calm = face_mesh(_frame(decoded, 1.0))[0]
    singing = face_mesh(_frame(decoded, events["sing 2"]["end"] + 0.1))[0]
    assert singing.mouth_gap > 2.0 * calm.mouth_gap
    assert singing.brow_height > calm.brow_height * 1.1  # "brow raise" shares the onset


def test_stills_are_still_and_sharp_onsets_move_at_once(decoded, truth: dict) -> None:
    steps = frame_steps(decoded[0])
    for a, b in truth["still_sections"]:
        ka, kb = int(math.ceil(a * 25)) + 1, int(b * 25)
        assert steps[ka:kb + 1].max() < 0.2, (a, b)
    sharp = [e for e in truth["events"] if e["kind"] == "motion" and e["peak"] == e["time"]]
    assert len(sharp) >= 8
    for e in sharp:
        k = int(math.floor(e["time"] * 25 + 1e-6))  # last frame at or before the onset
        assert steps[k + 1] > 0.5, e["name"]


def test_script_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        demo.main(["--help"])
    assert exit_info.value.code == 0
    assert "demo" in capsys.readouterr().out
