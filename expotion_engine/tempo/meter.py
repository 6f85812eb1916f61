"""Time signature and downbeats from what changes with the position in the bar.

For every beat we measure the onset strength in a low (kick, bass), middle and high
band, the overall onset strength, and how much the harmony (chroma) changed since the
previous beat. A meter of ``m`` beats explains part of each feature's variance by the
position in the bar (η², as in a one-way ANOVA, on features standardised with floors so
inaudible differences cannot decide); 3/4 is chosen over 4/4 only when it
explains clearly more. The downbeat is the position with the strongest kick, the
largest harmonic change and the loudest onset (weighted z-scores).

Beats that show no bar pattern above chance (noise, a random-weights model's take, much
real MusicGen output: the meter's η² within :data:`CHANCE_SD` standard deviations of what
beats without a pattern give) get 4/4 with bar 1 on the first beat, marked not detected,
rather than a downbeat picked by noise (a pickup bar nothing in the music asks for).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from expotion_engine.tempo.onsets import Envelopes

METERS = (4, 3)
THREE_FOUR_MARGIN = 0.05
# Weights of (low, mid, high, strength, harmonic change) when picking the downbeat.
DOWNBEAT_WEIGHTS = np.array([1.0, 0.0, 0.0, 0.5, 1.0])
CHROMA_FLOOR = 0.05
CHANCE_SD = 2.0


@dataclass(frozen=True)
class Meter:
    """Beats per bar, index of the first downbeat among the beats, and how sure we are."""

    beats_per_bar: int
    first_downbeat: int
    strength: float  # fraction of beat-feature variance explained by the bar position
    detected: bool = True  # False: no bar pattern above chance, 4/4 from the first beat assumed


def beat_features(beats: np.ndarray, env: Envelopes) -> np.ndarray:
    """``(beats, 5)``: low, mid, high and overall onset strength, harmonic change."""
    rate = env.frame_rate
    n_frames = env.coarse.shape[-1]
    periods = np.diff(beats) if len(beats) > 1 else np.array([0.5])
    periods = np.append(periods, periods[-1])
    rows = []
    chroma_prev = None
    for t, period in zip(beats, periods, strict=True):
        lo = int(np.clip(round((t - 0.1 * period) * rate), 0, n_frames - 1))
        hi = int(np.clip(round((t + 0.1 * period) * rate) + 1, lo + 1, n_frames))
        onsets = [float(env.bands[b, lo:hi].max()) for b in range(env.bands.shape[0])]
        strength = float(env.coarse[lo:hi].max())
        end = int(np.clip(round((t + period) * rate), lo + 1, n_frames))
        chroma = env.chroma[:, lo:end].mean(axis=1)
        if chroma_prev is None:
            change = 0.0
        else:
            norm = float(np.linalg.norm(chroma) * np.linalg.norm(chroma_prev))
            change = 1.0 - float(chroma @ chroma_prev) / norm if norm > 0 else 0.0
        chroma_prev = chroma
        rows.append([*onsets, strength, change])
    features = np.asarray(rows)
    if len(features) > 1:
        features[0, -1] = features[1:, -1].mean()  # the first beat has no predecessor
    return features


def _zscore(features: np.ndarray) -> np.ndarray:
    """Standardise each feature, but not below a floor: differences too small to hear
    (a hundredth of a chroma distance, a tenth of the overall onset level or of the band's
    own, whichever is louder) stay small."""
    level = np.maximum(features[:, :4].mean(axis=0), features[:, 3].mean())
    floors = np.append(0.1 * np.maximum(level, 1e-9), CHROMA_FLOOR)
    std = np.maximum(features.std(axis=0), floors)
    return (features - features.mean(axis=0)) / std


def explained(features: np.ndarray, beats_per_bar: int) -> float:
    """Mean over features of the variance explained by bar position (chance-corrected η²)."""
    z = _zscore(features)
    count = len(z)
    if count < 2 * beats_per_bar:
        return 0.0
    positions = np.arange(count) % beats_per_bar
    between = np.zeros(z.shape[1])
    for p in range(beats_per_bar):
        group = z[positions == p]
        between += len(group) * group.mean(axis=0) ** 2
    eta2 = between / count
    chance = (beats_per_bar - 1) / (count - 1) * z.var(axis=0)
    return float(np.mean(eta2 - chance))


def chance_level(count: int, beats_per_bar: int) -> float:
    """The :func:`explained` value beats with no bar pattern reach by chance: :data:`CHANCE_SD` standard
    deviations of η² for ``beats_per_bar`` groups of ``count`` values (a Beta((k-1)/2, (n-k)/2) variable)."""
    if count <= beats_per_bar:
        return math.inf
    k, n = beats_per_bar, count
    return CHANCE_SD * math.sqrt(2.0 * (k - 1) * (n - k) / ((n - 1) ** 2 * (n + 1)))


def downbeat_phase(features: np.ndarray, beats_per_bar: int) -> int:
    """Index (0..beats_per_bar-1) of the first beat that is a downbeat."""
    z = _zscore(features)
    positions = np.arange(len(z)) % beats_per_bar
    scores = [float(z[positions == p].mean(axis=0) @ DOWNBEAT_WEIGHTS) if np.any(positions == p) else -np.inf
              for p in range(beats_per_bar)]
    return int(np.argmax(scores))


def estimate_meter(beats: np.ndarray, env: Envelopes) -> Meter:
    """The meter (4/4 unless 3/4 clearly fits better) and the first downbeat; 4/4 from the first
    beat, not detected, when the chosen meter explains no more than chance."""
    if len(beats) < 2:
        return Meter(4, 0, 0.0, detected=False)
    features = beat_features(beats, env)
    fits = {m: explained(features, m) for m in METERS}
    beats_per_bar = 3 if fits[3] > fits[4] + THREE_FOUR_MARGIN else 4
    strength = max(fits[beats_per_bar], 0.0)
    if fits[beats_per_bar] <= chance_level(len(features), beats_per_bar):
        return Meter(4, 0, strength, detected=False)
    return Meter(beats_per_bar, downbeat_phase(features, beats_per_bar), strength)


__all__ = ["Meter", "beat_features", "chance_level", "downbeat_phase", "estimate_meter", "explained"]
