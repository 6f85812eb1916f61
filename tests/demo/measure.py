"""Independent measurements used by the demo/clip tests: face-mesh geometry and OpenCV decoding."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

BROW_RIGHT = (70, 63, 105, 66, 107)
BROW_LEFT = (300, 293, 334, 296, 336)


@dataclass(frozen=True)
class FaceMeasure:
    """Face-mesh geometry of one face, ratios relative to the forehead-chin height."""

    face_height: float
    nose: tuple[float, float]
    mouth_gap: float
    mouth_width: float
    corner_lift: float
    brow_height: float
    eye_line_deg: float
    nose_across: float  # nose x between the cheek edges, 0..1


def face_measure(points: np.ndarray) -> FaceMeasure:
    """Measures from face-mesh landmarks ``(478, 2)`` in pixels."""
    p = points
    h = float(np.linalg.norm(p[10] - p[152]))
    brow_r = np.linalg.norm(p[list(BROW_RIGHT)].mean(0) - p[159])
    brow_l = np.linalg.norm(p[list(BROW_LEFT)].mean(0) - p[386])
    brow = 0.5 * (brow_r + brow_l)
    lift = 0.5 * (p[13, 1] + p[14, 1]) - 0.5 * (p[61, 1] + p[291, 1])
    return FaceMeasure(
        face_height=h,
        nose=(float(p[1, 0]), float(p[1, 1])),
        mouth_gap=float(np.linalg.norm(p[13] - p[14]) / h),
        mouth_width=float(np.linalg.norm(p[61] - p[291]) / h),
        corner_lift=float(lift / h),
        brow_height=float(brow / h),
        eye_line_deg=float(np.degrees(np.arctan2(p[263, 1] - p[33, 1], p[263, 0] - p[33, 0]))),
        nose_across=float((p[1, 0] - p[234, 0]) / (p[454, 0] - p[234, 0])),
    )


def read_frames(path: Path, *, auto_rotate: bool = True) -> tuple[list[np.ndarray], list[float]]:
    """Every frame (RGB) of ``path`` and its timestamp (s), decoded by OpenCV."""
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    capture.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1 if auto_rotate else 0)
    frames, times = [], []
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            frames.append(frame[..., ::-1].copy())
            times.append(capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0)
    finally:
        capture.release()
    return frames, times


def frame_steps(frames: list[np.ndarray]) -> np.ndarray:
    """Mean absolute difference between consecutive frames; ``steps[i]`` is frame i vs i-1 (0 for i=0)."""
    out = np.zeros(len(frames))
    for i in range(1, len(frames)):
        out[i] = np.abs(frames[i].astype(np.int16) - frames[i - 1].astype(np.int16)).mean()
    return out
