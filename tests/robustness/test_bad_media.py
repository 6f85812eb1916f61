"""Media that is not what its name says (issue 13 item 13): a still image renamed .mp4, a cut-off mp4."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import imageio_ffmpeg
import pytest

from expotion_engine.errors import VideoError
from expotion_engine.media.probe import probe_video


def _ffmpeg(*args: str) -> None:
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", *args], check=True, timeout=60)


@pytest.mark.parametrize("codec", ["png", "mjpeg"])
def test_a_still_image_renamed_mp4_is_not_a_video_file(codec, tmp_path) -> None:
    image = tmp_path / f"still.{codec}"
    _ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x64", "-frames:v", "1", "-c:v", codec, "-f", "image2", str(image))
    renamed = image.rename(tmp_path / "holiday.mp4")
    with pytest.raises(VideoError, match="not a video file") as caught:
        probe_video(renamed)
    assert "holiday.mp4" in str(caught.value) and "0.04" not in str(caught.value)


@pytest.fixture(scope="module")
def four_second_mp4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4 s, 25 fps H.264 mp4 with its index at the front (as phones and web exports write it)."""
    path = tmp_path_factory.mktemp("media") / "full.mp4"
    _ffmpeg("-f", "lavfi", "-i", "testsrc=size=160x120:rate=25:duration=4", "-pix_fmt", "yuv420p",
            "-c:v", "libx264", "-movflags", "+faststart", str(path))
    return path


def test_a_truncated_mp4_is_probed_with_a_warning(four_second_mp4, tmp_path, caplog) -> None:
    cut = tmp_path / "cut.mp4"
    data = four_second_mp4.read_bytes()
    cut.write_bytes(data[: len(data) * 6 // 10])
    with caplog.at_level(logging.WARNING, logger="expotion_engine.media.probe"):
        info = probe_video(cut)
    assert info.container_duration == pytest.approx(4.0, abs=0.05) and info.duration < 3.0
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("truncated" in w and "cut.mp4" in w for w in warnings), warnings


def test_a_whole_mp4_gives_no_truncation_warning(four_second_mp4, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="expotion_engine.media.probe"):
        info = probe_video(four_second_mp4)
    assert info.duration == pytest.approx(4.0, abs=0.05)
    assert not [r for r in caplog.records if "truncated" in r.getMessage()]


def test_audio_running_on_after_the_picture_is_not_called_truncated(tmp_path, caplog) -> None:
    path = tmp_path / "tail.mp4"
    _ffmpeg("-f", "lavfi", "-i", "testsrc=size=160x120:rate=25:duration=2", "-f", "lavfi", "-i",
            "sine=frequency=440:duration=4", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-c:a", "aac",
            "-movflags", "+faststart", str(path))
    with caplog.at_level(logging.WARNING, logger="expotion_engine.media.probe"):
        info = probe_video(path)
    assert info.container_duration == pytest.approx(4.0, abs=0.1) and info.duration == pytest.approx(2.0, abs=0.05)
    assert not [r for r in caplog.records if "truncated" in r.getMessage()]


def test_expotion_analyze_shows_the_truncation_warning(four_second_mp4, tmp_path) -> None:
    """The warning reaches the terminal (the CLI sends native stderr chatter to /dev/null, not Python's logs)."""
    cut = tmp_path / "cut.mp4"
    data = four_second_mp4.read_bytes()
    cut.write_bytes(data[: len(data) * 6 // 10])
    env = {**os.environ, "EXPOTION_CACHE_DIR": "off"}
    result = subprocess.run([sys.executable, "-m", "studio", "analyze", str(cut), "-o", str(tmp_path / "c.npz")],
                            capture_output=True, text=True, errors="replace", env=env, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "looks truncated" in result.stderr and "cut.mp4" in result.stderr
