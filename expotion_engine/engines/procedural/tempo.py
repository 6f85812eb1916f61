"""Tempo and meter from the rhythm of the motion, the spacing of the hits and the energy.

The motion term autocorrelates an onset-like novelty curve (the rises of energy, wrist
speed and optical flow); the hit term asks how many intervals between strong hits are
whole numbers of eighth notes at a tempo; the energy term prefers faster tempi for
livelier footage. The tempo with the best weighted sum wins, and the term that
contributed most names the source ("motion", "hits" or "energy"). The meter is 3 when
the motion repeats clearly more every three beats than every four; the motion's strongest
onsets (:func:`motion_pulses`) later pull the beat grid onto the gestures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import gaussian_filter1d

from expotion_engine.engines.procedural.hits import Hit
from expotion_engine.types import ControlTrack

MOTION_CHANNELS = ("energy", "body_l_wrist_speed", "body_r_wrist_speed", "flow_energy", "body_speed")
#: motion autocorrelation peaks below this are treated as no rhythm at all
MOTION_CONFIDENCE = 0.25
#: weights of the motion, hit and energy terms
W_MOTION, W_HITS, W_ENERGY = 1.0, 0.6, 0.25
#: hits at least this strong (0..1) take part in the hit term
RHYTHM_HIT = 0.5
#: eighth-note misfit (beats) of a hit interval that halves its vote; intervals that make the hit term half-trusted
HIT_TOLERANCE, HIT_PAIRS = 0.08, 6.0


@dataclass(frozen=True)
class TempoEstimate:
    """The tempo the motion suggests and how sure the estimate is (0 = no periodicity)."""

    bpm: float
    confidence: float
    source: str


@dataclass(frozen=True)
class TempoChoice:
    """The chosen tempo and meter, which evidence chose them, and the weight of each term at that tempo."""

    bpm: float
    numerator: int
    source: str
    confidence: float
    terms: dict[str, float] = field(default_factory=dict)


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


def motion_autocorrelation(controls: ControlTrack) -> np.ndarray:
    """Normalised autocorrelation (lag in control frames) of the smoothed motion novelty; empty without motion."""
    flux = gaussian_filter1d(novelty(controls), 1.0)
    flux = flux - flux.mean() if flux.size else flux
    if flux.size < 8 or not np.any(flux):
        return np.zeros(0)
    spectrum = np.fft.rfft(flux, n=2 * flux.size)
    ac = np.fft.irfft(spectrum * np.conj(spectrum))[: flux.size]
    return ac / ac[0] if ac[0] > 0 else np.zeros(0)


def estimate_tempo(controls: ControlTrack, low: float, high: float) -> TempoEstimate:
    """Tempo (BPM, folded into ``low..high``) of the strongest periodicity of the motion."""
    rate = controls.rate
    min_lag, max_lag = int(rate * 60.0 / 200.0), int(rate * 60.0 / 45.0)
    ac = motion_autocorrelation(controls)
    if ac.size < 3 * max_lag:
        return TempoEstimate(bpm=0.0, confidence=0.0, source="none")
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


def _ac_at(ac: np.ndarray, lag: float) -> float:
    """Autocorrelation at a fractional lag (0 outside the curve)."""
    if lag < 1 or lag >= ac.size - 1:
        return 0.0
    return float(np.interp(lag, np.arange(ac.size), ac))


def motion_term(ac: np.ndarray, rate: float, bpm: float) -> float:
    """How strongly the motion repeats at one beat of ``bpm`` (its half and double count a little less)."""
    if ac.size == 0:
        return 0.0
    lag = 60.0 * rate / bpm
    best = max(_ac_at(ac, lag), 0.85 * _ac_at(ac, 2 * lag), 0.85 * _ac_at(ac, lag / 2))
    return max(best, 0.0)


def hit_term(hits: Sequence[Hit], bpm: float) -> float:
    """0..1: how much better than chance the intervals between strong hits are whole eighth notes at ``bpm``."""
    times = [h.accent_time for h in hits if h.strength >= RHYTHM_HIT]
    votes, weights = 0.0, 0.0
    for i, a in enumerate(times):
        for b in times[i + 1: i + 4]:
            eighths = (b - a) * bpm / 30.0
            miss = abs(eighths - round(eighths)) / 2.0  # in beats
            votes += math.exp(-((miss / HIT_TOLERANCE) ** 2))
            weights += 1.0
    if weights < 3:
        return 0.0
    chance = HIT_TOLERANCE * math.sqrt(math.pi) / 0.5  # the mean vote of random intervals
    reliability = weights / (weights + HIT_PAIRS)  # a few intervals fit some tempo by chance
    return float(max(votes / weights - chance, 0.0) / (1.0 - chance) * reliability)


def energy_tempo(mean_energy: float, low: float, high: float) -> float:
    """The tempo the energy alone suggests: 20 % into the range when calm, 80 % when lively."""
    return low + (high - low) * (0.2 + 0.6 * float(np.clip(mean_energy, 0.0, 1.0)))


def choose_tempo_meter(controls: ControlTrack, hits: Sequence[Hit], mean_energy: float, low: float, high: float,
                       meter: int | None = None) -> TempoChoice:
    """Tempo (inside ``low..high``) and beats per bar from motion rhythm, hit spacing and energy together."""
    rate = controls.rate
    ac = motion_autocorrelation(controls)
    estimate = estimate_tempo(controls, low, high)
    motion_ok = estimate.confidence >= MOTION_CONFIDENCE
    preferred = energy_tempo(mean_energy, low, high)
    width = 0.25 * (high - low) + 4.0
    candidates = np.arange(low, high + 1e-9, 0.5) if high > low else np.array([low])
    best_terms: dict[str, float] = {}
    best_total, best_bpm = -math.inf, preferred
    for bpm in candidates:
        terms = {
            "motion": W_MOTION * motion_term(ac, rate, float(bpm)) if motion_ok else 0.0,
            "hits": W_HITS * hit_term(hits, float(bpm)),
            "energy": W_ENERGY * math.exp(-0.5 * ((bpm - preferred) / width) ** 2),
        }
        total = sum(terms.values())
        if total > best_total + 1e-9:
            best_total, best_bpm, best_terms = total, float(bpm), terms
    source = max(best_terms, key=lambda k: best_terms[k])
    if motion_ok and source == "motion" and abs(estimate.bpm - best_bpm) <= 1.0:
        best_bpm = estimate.bpm  # the motion's own, finer estimate
    numerator = meter if meter is not None else choose_meter(ac, rate, best_bpm) if motion_ok else 4
    return TempoChoice(bpm=best_bpm, numerator=numerator, source=source, confidence=estimate.confidence,
                       terms={k: round(v, 3) for k, v in best_terms.items()})


def choose_meter(ac: np.ndarray, rate: float, bpm: float) -> int:
    """3 when the motion repeats clearly more every three beats than every four (a waltz-like sway), else 4."""
    lag = 60.0 * rate / bpm
    three, four = _ac_at(ac, 3 * lag), _ac_at(ac, 4 * lag)
    return 3 if three > 0.3 and three > four + 0.15 else 4


def motion_pulses(controls: ControlTrack, bpm: float, confidence: float, numerator: int = 4,
                  bars: int = 2) -> list[tuple[float, float]]:
    """The strongest motion onset in every ``bars`` bars at ``bpm`` as (time, weight 0..1): moments the beats should
    fall on so the music pulses with the gestures (weight: the onset's height against the strongest, times the
    rhythm's confidence; onsets under half the strongest are left out)."""
    flux = gaussian_filter1d(novelty(controls), 1.0)
    if flux.size < 3 or not np.any(flux > 0):
        return []
    rate = controls.rate
    peaks = np.flatnonzero((flux[1:-1] >= flux[:-2]) & (flux[1:-1] > flux[2:])) + 1
    top = float(flux.max())
    span = bars * numerator * 60.0 / bpm
    out = []
    for start in np.arange(0.0, flux.size / rate, span):
        inside = peaks[(peaks >= start * rate) & (peaks < (start + span) * rate)]
        if not inside.size:
            continue
        k = int(inside[np.argmax(flux[inside])])
        if flux[k] < 0.5 * top:
            continue
        a, b, c = flux[k - 1], flux[k], flux[k + 1]
        denom = a - 2 * b + c
        shift = float(np.clip(0.5 * (a - c) / denom, -0.5, 0.5)) if abs(denom) > 1e-12 else 0.0
        out.append(((k + shift) / rate, float(min(confidence, 1.0) * flux[k] / top)))
    return out
