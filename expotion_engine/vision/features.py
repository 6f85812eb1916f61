"""Per-analysed-frame measurements, before smoothing and resampling (the vision stage's output)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from expotion_engine.controls.channels import BODY_JOINTS, FACE_CHANNELS


@dataclass(frozen=True, eq=False)
class RawFeatures:
    """Arrays indexed by analysed frame ``i`` (times are seconds in the file), and the
    ``frame_*`` arrays by decoded frame (every frame of the range, analysed or not).

    ``face`` follows :data:`FACE_CHANNELS`; ``joints[i, j]`` is joint ``BODY_JOINTS[j]``
    as (x, y) from the frame centre in shoulder widths; ``flow`` is the mean optical-flow
    speed in frame widths per second since the previous analysed frame. For decoded
    frame ``k`` against the one before: ``frame_grid[k]`` (rows, columns) the mean gray
    difference per cell of a coarse grid (0..255), ``frame_hist[k]`` the histogram distance (0..1),
    ``frame_residual[k]`` the difference left after motion compensation (0..255).
    """

    times: np.ndarray
    face: np.ndarray
    face_valid: np.ndarray
    face_count: np.ndarray
    joints: np.ndarray
    joint_valid: np.ndarray
    body_scale: np.ndarray
    body_valid: np.ndarray
    flow: np.ndarray
    flow_valid: np.ndarray
    black: np.ndarray
    frame_times: np.ndarray
    frame_grid: np.ndarray
    frame_hist: np.ndarray
    frame_residual: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.times)
        expected = {
            "face": (n, len(FACE_CHANNELS)),
            "joints": (n, len(BODY_JOINTS), 2),
            "joint_valid": (n, len(BODY_JOINTS)),
        }
        m = len(self.frame_times)
        expected.update(frame_hist=(m,), frame_residual=(m,))
        if self.frame_grid.ndim != 3 or self.frame_grid.shape[0] != m:
            raise ValueError(f"RawFeatures.frame_grid has {self.frame_grid.shape[0]} rows for {m} frames.")
        for name, shape in expected.items():
            if getattr(self, name).shape != shape:
                raise ValueError(f"RawFeatures.{name} has shape {getattr(self, name).shape}, expected {shape}.")

    @property
    def n_frames(self) -> int:
        return len(self.times)
