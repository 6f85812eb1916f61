"""Derived channels: joint speeds and accelerations, ``energy`` (arousal) and ``valence``.

Scales are fixed constants (not per-video normalisation) so a calm video stays calm and
an energetic one reads energetic; each is documented with the unit it divides.
"""

from __future__ import annotations

import numpy as np

#: body speed (shoulder widths per second) at which motion arousal reaches 1 - 1/e.
BODY_SPEED_SCALE = 0.8
#: optical-flow speed (frame widths per second) at which flow arousal reaches 1 - 1/e.
FLOW_SCALE = 0.06
#: mouth opening (fraction of face height) that counts as fully open.
MOUTH_OPEN_FULL = 0.12
#: smile descriptor (mouth width over eye distance + corner lift) of a neutral face, and
#: the change that moves valence by tanh(1).
SMILE_NEUTRAL = 0.66
SMILE_SCALE = 0.15
#: brow-to-lid distance (fraction of face height) of a neutral face and its scale.
BROW_NEUTRAL = 0.085
BROW_SCALE = 0.03


def speed(positions: np.ndarray, rate: float) -> np.ndarray:
    """Speed of positions ``(frames, dims)`` sampled at ``rate`` Hz (units per second)."""
    if len(positions) < 2:
        return np.zeros(len(positions), np.float32)
    velocity = np.gradient(positions, 1.0 / rate, axis=0)
    return np.linalg.norm(velocity, axis=1).astype(np.float32)


def derivative(values: np.ndarray, rate: float) -> np.ndarray:
    """Time derivative (per second) of a 1-D signal at ``rate`` Hz."""
    if len(values) < 2:
        return np.zeros(len(values), np.float32)
    return np.gradient(values, 1.0 / rate).astype(np.float32)


def _saturate(x: np.ndarray, scale: float) -> np.ndarray:
    return 1.0 - np.exp(-np.maximum(x, 0.0) / scale)


def energy(
    body_speed: np.ndarray,
    body_valid: np.ndarray,
    flow: np.ndarray,
    flow_valid: np.ndarray,
    mouth_open: np.ndarray,
    face_motion: np.ndarray,
    face_valid: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Arousal in 0..1 from body motion, whole-frame flow and facial activity.

    A weighted mean over the modalities present at each frame; masked where none is.
    """
    parts = (
        (0.45, _saturate(body_speed, BODY_SPEED_SCALE), body_valid),
        (0.35, _saturate(flow, FLOW_SCALE), flow_valid),
        (
            0.20,
            np.clip(0.5 * mouth_open / MOUTH_OPEN_FULL + 0.5 * _saturate(face_motion, BODY_SPEED_SCALE), 0, 1),
            face_valid,
        ),
    )
    total = np.zeros(len(body_speed))
    weight = np.zeros(len(body_speed))
    for w, value, valid in parts:
        total += w * value * valid
        weight += w * valid
    present = weight > 0
    return np.where(present, total / np.maximum(weight, 1e-9), 0.0).astype(np.float32), present


def valence(smile: np.ndarray, brow_raise: np.ndarray) -> np.ndarray:
    """Pleasantness in -1..1: smiling raises it, lowered brows (a frown) lower it."""
    smile_term = np.tanh((smile - SMILE_NEUTRAL) / SMILE_SCALE)
    frown_term = np.tanh(np.minimum(brow_raise - BROW_NEUTRAL, 0.0) / BROW_SCALE)
    return np.clip(0.8 * smile_term + 0.2 * frown_term, -1.0, 1.0).astype(np.float32)
