"""The clip writer, read back with OpenCV: constant and variable frame rate, rotation metadata."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from studio.demo.writer import (
    read_frame_times,
    set_display_rotation,
    stored_orientation,
    write_mp4,
    write_vfr_mp4,
)
from tests.demo.measure import read_frames

W, H = 160, 120


def _pattern(i: int) -> np.ndarray:
    """A frame with smooth gradients, a moving square and an asymmetric corner mark."""
    y, x = np.mgrid[0:H, 0:W]
    frame = np.stack([x * 255 // W, y * 255 // H, np.full_like(x, 60)], axis=-1).astype(np.uint8)
    frame[20:50, 10 + 4 * i:40 + 4 * i] = (250, 250, 40)
    frame[:12, :24] = (255, 0, 0)  # red mark top-left tells orientation
    return frame


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


@pytest.mark.parametrize(("encoder", "fourccs", "min_psnr"), [("ffmpeg", {"avc1", "h264"}, 35.0),
                                                              ("opencv", {"mp4v", "FMP4"}, 25.0)])
def test_constant_rate_round_trip(tmp_path, encoder: str, fourccs: set[str], min_psnr: float) -> None:
    frames = [_pattern(i) for i in range(12)]
    path = write_mp4(tmp_path / "cfr.mp4", frames, fps=25.0, encoder=encoder)
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    code = int(capture.get(cv2.CAP_PROP_FOURCC))
    assert "".join(chr((code >> 8 * k) & 0xFF) for k in range(4)) in fourccs
    assert capture.get(cv2.CAP_PROP_FPS) == pytest.approx(25.0)
    capture.release()
    decoded, times = read_frames(path)
    assert len(decoded) == 12
    assert times == pytest.approx([i / 25 for i in range(12)], abs=1e-3)
    assert min(_psnr(a, b) for a, b in zip(frames, decoded, strict=True)) > min_psnr
    assert [p.name for p in tmp_path.iterdir()] == ["cfr.mp4"]  # no temporary left behind


def test_variable_rate_timestamps_are_what_was_asked(tmp_path) -> None:
    times = [0.0, 0.2, 0.4, 0.6, 0.64, 0.68, 0.72, 0.76, 1.3, 1.333, 1.5]
    stored = write_vfr_mp4(tmp_path / "vfr.mp4", (_pattern(i) for i in range(len(times))), times, end=1.6)
    assert stored == tuple(times)
    read = read_frame_times(tmp_path / "vfr.mp4")
    assert read == pytest.approx(times, abs=1e-3)
    decoded, _ = read_frames(tmp_path / "vfr.mp4")
    assert _psnr(decoded[8], _pattern(8)) > 35.0  # frame i really is the i-th picture


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_rotation_is_stored_as_a_display_matrix_that_opencv_applies(tmp_path, rotation: int) -> None:
    upright = [_pattern(i) for i in range(5)]
    raw = write_mp4(tmp_path / "raw.mp4", (stored_orientation(f, rotation) for f in upright), fps=25.0)
    path = set_display_rotation(raw, tmp_path / "rotated.mp4", rotation)
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    assert capture.get(cv2.CAP_PROP_ORIENTATION_META) == rotation
    capture.release()
    as_stored, _ = read_frames(path, auto_rotate=False)
    turned, _ = read_frames(path, auto_rotate=True)
    assert as_stored[0].shape == stored_orientation(upright[0], rotation).shape
    assert turned[0].shape == upright[0].shape
    assert _psnr(turned[2], upright[2]) > 35.0
    if rotation != 180:
        assert as_stored[0].shape != upright[0].shape


def test_bad_frames_are_rejected_and_leave_no_file(tmp_path) -> None:
    with pytest.raises(ValueError, match="even"):
        write_mp4(tmp_path / "odd.mp4", [np.zeros((121, 160, 3), np.uint8)], fps=25.0)
    with pytest.raises(ValueError, match="differs"):
        write_mp4(tmp_path / "mixed.mp4", [_pattern(0), np.zeros((60, 80, 3), np.uint8)], fps=25.0)
    with pytest.raises(ValueError, match="increasing"):
        write_vfr_mp4(tmp_path / "vfr.mp4", [_pattern(0), _pattern(1)], [0.0, 0.0])
    assert list(tmp_path.iterdir()) == []
