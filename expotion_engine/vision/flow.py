"""Whole-frame motion energy from dense optical flow (OpenCV DIS) at reduced resolution,
plus the shot-change and black-frame checks that decide where flow can be trusted."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

_BLACK_LUMA = 16.0
_BLACK_SPREAD = 10.0
_CUT_DISTANCE = 0.35


@dataclass(frozen=True)
class FlowSample:
    """Flow speed (frame widths per second; None where unknown) and frame flags."""

    energy: float | None
    cut: bool
    black: bool


def _histograms(rgb: np.ndarray, gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Normalised hue-saturation and luma histograms: a shot change moves one of them."""
    thumb = cv2.resize(rgb, (160, max(rgb.shape[0] * 160 // rgb.shape[1], 8)), interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(thumb, cv2.COLOR_RGB2HSV)
    colour = cv2.calcHist([hsv], [0, 1], None, [16, 8], [0, 180, 0, 256])
    luma = cv2.calcHist([gray], [0], None, [32], [0, 256])
    return cv2.normalize(colour, colour, 1.0, 0.0, cv2.NORM_L1), cv2.normalize(luma, luma, 1.0, 0.0, cv2.NORM_L1)


class MotionEnergy:
    """Feeds consecutive analysed frames; reports flow speed, cuts and black frames."""

    def __init__(self, width: int = 320) -> None:
        self._width = width
        self._flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        self._previous: np.ndarray | None = None
        self._previous_hist: tuple[np.ndarray, np.ndarray] | None = None
        self._previous_time = 0.0

    def __call__(self, rgb: np.ndarray, time: float) -> FlowSample:
        height, width = rgb.shape[:2]
        size = (self._width, max(int(round(height * self._width / width)), 8))
        gray = cv2.cvtColor(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)
        black = float(gray.mean()) < _BLACK_LUMA and float(gray.std()) < _BLACK_SPREAD
        hist = _histograms(rgb, gray)
        cut = False
        energy: float | None = None
        if self._previous is not None and self._previous_hist is not None:
            distance = max(
                cv2.compareHist(a, b, cv2.HISTCMP_BHATTACHARYYA)
                for a, b in zip(self._previous_hist, hist, strict=True)
            )
            cut = distance > _CUT_DISTANCE
            dt = max(time - self._previous_time, 1e-3)
            if not cut:
                flow = self._flow.calc(self._previous, gray, None)
                speed = float(cv2.mean(cv2.magnitude(flow[..., 0], flow[..., 1]))[0])
                energy = speed / self._width / dt
        self._previous, self._previous_hist, self._previous_time = gray, hist, time
        return FlowSample(energy, cut, black)
