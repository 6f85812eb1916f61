"""The mix bus's measurements and limiter against independent references (pyloudnorm, FFT resampling)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import butter, sosfilt

from expotion_engine.engines.procedural.render.bus import integrated_loudness, limit, true_peak_db

SR = 48000


def music_like(seconds: float, seed: int, level: float = 0.1) -> np.ndarray:
    """Band-limited noise with a slow loudness swell and some sharp hits."""
    rng = np.random.default_rng(seed)
    n = round(seconds * SR)
    x = sosfilt(butter(4, 15000, fs=SR, output="sos"), rng.standard_normal((2, n)), axis=-1)
    x *= level * (0.3 + 0.7 * np.sin(np.linspace(0, 3, n)) ** 2)
    for at in rng.integers(0, n - 2000, 10):
        x[:, at: at + 2000] *= 4.0
    return x.astype(np.float32)


@pytest.mark.parametrize(("seconds", "seed", "rate"), [(3.0, 1, 48000), (12.3, 2, 48000), (2.0, 3, 44100)])
def test_loudness_matches_pyloudnorm(seconds, seed, rate, lufs):
    x = music_like(seconds, seed)
    assert integrated_loudness(x, rate) == pytest.approx(lufs(x, rate), abs=0.01)


def test_loudness_of_silence_and_of_a_short_clip(lufs):
    assert integrated_loudness(np.zeros((2, SR), dtype=np.float32), SR) == float("-inf")
    short = music_like(0.2, 4)
    padded = np.pad(short, ((0, 0), (0, SR)))
    assert integrated_loudness(short, SR) == pytest.approx(lufs(padded, SR), abs=0.01)


@pytest.mark.parametrize("seed", [5, 6])
def test_true_peak_matches_fft_oversampling(seed, fft_true_peak_db):
    x = music_like(2.0, seed)
    assert true_peak_db(x) == pytest.approx(fft_true_peak_db(x), abs=0.05)


def test_true_peak_finds_the_peak_between_samples(fft_true_peak_db):
    t = np.arange(SR) / SR
    fade = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.05)  # no abrupt start or end (they ring)
    tone = (0.5 * fade * np.sin(2 * np.pi * 12000 * t + np.pi / 4)).astype(np.float32)
    x = np.stack([tone, tone])
    assert 20 * np.log10(np.abs(x).max()) < -8.5  # the samples miss the crest by 3 dB
    assert true_peak_db(x) == pytest.approx(20 * np.log10(0.5), abs=0.1)


def test_limiter_holds_the_ceiling_and_leaves_quiet_parts_alone(fft_true_peak_db):
    x = music_like(4.0, 7, level=0.25)
    x[:, 2 * SR: 3 * SR] *= 0.02
    y, gain, peak = limit(x, SR, -1.0)
    assert fft_true_peak_db(y) <= -1.0
    assert 20 * np.log10(peak) <= -1.0
    assert gain.min() < 0.5
    assert np.all(gain[round(2.5 * SR): round(2.95 * SR)] == 1.0)  # recovered, and not yet reaching for 3 s
    np.testing.assert_array_equal(y[:, round(2.5 * SR): round(2.95 * SR)], x[:, round(2.5 * SR): round(2.95 * SR)])
    assert np.abs(np.diff(gain)).max() < 0.01  # gain ramps, never jumps
