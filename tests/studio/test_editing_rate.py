"""A video's frame rate as editors take it: a phone clip that dropped frames is counted at its stated rate."""

from __future__ import annotations

import subprocess
from pathlib import Path

import imageio_ffmpeg
import pytest

from expotion_engine.media.probe import probe_video
from studio.session import Session, editing_rate


def _clip(path: Path, *filters: str) -> Path:
    """Two seconds of a 29.97 test pattern, through ``filters`` with the frames' own times kept."""
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc=size=64x48:rate=30000/1001:duration=2", *filters, "-fps_mode", "passthrough",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", "-video_track_timescale", "30000", str(path)],
                   check=True, timeout=120)
    return path


def test_a_clip_that_dropped_frames_is_delivered_at_its_stated_rate(tmp_path) -> None:
    dropped = _clip(tmp_path / "phone.mp4", "-vf", r"select='not(eq(mod(n\,10)\,7))'")
    info = probe_video(dropped)
    assert info.fps < 28.0 and info.stream_fps == pytest.approx(29.97)  # 54 of 60 frames: 27 a second on average
    session = Session()
    session.set_video(dropped)
    assert session.frame_rate == pytest.approx(30000 / 1001)
    assert session.timecode().rate.label == "29.97 DF" and not session.timecode().mapped
    steady = Session()
    steady.set_video(_clip(tmp_path / "steady.mp4"))
    assert steady.frame_rate == pytest.approx(probe_video(tmp_path / "steady.mp4").fps)


@pytest.mark.parametrize(("fps", "stated", "expected"), [
    (28.47, 29.97, 30000 / 1001),  # dropped frames
    (25.0, 25.0, 25.0),  # steady
    (25.0, 50.0, 25.0),  # a field rate, not dropped frames
    (16.07, 30.0, 16.07),  # half the frames gone: not a recording that dropped a few
    (12.5, None, 12.5),  # no stated rate
    (24.3, 24.5, 24.3),  # a stated rate that is no SMPTE rate
])
def test_editing_rate(fps, stated, expected) -> None:
    assert editing_rate(fps, stated) == pytest.approx(expected)
