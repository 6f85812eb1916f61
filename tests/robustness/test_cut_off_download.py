"""A download cut off after its index (``+faststart``) is scored as far as its picture can be copied, so the
delivery passes its own check: B-frames shown before the last whole frame but stored after it are lost too."""

from __future__ import annotations

import subprocess
from pathlib import Path

import imageio_ffmpeg
import pytest

from studio.cli import main


@pytest.fixture(scope="module")
def whole(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six seconds of a moving test pattern with a tone, H.264 with B-frames, its index at the front."""
    path = tmp_path_factory.mktemp("download") / "whole.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y",
                    "-f", "lavfi", "-i", "testsrc=size=320x180:rate=25:duration=6",
                    "-f", "lavfi", "-i", "sine=frequency=330:sample_rate=48000:duration=6",
                    "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "veryfast", "-c:a", "aac",
                    "-movflags", "+faststart", str(path)], check=True, timeout=120)
    return path


@pytest.mark.parametrize("share", [50, 60])
def test_a_cut_off_download_delivers_picture_and_music_of_one_length(whole, tmp_path, monkeypatch, share) -> None:
    monkeypatch.setenv("EXPOTION_CACHE_DIR", str(tmp_path / "cache"))
    data = whole.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) * share // 100])
    out = tmp_path / "out"
    assert main(["score", str(cut), "-o", str(out), "--format", "audio", "video"]) == 0
    assert main(["check", str(out / "delivery")]) == 0  # lengths: the picture as long as the music
