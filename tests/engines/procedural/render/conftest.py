"""Fixtures for the renderer tests: small Scores built note by note, and independent audio measurements.

``make_score(parts, duration)`` wraps parts in a Score at 120 BPM; ``one_note(instrument, pitch,
...)`` is a Part with a single note; ``spectrum(x, sr)`` gives (freqs, magnitude) of a mono signal;
``fft_true_peak_db(x)`` measures true peak by FFT resampling (4x), independent of the renderer's
polyphase interpolator; ``lufs(x, sr)`` is pyloudnorm's BS.1770 integrated loudness.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyloudnorm
import pytest
from scipy.signal import resample

from expotion_engine.engines.procedural.score import Part, Score
from expotion_engine.types import Note, TempoMap


@pytest.fixture(scope="session")
def make_score() -> Callable[..., Score]:
    def make(parts: tuple[Part, ...], duration: float, seed: int = 1) -> Score:
        return Score(duration, TempoMap.constant(120.0), tuple(parts), (), "C", "major", {"seed": seed})

    return make


@pytest.fixture(scope="session")
def one_note() -> Callable[..., Part]:
    def make(instrument: str, pitch: int = 57, start: float = 0.1, length: float = 0.5, velocity: int = 100,
             channel: int = 0, **kwargs) -> Part:
        note = Note(pitch, start, start + length, velocity, channel)
        return Part(kwargs.pop("name", "part"), instrument, (note,), **kwargs)

    return make


@pytest.fixture(scope="session")
def groove() -> Callable[..., tuple[Part, ...]]:
    """Drums, bass, pad and lead playing a two-bar loop for ``duration`` seconds."""

    def make(duration: float) -> tuple[Part, ...]:
        drums, bass, pad, lead = [], [], [], []
        step, t, i = 0.125, 0.0, 0
        while t < duration - 1.0:
            drums.append(Note(42, t, t + 0.05, 60 + 40 * (i % 2), 9))
            if i % 8 == 0:
                drums.append(Note(36, t, t + 0.1, 115, 9))
            if i % 8 == 4:
                drums.append(Note(38, t, t + 0.1, 105, 9))
            if i % 16 == 0:
                root = (45, 41, 43, 40)[(i // 16) % 4]
                bass.append(Note(root - 12, t, t + 0.9, 100))
                pad.extend(Note(p, t, t + 1.9, 80) for p in (root + 12, root + 15, root + 19))
            if i % 4 == 0:
                lead.append(Note(69 + (i // 4) % 5, t, t + 0.45, 95))
            t += step
            i += 1
        return (Part("drums", "drums", tuple(drums), effects={"reverb": 0.2}),
                Part("bass", "synth_bass", tuple(bass)),
                Part("harmony", "pad", tuple(pad), effects={"reverb": 0.6}),
                Part("melody", "saw_lead", tuple(lead), pan=0.2, effects={"delay": 0.4, "reverb": 0.3}))

    return make


@pytest.fixture(scope="session")
def spectrum() -> Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray]]:
    def spec(x: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
        mono = np.asarray(x, dtype=np.float64)
        mono = mono.mean(axis=0) if mono.ndim == 2 else mono
        mag = np.abs(np.fft.rfft(mono * np.hanning(mono.size)))
        return np.fft.rfftfreq(mono.size, 1.0 / sample_rate), mag

    return spec


@pytest.fixture(scope="session")
def fft_true_peak_db() -> Callable[[np.ndarray], float]:
    def measure(x: np.ndarray) -> float:
        up = resample(np.asarray(x, dtype=np.float64), 4 * x.shape[-1], axis=-1)
        return float(20.0 * np.log10(np.abs(up).max()))

    return measure


@pytest.fixture(scope="session")
def lufs() -> Callable[[np.ndarray, int], float]:
    def measure(x: np.ndarray, sample_rate: int) -> float:
        return float(pyloudnorm.Meter(sample_rate).integrated_loudness(np.asarray(x, dtype=np.float64).T))

    return measure
