"""The DSP fallback: percussive hits go to drums, a low sustained line to bass, the rest to other."""

from __future__ import annotations

import numpy as np
import pytest

from expotion_engine.errors import AudioError
from expotion_engine.stems import separate, separate_dsp

RATE = 22050


def band_energy(audio: np.ndarray, lo: float, hi: float) -> float:
    spectrum = np.abs(np.fft.rfft(audio.mean(axis=0))) ** 2
    freqs = np.fft.rfftfreq(audio.shape[-1], 1 / RATE)
    return float(spectrum[(freqs >= lo) & (freqs < hi)].sum())


@pytest.fixture(scope="module")
def parts() -> dict[str, np.ndarray]:
    """Known parts: a 55 Hz bass, a 440/554/659 Hz chord, and clicks of noise twice a second."""
    rng = np.random.default_rng(1)
    t = np.arange(int(4.0 * RATE)) / RATE
    bass = 0.3 * np.sin(2 * np.pi * 55 * t)
    chord = 0.1 * sum(np.sin(2 * np.pi * f * t) for f in (440.0, 554.4, 659.3))
    hits = np.zeros_like(t)
    for start in np.arange(0.25, 4.0, 0.5):
        i = int(start * RATE)
        n = int(0.03 * RATE)
        hits[i:i + n] += 0.6 * rng.standard_normal(n) * np.exp(-np.arange(n) / (0.006 * RATE))
    return {name: np.stack([x, 0.9 * x]).astype(np.float32) for name, x in
            (("bass", bass), ("other", chord), ("drums", hits))}


@pytest.fixture(scope="module")
def dsp_stems(parts: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    mix = sum(parts.values())
    # Short blocks so that the block crossfades are exercised too.
    return {s.name: s.audio for s in separate_dsp(mix, RATE, block_seconds=1.5, fade_seconds=0.4)}


def test_stems_sum_to_the_mix_and_are_marked_dsp(parts: dict[str, np.ndarray]) -> None:
    mix = sum(parts.values())
    stems = separate(mix, RATE, model="dsp")
    assert [s.name for s in stems] == ["drums", "bass", "other"]
    assert all(s.origin == "dsp" and "not a source-separation model" in s.info["note"] for s in stems)
    assert all(s.audio.shape == mix.shape for s in stems)
    np.testing.assert_allclose(np.sum([s.audio for s in stems], axis=0), mix, atol=1e-5)
    assert stems[0].info["residual_db"] < -80


def test_each_part_lands_mostly_in_its_stem(parts: dict[str, np.ndarray], dsp_stems: dict[str, np.ndarray]) -> None:
    low = {name: band_energy(audio, 40, 80) for name, audio in dsp_stems.items()}
    assert low["bass"] > 0.95 * sum(low.values())
    chord = {name: band_energy(audio, 400, 700) for name, audio in dsp_stems.items()}
    assert chord["other"] > 0.95 * sum(chord.values())
    noise = {name: band_energy(audio, 2000, 10000) for name, audio in dsp_stems.items()}
    assert noise["drums"] > 0.95 * sum(noise.values())
    # The drums stem follows the true hits better than the mix does (correlation of energy).
    truth = parts["drums"][0] ** 2
    mix = sum(parts.values())[0]
    assert np.corrcoef(dsp_stems["drums"][0] ** 2, truth)[0, 1] > 0.9 > np.corrcoef(mix**2, truth)[0, 1] + 0.3


def test_bad_audio_is_refused() -> None:
    with pytest.raises(AudioError, match="1 or 2 channels"):
        separate_dsp(np.zeros((3, 100), np.float32), RATE)
    with pytest.raises(AudioError, match="NaN"):
        separate_dsp(np.full((1, 100), np.nan, np.float32), RATE)
