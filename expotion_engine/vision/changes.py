"""Frame-to-frame change of every decoded frame, from the reader's cheap signatures.

For each frame against the one before it: the mean absolute gray difference in each cell
of a coarse grid once the camera's move is taken out (where something changed in the
picture, and when it started to), the histogram
distance (a change of colours or light) and the residual left after motion
compensation with optical flow on the thumbnails (structure that motion cannot explain:
a cut, even between two framings of the same scene).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from expotion_engine.media.reader import FrameSignature

#: columns of the difference grid (rows follow the aspect ratio): cells of about 4x4
#: thumbnail pixels, small enough that a smile's few changed pixels stand out in one.
GRID_COLUMNS = 16
#: a median flow of the frame's edges of at least this many thumbnail pixels is a camera
#: move (a shake, a pan), taken out of the grid differences so that only what moved in
#: the picture counts.
CAMERA_SHIFT = 0.1


@dataclass(frozen=True, eq=False)
class FrameChange:
    """How frame ``time`` differs from the decoded frame before it.

    ``grid`` is the mean absolute gray difference (0..255) per cell (rows, ``GRID_COLUMNS``)
    after the camera's move (the median flow of the frame's outer ring) is taken out;
    ``hist`` the histogram distance (0..1); ``residual`` the mean absolute difference
    (0..255) after warping the previous thumbnail onto this one by their optical flow.
    """

    time: float
    grid: np.ndarray
    hist: float
    residual: float


def _cells(diff: np.ndarray) -> np.ndarray:
    rows = max(int(round(GRID_COLUMNS * diff.shape[0] / diff.shape[1])), 1)
    return cv2.resize(diff, (GRID_COLUMNS, rows), interpolation=cv2.INTER_AREA)


def histogram_distance(a: np.ndarray, b: np.ndarray, split: int = 128) -> float:
    """Largest Hellinger distance between the colour (first ``split`` bins) and luma parts."""
    colour = np.sqrt(max(1.0 - float(np.sum(np.sqrt(a[:split] * b[:split]))), 0.0))
    luma = np.sqrt(max(1.0 - float(np.sum(np.sqrt(a[split:] * b[split:]))), 0.0))
    return max(colour, luma)


def _median_rows(values: np.ndarray) -> np.ndarray:
    """``np.median(values, axis=0)`` by one partial sort (np.median's own checks cost more than the sort here)."""
    middle = len(values) // 2
    if len(values) % 2:
        return np.partition(values, middle, axis=0)[middle]
    part = np.partition(values, (middle - 1, middle), axis=0)
    return np.mean(part[middle - 1:middle + 1], axis=0)


class ChangeMeter:
    """Feed every decoded frame's signature in time order; get its :class:`FrameChange`."""

    def __init__(self) -> None:
        self._flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        self._previous: FrameSignature | None = None
        self._grid: tuple[np.ndarray, np.ndarray] | None = None
        self._ring: np.ndarray | None = None
        self._ring_shape: tuple[int, int] = (0, 0)

    def _remap_grid(self, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        if self._grid is None or self._grid[0].shape != shape:
            ys, xs = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float32)
            self._grid = (xs, ys)
        return self._grid

    def _border(self, shape: tuple[int, int]) -> np.ndarray:
        """Flat indices of the frame's outer ring (a sixth of each side): mostly background,
        whoever is in the middle."""
        if self._ring is None or self._ring_shape != shape:
            ys, xs = np.mgrid[0:shape[0], 0:shape[1]]
            ring_y, ring_x = max(shape[0] // 6, 1), max(shape[1] // 6, 1)
            ring = (ys < ring_y) | (ys >= shape[0] - ring_y) | (xs < ring_x) | (xs >= shape[1] - ring_x)
            self._ring, self._ring_shape = np.flatnonzero(ring), shape
        return self._ring

    def __call__(self, sig: FrameSignature) -> FrameChange:
        previous, self._previous = self._previous, sig
        if previous is None or previous.gray.shape != sig.gray.shape:
            return FrameChange(sig.time, np.zeros_like(_cells(sig.gray.astype(np.float32))), 0.0, 0.0)
        current, before = sig.gray, previous.gray
        flow = self._flow.calc(current, before, None)
        xs, ys = self._remap_grid(current.shape)
        warped = cv2.remap(before, xs + flow[..., 0], ys + flow[..., 1], cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE)
        residual = float(cv2.absdiff(current, warped).mean())
        shift = _median_rows(flow.reshape(-1, 2)[self._border(current.shape)])  # the camera's move: what the edges did
        if float(np.hypot(*shift)) >= CAMERA_SHIFT:
            camera = np.float32([[1.0, 0.0, shift[0]], [0.0, 1.0, shift[1]]])
            before = cv2.warpAffine(before, camera, current.shape[::-1], flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                    borderMode=cv2.BORDER_REPLICATE)
        diff = cv2.absdiff(current, before).astype(np.float32)
        return FrameChange(sig.time, _cells(diff), histogram_distance(previous.hist, sig.hist), residual)
