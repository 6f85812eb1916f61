"""The bad-input files are what they say, and OpenCV really cannot read a frame from any of them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import cv2
import pytest

from studio.demo.bad_inputs import BAD_INPUTS
from studio.demo.writer import ffmpeg_exe


def _ffmpeg_streams(path: Path) -> str:
    """What ffmpeg (an independent reader) says about the file's streams."""
    result = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)],
                            capture_output=True, text=True, timeout=60, check=False)
    return result.stderr


def test_every_bad_input_is_made(bad_inputs: dict[str, Path]) -> None:
    assert set(bad_inputs) == set(BAD_INPUTS)
    assert all(p.suffix == ".mp4" and p.is_file() for p in bad_inputs.values())


@pytest.mark.parametrize("name", ["text_as_mp4", "zero_bytes", "truncated", "audio_only"])
def test_opencv_cannot_open(bad_inputs: dict[str, Path], name: str) -> None:
    capture = cv2.VideoCapture(str(bad_inputs[name]), cv2.CAP_FFMPEG)
    assert not capture.isOpened()


@pytest.mark.parametrize("name", ["no_video_frames", "unreadable_codec"])
def test_opencv_opens_but_decodes_nothing(bad_inputs: dict[str, Path], name: str) -> None:
    capture = cv2.VideoCapture(str(bad_inputs[name]), cv2.CAP_FFMPEG)
    assert capture.isOpened()
    ok, _ = capture.read()
    capture.release()
    assert not ok


def test_files_hold_what_their_names_say(bad_inputs: dict[str, Path]) -> None:
    assert bad_inputs["text_as_mp4"].read_text(encoding="utf-8").startswith("eggs")
    assert bad_inputs["zero_bytes"].stat().st_size == 0
    assert "moov atom not found" in _ffmpeg_streams(bad_inputs["truncated"])
    audio = _ffmpeg_streams(bad_inputs["audio_only"])
    assert "Audio: aac" in audio and "Video:" not in audio
    assert "Video: h264" in _ffmpeg_streams(bad_inputs["no_video_frames"])
    assert "Video: av1" in _ffmpeg_streams(bad_inputs["unreadable_codec"])


def test_the_av1_file_is_a_good_video_for_a_decoder_that_has_av1(bad_inputs: dict[str, Path], tmp_path) -> None:
    """The shipped ffmpeg decodes it fine, so OpenCV's failure is the codec, not a broken file."""
    out = tmp_path / "frames.rgb"
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i",
                    str(bad_inputs["unreadable_codec"]), "-f", "rawvideo", "-pix_fmt", "rgb24", str(out)],
                   check=True, timeout=60)
    assert out.stat().st_size == 25 * 160 * 120 * 3
