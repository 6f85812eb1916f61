"""Split a beat sequence into stretches of steady tempo: tempo changes only where real.

Beat times against beat index are fitted by straight lines joined at beats (the knots).
The number and places of the knots minimise squared timing error plus a BIC-style
penalty per segment scaled by the timing noise, which is estimated from the beats
themselves (second differences, robustly). A steady passage is one segment however long;
a step change gives one knot at the step; a ramp gives a few knots inside the ramp and
none outside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MIN_SEGMENT_BEATS = 4
MIN_NOISE_S = 0.003


@dataclass(frozen=True)
class Segment:
    """Beats ``first..last`` (indices, inclusive) with a steady period in seconds."""

    first: int
    last: int
    period: float


def timing_noise(beats: np.ndarray) -> float:
    """Robust standard deviation of beat jitter (s), from second differences of beat times."""
    if len(beats) < 4:
        return 0.0
    second = np.diff(beats, n=2)
    mad = float(np.median(np.abs(second - np.median(second))))
    return 1.4826 * mad / math.sqrt(6.0)


def _costs_ending_at(prefix: dict[str, np.ndarray], starts: np.ndarray, end: int) -> np.ndarray:
    """Squared error of the least-squares line through beats ``start..end`` for each start."""
    def span(key: str) -> np.ndarray:
        return prefix[key][end + 1] - prefix[key][starts]

    n = (end + 1 - starts).astype(np.float64)
    si, st, sii, stt, sit = span("i"), span("t"), span("ii"), span("tt"), span("it")
    var_i = sii - si * si / n
    cov = sit - si * st / n
    var_t = stt - st * st / n
    return np.maximum(var_t - np.where(var_i > 0, cov * cov / np.maximum(var_i, 1e-12), 0.0), 0.0)


def segment_beats(beats: np.ndarray, *, penalty_scale: float = 3.0,
                  min_beats: int = MIN_SEGMENT_BEATS) -> list[Segment]:
    """Optimal steady-tempo segments of ``beats`` (seconds, increasing, at least 2)."""
    count = len(beats)
    if count < 2:
        raise ValueError("Need at least two beats to measure a tempo.")
    index = np.arange(count, dtype=np.float64)
    slope, intercept = np.polyfit(index, beats, 1)
    t = beats - (slope * index + intercept)  # detrended: keeps the sums small and exact
    prefix = {key: np.concatenate([[0.0], np.cumsum(v)]) for key, v in
              {"i": index, "t": t, "ii": index * index, "tt": t * t, "it": index * t}.items()}
    noise = max(timing_noise(beats), MIN_NOISE_S)
    penalty = penalty_scale * math.log(count) * noise * noise
    best = np.full(count, np.inf)
    best[0] = 0.0
    start_of = np.zeros(count, dtype=np.int64)
    shortest = min(min_beats, count)
    for end in range(1, count):
        starts = np.arange(0, end)
        starts = starts[(end - starts + 1 >= shortest) & np.isfinite(best[starts])]
        if len(starts) == 0:
            continue
        total = best[starts] + _costs_ending_at(prefix, starts, end) + penalty
        k = int(np.argmin(total))
        best[end], start_of[end] = total[k], starts[k]
    knots = [count - 1]
    while knots[-1] > 0:
        knots.append(int(start_of[knots[-1]]))
    knots.reverse()
    segments = []
    for first, last in zip(knots[:-1], knots[1:], strict=True):
        period = float(np.polyfit(index[first:last + 1], beats[first:last + 1], 1)[0])
        segments.append(Segment(first, last, period))
    return segments


def knot_times(beats: np.ndarray, segments: list[Segment]) -> np.ndarray:
    """Fitted time of every knot beat (the mean of the adjoining segments' lines)."""
    index = np.arange(len(beats), dtype=np.float64)
    lines = [np.polyfit(index[s.first:s.last + 1], beats[s.first:s.last + 1], 1) for s in segments]
    times = []
    for j in range(len(segments) + 1):
        knot = segments[j].first if j < len(segments) else segments[-1].last
        fits = [np.polyval(lines[k], knot) for k in (j - 1, j) if 0 <= k < len(segments)]
        times.append(float(np.mean(fits)))
    return np.asarray(times)


__all__ = ["Segment", "knot_times", "segment_beats", "timing_noise"]
