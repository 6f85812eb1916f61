"""Hit points: motion onsets and sharp expression changes, as ``Marker(kind="hit")``.

A novelty curve sums the rising edges of body and face motion, flow and the absolute
rate of change of mouth, smile and brows, each divided by a fixed scale; peaks above the
threshold, at least ``min_spacing`` apart, become hits whose ``strength`` is the peak.
Shot cuts are hits too: an editor scores to them.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.signal import find_peaks

from expotion_engine.controls.derive import derivative
from expotion_engine.types import Marker

#: per-second rates of change that count as one unit of novelty.
NOVELTY_SCALES: Mapping[str, float] = {
    "body_speed": 6.0,
    "face_motion": 4.0,
    "flow_energy": 0.6,
    "face_mouth_open": 0.5,
    "face_smile": 0.8,
    "face_brow_raise": 0.15,
}
_RISING_ONLY = ("body_speed", "face_motion", "flow_energy")


def novelty(signals: Mapping[str, tuple[np.ndarray, np.ndarray]], rate: float) -> np.ndarray:
    """Sum of scaled rates of change of ``signals`` (name -> (values, mask))."""
    total: np.ndarray | None = None
    for name, scale in NOVELTY_SCALES.items():
        if name not in signals:
            continue
        values, mask = signals[name]
        change = derivative(values, rate) / scale
        change = np.maximum(change, 0.0) if name in _RISING_ONLY else np.abs(change)
        valid = mask & np.roll(mask, 1) & np.roll(mask, -1)
        change = np.where(valid, change, 0.0)
        total = change if total is None else total + change
    return np.zeros(0) if total is None else total.astype(np.float32)


def detect_hits(
    curve: np.ndarray,
    rate: float,
    *,
    threshold: float,
    min_spacing: float,
    cuts: np.ndarray | None = None,
) -> list[Marker]:
    """Peaks of ``curve`` above ``threshold`` plus shot cuts (times in seconds)."""
    markers: list[Marker] = []
    if len(curve):
        distance = max(int(round(min_spacing * rate)), 1)
        peaks, props = find_peaks(curve, height=threshold, distance=distance)
        for peak, height in zip(peaks, props["peak_heights"], strict=True):
            markers.append(Marker(time=float(peak / rate), name="hit", kind="hit", strength=float(height)))
    for cut in cuts if cuts is not None else ():
        markers = [m for m in markers if abs(m.time - cut) >= min_spacing]
        markers.append(Marker(time=float(cut), name="cut", kind="hit", strength=float(max(threshold, 1.0) * 2)))
    markers.sort(key=lambda m: m.time)
    return [Marker(m.time, f"{m.name} {i + 1}", m.kind, m.color, m.strength) for i, m in enumerate(markers)]
