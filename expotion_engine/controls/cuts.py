"""Shot cuts at the exact frame, including cuts within one scene.

A cut is a decoded frame that differs from the one before it in a way motion cannot
explain. Two kinds of evidence, both per decoded frame:

* colour/light: the histogram distance jumps (a cut to another place, into or out of black);
* structure: the residual after motion compensation by optical flow is far above the
  clip's usual level and an isolated spike (the frames on both sides are ordinary),
  which catches a cut between two framings of the same room with the same colours.

A jump of the face track across the frame (position, size or head turn of the subject
between the analysed frames on both sides) lowers how isolated the spike must be. The
cut's time is the first frame of the new shot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from expotion_engine.controls.channels import FACE_CHANNELS

if TYPE_CHECKING:
    from expotion_engine.vision.features import RawFeatures

#: histogram distance of a cut to another place (or light).
HARD_HIST = 0.35
#: mean gray difference (0..255) below which a frame is no cut whatever its histogram says.
MIN_DIFF = 2.0
#: residual (0..255) a structural cut must reach at least ...
MIN_RESIDUAL = 3.0
#: ... and how many robust deviations above the clip's median residual.
RESIDUAL_Z = 8.0
#: how many times the larger neighbouring residual a structural cut must be ...
SPIKE = 3.0
#: ... or, where the face track jumps across it, this many times.
SPIKE_WITH_JUMP = 1.8
#: face-track jump: centre moved by this many face heights, size changed by this ratio,
#: or the head turned by this many degrees between the analysed frames around the cut.
JUMP_POSITION = 0.35
JUMP_SIZE = 1.25
JUMP_YAW = 20.0


@dataclass(frozen=True)
class Cut:
    """A cut: ``time`` of the new shot's first frame (s from the range start) and its
    ``strength`` (0.8..1, higher for stronger evidence)."""

    time: float
    strength: float
    hist: float
    residual: float
    face_jump: bool


def _robust_level(values: np.ndarray) -> tuple[float, float]:
    if not len(values):
        return 0.0, 0.0
    median = float(np.median(values))
    return median, 1.4826 * float(np.median(np.abs(values - median)))


def _face_jump(raw: RawFeatures, zero: float, t: float, aspect: float) -> bool:
    """Whether the subject's face jumps between the analysed frames on both sides of ``t``."""
    times = raw.times - zero
    after = int(np.searchsorted(times, t - 1e-6))
    before = after - 1
    if before < 0 or after >= len(times) or not (raw.face_valid[before] and raw.face_valid[after]):
        return bool(0 <= before < after < len(times) and raw.face_valid[before] != raw.face_valid[after])
    x, y, size, yaw = (FACE_CHANNELS.index(n) for n in ("face_x", "face_y", "face_size", "face_yaw"))
    a, b = raw.face[before], raw.face[after]
    height = max(float(a[size]), 1e-3)
    moved = np.hypot((b[x] - a[x]) * aspect, b[y] - a[y]) / height  # in face heights
    ratio = max(b[size], 1e-3) / max(a[size], 1e-3)
    return bool(moved > JUMP_POSITION or max(ratio, 1.0 / ratio) > JUMP_SIZE or abs(b[yaw] - a[yaw]) > JUMP_YAW)


def detect_cuts(raw: RawFeatures, zero: float, aspect: float) -> list[Cut]:
    """Cuts in ``raw``'s decoded frames; times are seconds from ``zero`` (s in the file).

    ``aspect`` is the frame's width over its height (face positions are fractions of each).
    """
    n = len(raw.frame_times)
    if n < 3:
        return []
    times = raw.frame_times - zero
    residual = raw.frame_residual.astype(np.float64)
    hist = raw.frame_hist.astype(np.float64)
    diff = raw.frame_grid.astype(np.float64).mean(axis=(1, 2))
    median, spread = _robust_level(residual[1:])
    level = max(MIN_RESIDUAL, median + RESIDUAL_Z * max(spread, 0.05))
    merge = 2.5 / _frame_rate(times)
    found: list[Cut] = []
    for i in range(1, n):
        before = residual[i - 1] if i >= 2 else residual[min(i + 1, n - 1)]
        after = residual[i + 1] if i + 1 < n else before
        isolation = residual[i] / max(before, after, 0.05)
        hard = hist[i] >= HARD_HIST and diff[i] >= MIN_DIFF
        structural = residual[i] >= level and isolation >= SPIKE_WITH_JUMP
        if not (hard or structural):
            continue
        jump = _face_jump(raw, zero, float(times[i]), aspect)
        if not (hard or isolation >= SPIKE or jump):
            continue
        evidence = max(hist[i] / 0.6, min(isolation / 10.0, residual[i] / (4.0 * level)))
        cut = Cut(float(times[i]), 0.8 + 0.2 * float(np.clip(evidence, 0.0, 1.0)), float(hist[i]),
                  float(residual[i]), jump)
        if found and cut.time - found[-1].time < merge:
            if cut.strength > found[-1].strength:
                found[-1] = cut
            continue
        found.append(cut)
    return found


def _frame_rate(times: np.ndarray) -> float:
    steps = np.diff(times)
    steps = steps[steps > 0]
    return 1.0 / float(np.median(steps)) if len(steps) else 25.0
