"""Whole-frame motion energy from dense optical flow (OpenCV DIS) at reduced resolution,
plus the black-frame check that decides where flow can be trusted (cuts are found on
every decoded frame, see :mod:`expotion_engine.vision.changes`)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

_BLACK_LUMA = 16.0
_BLACK_SPREAD = 10.0


@dataclass(frozen=True)
class FlowSample:
    """Flow speed (frame widths per second; None where unknown) and whether the frame is black."""

    energy: float | None
    black: bool


class MotionEnergy:
    """Feeds consecutive analysed frames; reports flow speed and black frames.

    DIS's ultrafast preset estimates the flow of a ``width``-pixel frame on its pyramid down
    from a quarter of that size (finest scale 2). The frame is handed over at half the width
    with the finest scale at 1: the same estimate on the same levels, without building and
    upsampling the largest one.
    """

    def __init__(self, width: int = 320) -> None:
        self._flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        finest = self._flow.getFinestScale()
        self._halved = width >= 128 and finest >= 1
        if self._halved:
            self._flow.setFinestScale(finest - 1)
        self._width = width // 2 if self._halved else width
        self._previous: np.ndarray | None = None
        self._previous_time = 0.0

    def __call__(self, rgb: np.ndarray, time: float) -> FlowSample:
        height, width = rgb.shape[:2]
        size = (self._width, max(int(round(height * self._width / width)), 8))
        gray = cv2.cvtColor(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)
        mean, spread = (float(v[0, 0]) for v in cv2.meanStdDev(gray))
        black = mean < _BLACK_LUMA and spread < _BLACK_SPREAD
        energy: float | None = None
        if self._previous is not None:
            dt = max(time - self._previous_time, 1e-3)
            flow = self._flow.calc(self._previous, gray, None)
            # numpy, not cv2.magnitude and cv2.mean: their SIMD and scalar paths round differently and
            # which elements take which depends on where the arrays happen to lie in memory
            speed = float(np.hypot(flow[..., 0], flow[..., 1]).mean(dtype=np.float64))
            energy = speed / self._width / dt
        self._previous, self._previous_time = gray, time
        return FlowSample(energy, black)
