"""Project-wide pytest fixtures: small generated video clips with known ground truth.

Each clip fixture is session-scoped (rendered once per test session, in well under a
second, into a temporary folder) and returns a :class:`studio.demo.scenarios.Clip`:

- ``path``: the MP4 file; ``size`` ``(width, height)`` as displayed; ``stored_size`` as
  encoded; ``fps`` (mean fps for the variable-rate clip); ``duration`` (s);
  ``frame_times`` (s, exactly as stored); ``frame_count``.
- ``events``: :class:`studio.demo.timeline.Event` s in time order, each with ``time``
  (start, s), ``end``, ``name``, ``kind`` (``motion``, ``expression``, ``cut``, ``gap``),
  ``params`` and ``peak`` (time of greatest speed); ``clip.onsets("motion")`` lists the
  starts of one kind, ``clip.event("mouth open")`` finds one by name.
- ``faces``: :class:`studio.demo.scenarios.FaceTruth` s, the subject (largest face)
  first, each with its ``timeline`` (``timeline.at(t)`` gives the exact pose and
  expression at ``t``; ``timeline.value("mouth_open", t)`` one parameter), ``box`` and
  ``height_px``/``center_px`` at rest; ``clip.face_visible(t)``.
- ``cut_time``, ``black_gap`` ``(t0, t1)``, ``rotation`` (OpenCV's
  ``CAP_PROP_ORIENTATION_META``), ``variable_rate``.

Clips: ``face_clip`` (320x240, 5 s: sway at 1.0 s, mouth open 2.0-2.8 s, nod at 3.4 s,
brow raise at 4.2 s), ``no_face_clip`` (a drifting disc from 1.0 s, no person),
``two_faces_clip`` (480x270, subject 2x the other's size; subject mouth open at 1.0 s,
the small face sways at 2.0 s and opens her mouth at 2.8 s), ``cut_clip`` (hard cut at
2.4 s), ``black_gap_clip`` (black for 2.0 <= t < 3.0 s), ``vfr_clip`` (5 fps for 2 s then
25 fps; sway at 1.0 s, nod at 3.0 s, mouth open at 3.8 s), ``rotated_clip`` (stored
turned, display matrix says rotate 90 degrees clockwise). ``bad_inputs`` maps names
(see :data:`studio.demo.bad_inputs.BAD_INPUTS`) to files OpenCV cannot read.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from studio.demo import demo_events_path, demo_video_path, scenarios
from studio.demo.bad_inputs import make_bad_inputs
from studio.demo.scenarios import Clip


@pytest.fixture(scope="session")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One temporary folder for every generated clip of the session."""
    return tmp_path_factory.mktemp("clips")


@pytest.fixture(scope="session")
def face_clip(clip_dir: Path) -> Clip:
    """One face; head moves at 1.0 and 3.4 s, mouth open 2.0-2.8 s, brow raise at 4.2 s."""
    return scenarios.face_clip(clip_dir / "face.mp4")


@pytest.fixture(scope="session")
def no_face_clip(clip_dir: Path) -> Clip:
    """No person anywhere; a soft disc starts drifting at 1.0 s."""
    return scenarios.no_face_clip(clip_dir / "no_face.mp4")


@pytest.fixture(scope="session")
def two_faces_clip(clip_dir: Path) -> Clip:
    """A large subject face (left) and a face half its size (right) doing different things."""
    return scenarios.two_faces_clip(clip_dir / "two_faces.mp4")


@pytest.fixture(scope="session")
def cut_clip(clip_dir: Path) -> Clip:
    """A medium shot cut hard to a close-up on another backdrop at ``cut_time``."""
    return scenarios.cut_clip(clip_dir / "cut.mp4")


@pytest.fixture(scope="session")
def black_gap_clip(clip_dir: Path) -> Clip:
    """One face with black frames over ``black_gap``."""
    return scenarios.black_gap_clip(clip_dir / "black_gap.mp4")


@pytest.fixture(scope="session")
def vfr_clip(clip_dir: Path) -> Clip:
    """Variable frame rate (5 fps, then 25 fps); ``frame_times`` are the container's timestamps."""
    return scenarios.vfr_clip(clip_dir / "vfr.mp4")


@pytest.fixture(scope="session")
def rotated_clip(clip_dir: Path) -> Clip:
    """Stored turned with a display matrix; upright it is ``size``, stored ``stored_size``."""
    return scenarios.rotated_clip(clip_dir / "rotated.mp4", rotation=90)


@pytest.fixture(scope="session")
def bad_inputs(clip_dir: Path) -> dict[str, Path]:
    """Name -> file that is not a usable video (text renamed .mp4, 0 bytes, truncated,
    audio only, a video track with no frames, AV1 that OpenCV cannot decode)."""
    return make_bad_inputs(clip_dir / "bad")


@pytest.fixture(scope="session")
def demo_video() -> Path:
    """The bundled demo video; its ground truth is ``studio.demo.demo_events_path()``."""
    return demo_video_path()


@pytest.fixture(scope="session")
def demo_events() -> Path:
    """The bundled demo's event list (JSON)."""
    return demo_events_path()


@pytest.fixture
def system_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder of the test's own as the system temp folder, so that anything written there is seen."""
    folder = tmp_path / "system-temp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder
