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


class MotionEnergy:
    """Feeds consecutive analysed frames; reports flow speed, cuts and black frames."""

    def __init__(self, width: int = 320) -> None:
        self._width = width
        self._flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        self._previous: np.ndarray | None = None
        self._previous_hist: np.ndarray | None = None
        self._previous_time = 0.0

    def __call__(self, rgb: np.ndarray, time: float) -> FlowSample:
        height, width = rgb.shape[:2]
        size = (self._width, max(int(round(height * self._width / width)), 8))
        gray = cv2.cvtColor(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)
        black = float(gray.mean()) < _BLACK_LUMA and float(gray.std()) < _BLACK_SPREAD
        hist = cv2.calcHist([gray], [0], None, [32], [0, 256])
        cv2.normalize(hist, hist, 1.0, 0.0, cv2.NORM_L1)
        cut = False
        energy: float | None = None
        if self._previous is not None and self._previous_hist is not None:
            distance = cv2.compareHist(self._previous_hist, hist, cv2.HISTCMP_BHATTACHARYYA)
            cut = distance > _CUT_DISTANCE
            dt = max(time - self._previous_time, 1e-3)
            if not cut:
                flow = self._flow.calc(self._previous, gray, None)
                speed = float(cv2.mean(cv2.magnitude(flow[..., 0], flow[..., 1]))[0])
                energy = speed / self._width / dt
        self._previous, self._previous_hist, self._previous_time = gray, hist, time
        return FlowSample(energy, cut, black)
