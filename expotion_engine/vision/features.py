"""Per-analysed-frame measurements, before smoothing and resampling (the vision stage's output)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from expotion_engine.controls.channels import BODY_JOINTS, FACE_CHANNELS


@dataclass(frozen=True, eq=False)
class RawFeatures:
    """Arrays indexed by analysed frame ``i`` (times are seconds in the file).

    ``face`` follows :data:`FACE_CHANNELS`; ``joints[i, j]`` is joint ``BODY_JOINTS[j]``
    as (x, y) from the frame centre in shoulder widths; ``flow`` is the mean optical-flow
    speed in frame widths per second since the previous analysed frame.
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
    cut: np.ndarray
    black: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.times)
        expected = {
            "face": (n, len(FACE_CHANNELS)),
            "joints": (n, len(BODY_JOINTS), 2),
            "joint_valid": (n, len(BODY_JOINTS)),
        }
        for name, shape in expected.items():
            if getattr(self, name).shape != shape:
                raise ValueError(f"RawFeatures.{name} has shape {getattr(self, name).shape}, expected {shape}.")

    @property
    def n_frames(self) -> int:
        return len(self.times)
