"""Tempo from the rhythm of the motion, and a tempo map bent so hits land on the beat.

The motion estimate autocorrelates an onset-like novelty curve (the rises of energy,
wrist speed and optical flow); the map is then fitted to hit points the way a film
composer fits hits: each segment between two fitted hits gets a slightly different
tempo (within ``max_bend``) so the hit falls exactly on a beat, preferably a downbeat;
the last segment ends in a short ritardando onto the final downbeat.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

from expotion_engine.types import ControlTrack, MeterChange, TempoChange, TempoMap

MOTION_CHANNELS = ("energy", "body_l_wrist_speed", "body_r_wrist_speed", "flow_energy", "body_speed")
ON_GRID_S = 0.025
#: hits at least this strong (0..1) are fitted onto the grid; weaker ones only get accents
FIT_STRENGTH = 0.5


@dataclass(frozen=True)
class TempoEstimate:
    """The tempo the motion suggests and how sure the estimate is (0 = no periodicity)."""

    bpm: float
    confidence: float
    source: str


@dataclass(frozen=True)
class Hit:
    """A time the music must mark (a detected hit point or a user cue); ``strength`` 0..1 (1 = the strongest)."""

    time: float
    strength: float
    name: str
    marker_strength: float = 1.0
    kind: str = "hit"


def novelty(controls: ControlTrack) -> np.ndarray:
    """Sum of the half-wave-rectified rises of the motion channels, each normalised, masked frames zero."""
    total = np.zeros(controls.n_frames, np.float64)
    for name in MOTION_CHANNELS:
        if not controls.has(name):
            continue
        x = np.where(controls.valid(name), controls.channel(name), np.nan).astype(np.float64)
        if np.all(np.isnan(x)):
            continue
        x = np.nan_to_num(x, nan=float(np.nanmean(x)))
        rise = np.maximum(np.diff(x, prepend=x[0]), 0.0)
        scale = float(np.std(rise))
        if scale > 1e-9:
            total += rise / scale
    return total


def estimate_tempo(controls: ControlTrack, low: float, high: float) -> TempoEstimate:
    """Tempo (BPM, folded into ``low..high``) of the strongest periodicity of the motion."""
    flux = gaussian_filter1d(novelty(controls), 1.0)
    flux = flux - flux.mean() if flux.size else flux
    rate = controls.rate
    min_lag, max_lag = int(rate * 60.0 / 200.0), int(rate * 60.0 / 45.0)
    if flux.size < 3 * max_lag or not np.any(flux):
        return TempoEstimate(bpm=0.0, confidence=0.0, source="none")
    spectrum = np.fft.rfft(flux, n=2 * flux.size)
    ac = np.fft.irfft(spectrum * np.conj(spectrum))[: flux.size]
    ac = ac / ac[0] if ac[0] > 0 else ac
    lags = np.arange(min_lag, max_lag + 1)
    peaks = [k for k in lags if ac[k] >= ac[k - 1] and ac[k] >= ac[k + 1] and ac[k] > 0]
    if not peaks:
        return TempoEstimate(bpm=0.0, confidence=0.0, source="none")
    center = math.sqrt(low * high)

    def weight(k: int) -> float:
        bpm = 60.0 * rate / k
        reachable = 1.0 if low * 0.98 <= _fold(bpm, low, high) <= high * 1.02 else 0.3
        return ac[k] * math.exp(-0.5 * (math.log2(bpm / center) / 0.8) ** 2) * reachable

    lag = max(peaks, key=weight)
    a, b, c = ac[lag - 1], ac[lag], ac[lag + 1]
    denom = a - 2 * b + c
    shift = 0.5 * (a - c) / denom if abs(denom) > 1e-12 else 0.0
    bpm = 60.0 * rate / (lag + float(np.clip(shift, -0.5, 0.5)))
    return TempoEstimate(bpm=fold_tempo(bpm, low, high), confidence=float(max(ac[lag], 0.0)), source="motion")


def _fold(bpm: float, low: float, high: float) -> float:
    while bpm < low and bpm * 2 <= high * 1.05:
        bpm *= 2
    while bpm > high and bpm / 2 >= low * 0.95:
        bpm /= 2
    return bpm


def fold_tempo(bpm: float, low: float, high: float) -> float:
    """Double or halve ``bpm`` into ``low..high``, then clamp."""
    return float(min(max(_fold(bpm, low, high), low), high))


@dataclass(frozen=True)
class FitResult:
    """A fitted tempo map, where the final cadence falls, and the hit-fit report."""

    tempo_map: TempoMap
    cadence_time: float
    cadence_beat: int
    report: dict


def _segment_bpm(shape: np.ndarray, seconds: float) -> float:
    """Base tempo for beats with relative tempi ``shape`` to last exactly ``seconds``."""
    return float(np.sum(60.0 / shape) / seconds)


def fit_tempo_map(
    duration: float,
    bpm: float,
    numerator: int,
    hits: list[Hit],
    *,
    max_bend: float = 0.06,
    ritardando: float = 0.12,
    search: float = 0.0,
    bounds: tuple[float, float] = (30.0, 300.0),
) -> FitResult:
    """Piecewise-constant map near ``bpm`` bent so hits land on beats and a final downbeat lands before the end.

    With ``search`` > 0 the base tempo may move up to that fraction (inside ``bounds``)
    to the value that lands the most (and strongest) hits with the least bending.
    """
    if search <= 0 or not hits:
        return _fit(duration, bpm, numerator, hits, max_bend, ritardando)
    candidates = np.unique(np.clip(bpm * (1.0 + np.linspace(-search, search, 41)), *bounds))
    results = [_fit(duration, float(base), numerator, hits, max_bend, ritardando) for base in candidates]

    def score(result: FitResult) -> float:
        report = result.report
        return 10.0 * report["fitted_strength"] - report["total_bend"] - 2.0 * abs(report["base_bpm"] / bpm - 1.0)

    return max(results, key=score)


def _fit(duration: float, bpm: float, numerator: int, hits: list[Hit], max_bend: float,
         ritardando: float) -> FitResult:
    """One fit at base tempo ``bpm`` (see :func:`fit_tempo_map`)."""
    beat_s = 60.0 / bpm
    min_tail = min(max(1.5 * beat_s, 1.2), 0.2 * duration)
    max_tail = min(max(4 * beat_s, 3.5), 0.35 * duration)
    fixed: list[tuple[float, int]] = [(0.0, 0)]
    fitted: list[Hit] = []
    bends: list[float] = []
    for hit in sorted((h for h in hits if h.strength >= FIT_STRENGTH), key=lambda h: h.time):
        t0, b0 = fixed[-1]
        if hit.time >= duration - min_tail - numerator * beat_s or hit.time - t0 < 1.5 * beat_s:
            continue
        estimate = b0 + (hit.time - t0) / beat_s
        best: tuple[float, int] | None = None
        candidates = sorted({math.floor(estimate), math.ceil(estimate)} - {b0})
        downbeats = sorted({numerator * math.floor(estimate / numerator), numerator * math.ceil(estimate / numerator)})
        if hit.strength >= 0.7:
            candidates = [k for k in downbeats if k > b0] + candidates
        for k in candidates:
            if k <= b0:
                continue
            new_bpm = (k - b0) * 60.0 / (hit.time - t0)
            bend = abs(new_bpm / bpm - 1.0)
            if bend <= max_bend:
                best = (bend, k)
                break
        if best is not None:
            fixed.append((hit.time, best[1]))
            fitted.append(hit)
            bends.append(best[0])
    t_last, b_last = fixed[-1]
    rit = 1.0 - ritardando * (np.arange(1, numerator + 1) / numerator) ** 1.5
    early, late = duration - max_tail, duration - min_tail
    best_k, best_cost, cadence_target = b_last + numerator, math.inf, late
    for k in range(b_last + 1, b_last + int((late - t_last) / beat_s) + 2 * numerator + 1):
        n_rit = min(numerator, k - b_last)
        rit_start = t_last + (k - b_last - n_rit) * beat_s
        natural = rit_start + float(np.sum(60.0 / (bpm * rit[-n_rit:])))
        target = min(max(natural, early), late)
        if target <= rit_start:
            continue
        cost = abs(_segment_bpm(rit[-n_rit:], target - rit_start) / bpm - 1.0) + (0.0 if k % numerator == 0 else 0.3)
        cost += 0.01 * (late - target)  # the latest cadence that fits: the longest music, the shortest tail
        if cost < best_cost:
            best_k, best_cost, cadence_target = k, cost, target
    changes: list[TempoChange] = []
    for (t0, b0), (t1, b1) in zip(fixed, fixed[1:], strict=False):
        changes.append(TempoChange(t0, (b1 - b0) * 60.0 / (t1 - t0)))
    n_rit = min(numerator, best_k - b_last)
    if best_k - b_last > n_rit:
        changes.append(TempoChange(t_last, bpm))
    time = t_last + (best_k - b_last - n_rit) * beat_s
    base = _segment_bpm(rit[-n_rit:], cadence_target - time)
    for s in rit[-n_rit:]:
        changes.append(TempoChange(time, base * s))
        time += 60.0 / (base * s)
    changes.append(TempoChange(cadence_target, base * rit[-1] * 0.92))
    tempo_map = TempoMap(tuple(changes), (MeterChange(0.0, numerator, 4),), 0.0)
    report = hit_report(tempo_map, hits, fitted, duration)
    report.update(base_bpm=bpm, fitted_strength=float(sum(h.strength for h in fitted)), total_bend=float(sum(bends)),
                  largest_bend=float(max(bends, default=0.0)))
    return FitResult(tempo_map, cadence_target, best_k, report)


def hit_report(tempo_map: TempoMap, hits: list[Hit], fitted: list[Hit], duration: float) -> dict:
    """How many hits fall on a beat / downbeat of the map and the largest offset (seconds)."""
    beats = tempo_map.beat_times(duration + 1.0)
    downbeats = tempo_map.downbeat_times(duration + 1.0)
    offsets, on_grid, on_downbeat = [], 0, 0
    for hit in hits:
        offset = float(beats[np.argmin(np.abs(beats - hit.time))] - hit.time)
        offsets.append(offset)
        on_grid += abs(offset) <= ON_GRID_S
        on_downbeat += bool(np.min(np.abs(downbeats - hit.time)) <= ON_GRID_S)
    return {
        "hits": len(hits),
        "hits_on_grid": int(on_grid),
        "hits_on_downbeat": int(on_downbeat),
        "hits_fitted": len(fitted),
        "largest_offset_s": float(max((abs(o) for o in offsets), default=0.0)),
        "offsets_s": [round(o, 4) for o in offsets],
        "tolerance_s": ON_GRID_S,
    }
