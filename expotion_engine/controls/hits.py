"""Hit points: motion onsets, sharp expression changes and shot cuts, as ``Marker(kind="hit")``.

Two novelty curves, each a sum of channels divided by fixed scales:

* motion: the rising edge (time derivative, positive part) of body, face, head-turn and
  optical-flow speed. It peaks where a movement starts, so a peak is the onset.
* expression: the speed of change of mouth opening, smile and brows, measured on copies
  smoothed only lightly (``onset_smoothing``), because the zero-phase smoothing of the
  control channels spreads a change earlier than it starts. It peaks in the middle of a
  change; the onset is the peak's leading edge at half its height.

Peaks above the threshold become hits whose ``strength`` is the peak height; hits closer
than ``min_spacing`` keep the stronger. Shot cuts are hits too: an editor scores to them.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.signal import find_peaks

from expotion_engine.controls.derive import derivative
from expotion_engine.types import Marker

#: per-second rise of each speed that counts as one unit of motion novelty.
MOTION_SCALES: Mapping[str, float] = {
    "body_speed": 6.0,
    "face_motion": 4.0,
    "head_turn": 150.0,
    "flow_energy": 0.6,
}
#: per-second change of each expression value that counts as one unit of expression novelty.
EXPRESSION_SCALES: Mapping[str, float] = {
    "face_mouth_open": 0.4,
    "face_smile": 0.8,
    "face_brow_raise": 0.1,
}

Signals = Mapping[str, tuple[np.ndarray, np.ndarray]]


def _valid_inside(mask: np.ndarray) -> np.ndarray:
    inside = mask.copy()
    inside[1:] &= mask[:-1]
    inside[:-1] &= mask[1:]
    return inside


def _novelty(signals: Signals, scales: Mapping[str, float], rate: float, *, rising: bool) -> np.ndarray:
    total: np.ndarray | None = None
    for name, scale in scales.items():
        if name not in signals:
            continue
        values, mask = signals[name]
        change = derivative(values, rate) / scale
        change = np.maximum(change, 0.0) if rising else np.abs(change)
        change = np.where(_valid_inside(mask), change, 0.0)
        total = change if total is None else total + change
    length = len(next(iter(signals.values()))[0]) if signals else 0
    return (np.zeros(length) if total is None else total).astype(np.float32)


def motion_novelty(signals: Signals, rate: float) -> np.ndarray:
    """Rising edges of the speeds in ``signals`` (name -> (values, mask)), scaled."""
    return _novelty(signals, MOTION_SCALES, rate, rising=True)


def expression_novelty(signals: Signals, rate: float) -> np.ndarray:
    """Speed of change of the expression values in ``signals``, scaled."""
    return _novelty(signals, EXPRESSION_SCALES, rate, rising=False)


def _peaks(curve: np.ndarray, rate: float, threshold: float, min_spacing: float) -> tuple[np.ndarray, np.ndarray]:
    if not len(curve):
        return np.zeros(0, int), np.zeros(0)
    distance = max(int(round(min_spacing * rate)), 1)
    peaks, props = find_peaks(curve, height=threshold, distance=distance)
    return peaks, props["peak_heights"]


def _leading_edge(curve: np.ndarray, peak: int) -> int:
    """Index where ``curve`` last rose through half its height before ``peak``."""
    half = 0.5 * curve[peak]
    index = peak
    while index > 0 and curve[index - 1] >= half:
        index -= 1
    return index


def detect_hits(
    motion: np.ndarray,
    expression: np.ndarray,
    rate: float,
    *,
    threshold: float,
    min_spacing: float,
    cuts: np.ndarray | None = None,
) -> list[Marker]:
    """Hit markers from the two novelty curves (sampled at ``rate``) plus shot ``cuts`` (s)."""
    found: list[tuple[float, str, float]] = []
    for peak, height in zip(*_peaks(motion, rate, threshold, min_spacing), strict=True):
        found.append((peak / rate, "motion", float(height)))
    for peak, height in zip(*_peaks(expression, rate, threshold, min_spacing), strict=True):
        found.append((_leading_edge(expression, int(peak)) / rate, "expression", float(height)))
    cut_strength = 2.0 * max(threshold, 1.0)
    found += [(float(c), "cut", cut_strength) for c in (cuts if cuts is not None else ())]
    kept: list[tuple[float, str, float]] = []
    for hit in sorted(found, key=lambda h: (h[1] != "cut", -h[2])):
        if all(abs(hit[0] - other[0]) >= min_spacing for other in kept):
            kept.append(hit)
    kept.sort()
    return [
        Marker(time=time, name=f"{kind} {i + 1}", kind="hit", strength=strength)
        for i, (time, kind, strength) in enumerate(kept)
    ]
