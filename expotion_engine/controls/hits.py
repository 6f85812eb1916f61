"""Hit points: shot cuts, motion onsets and sharp expression changes, as ``Marker(kind="hit")``.

A hit's time is the visual event itself: the first decoded frame where the change shows.
Cuts come from :mod:`expotion_engine.controls.cuts`; every other change from
:mod:`expotion_engine.controls.onsets` (a block of cells whose frame-to-frame difference
rises far above its recent level and noise). Landmarks never make a hit on their own,
so a jittering or tiny detected face or body cannot; they say what the change was and
how much it matters, through two novelty curves on the control grid:

* motion: the rising edge (positive time derivative) of body, face, head-turn and
  optical-flow speed;
* expression: the speed of change of mouth opening, smile and brows, measured on copies
  smoothed only lightly (``onset_smoothing``).

Each curve is normalised per clip, robustly (median subtracted, divided by the median
absolute deviation, never by less than a floor). A change is ``expression`` where the
expression curve rises higher than the motion curve just after it, else ``motion``.

Strength is one 0..1 scale for every cause: a change's strength grows with the larger of
its pixel amount (in robust deviations of the clip's per-frame amounts, on a log scale)
and its landmark novelty, from ``MOVE_FLOOR`` to ``MOVE_CEILING``; cuts are 0.8..1, so a
cut outranks ordinary motion. Hits closer than ``min_spacing`` keep the stronger;
choosing a musical number of hits is the engine's job.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np

from expotion_engine.controls.cuts import Cut
from expotion_engine.controls.derive import derivative
from expotion_engine.controls.onsets import FrameActivity, pixel_onsets
from expotion_engine.types import Marker

log = logging.getLogger(__name__)

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
#: the smallest deviation (novelty units) a landmark novelty curve is normalised by.
DEVIATION_FLOOR = 0.25
#: normalised pixel amount and landmark novelty at which a change has full strength.
AMOUNT_FULL = 200.0
LANDMARK_FULL = 40.0
#: landmark novelty counts from just before a change's first frame to this long after it (s).
LANDMARK_WINDOW = 0.35
#: motion and expression strengths lie in MOVE_FLOOR..MOVE_CEILING; cuts start at 0.8.
MOVE_FLOOR = 0.1
MOVE_CEILING = 0.78

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


def normalised(curve: np.ndarray, floor: float = DEVIATION_FLOOR) -> np.ndarray:
    """``curve`` in robust deviations from its median (median absolute deviation, at least ``floor``)."""
    if not len(curve):
        return curve.astype(np.float64)
    median = float(np.median(curve))
    spread = 1.4826 * float(np.median(np.abs(curve - median)))
    return (curve - median) / max(spread, floor)


def move_strength(evidence: float) -> float:
    """0..1 strength of a motion or expression change from its ``evidence`` (0..1 and more)."""
    return MOVE_FLOOR + (MOVE_CEILING - MOVE_FLOOR) * float(np.clip(evidence, 0.0, 1.0))


def _window_max(z: np.ndarray, rate: float, lo: float, hi: float) -> float:
    a, b = max(int(np.floor(lo * rate)), 0), min(int(np.ceil(hi * rate)) + 1, len(z))
    return float(z[a:b].max()) if b > a else 0.0


def detect_hits(
    motion: np.ndarray,
    expression: np.ndarray,
    rate: float,
    activity: FrameActivity,
    *,
    threshold: float,
    min_spacing: float,
    cuts: Sequence[Cut] = (),
) -> list[Marker]:
    """Hit markers: the shot ``cuts`` and every change that starts on a decoded frame of
    ``activity``, each a motion or expression change as the novelty curves (sampled at
    ``rate``) around it say, with one strength scale for all."""
    cut_times = np.array(sorted(c.time for c in cuts), np.float64)
    found = [(c.time, "cut", c.strength) for c in cuts]
    zm, ze = normalised(motion), normalised(expression)
    for onset in pixel_onsets(activity, cut_times, threshold):
        later = cut_times[cut_times > onset.time + 1e-9]
        hi = min(onset.time + LANDMARK_WINDOW, float(later[0]) if len(later) else np.inf)
        z_motion = _window_max(zm, rate, onset.time - 0.05, hi)
        z_expression = _window_max(ze, rate, onset.time - 0.05, hi)
        evidence = max(np.log1p(max(onset.size, 0.0)) / np.log1p(AMOUNT_FULL),
                       max(z_motion, z_expression) / LANDMARK_FULL)
        cause = "expression" if z_expression > z_motion else "motion"
        log.debug("change at %.3f s: rise %.0f, amount %.1f (%.1f dev), landmark z motion %.1f expression %.1f",
                  onset.time, onset.rise, onset.amount, onset.size, z_motion, z_expression)
        found.append((onset.time, cause, move_strength(evidence)))
    kept: list[tuple[float, str, float]] = []
    for hit in sorted(found, key=lambda h: -h[2]):
        if all(abs(hit[0] - other[0]) >= min_spacing - 1e-9 for other in kept):
            kept.append(hit)
    kept.sort()
    return [
        Marker(time=time, name=f"{cause} {i + 1}", kind="hit", strength=round(strength, 4), cause=cause)
        for i, (time, cause, strength) in enumerate(kept)
    ]
