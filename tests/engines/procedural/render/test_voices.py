"""Synth voices held long: no level holes inside a note, ensembles spread across the field, some noise in the tone."""

from __future__ import annotations

import numpy as np
import pytest

from expotion_engine.engines.procedural.render import INSTRUMENTS
from expotion_engine.engines.procedural.render.instruments import NoteCache, instrument, render_notes
from expotion_engine.engines.procedural.render.synth import midi_hz
from expotion_engine.engines.procedural.score import Part
from expotion_engine.types import Note

SR = 22050
HELD = 6.0
SUSTAINED = sorted(name for name, inst in INSTRUMENTS.items() if inst.kit is None and inst.ring is None)


def held_note(name: str, pitch: int, seconds: float = HELD, start: float = 0.1) -> np.ndarray:
    """One note of ``name`` held ``seconds`` (dry, stereo)."""
    part = Part("x", name, (Note(pitch, start, start + seconds, 100),))
    inst = instrument(part)
    n = round((start + seconds + inst.envelope.release + 0.2) * SR)
    return render_notes(part, inst, SR, n, 3, NoteCache())


def levels_db(x: np.ndarray, pitch: int, start: float, stop: float) -> np.ndarray:
    """Level (dB, both channels' power) in windows of whole periods, at least 20 ms, from ``start`` to ``stop`` s."""
    period = SR / midi_hz(pitch)
    window = round(max(2, np.ceil(0.02 * SR / period)) * period)
    a, b = round(start * SR), round(stop * SR)
    blocks = (b - a) // window
    power = np.square(x[:, a:a + blocks * window], dtype=np.float64).sum(axis=0).reshape(blocks, window).mean(axis=1)
    return 10.0 * np.log10(np.maximum(power, 1e-20))


def deepest_hole_db(level: np.ndarray) -> float:
    """How far the level falls below the louder of the peaks either side of it (a monotone fade is no hole)."""
    before = np.maximum.accumulate(level)
    after = np.maximum.accumulate(level[::-1])[::-1]
    return float(np.max(np.minimum(before, after) - level))


@pytest.mark.parametrize(("name", "pitch"), [
    ("sub_bass", 28), ("sub_bass", 36), ("synth_bass", 36), ("pad", 57), ("pad", 72), ("strings", 55),
    ("strings", 76), ("brass", 60), ("saw_lead", 69), ("square_lead", 74), ("organ", 60),
])
def test_a_held_note_has_no_level_dip_inside_it(name, pitch):
    """A 6 s note: a looped voice with a phase-blind crossfade had 9-14 dB holes here (sub bass 28 and 36), and
    two-oscillator patches swung 5-12 dB."""
    audio = held_note(name, pitch)
    env = INSTRUMENTS[name].envelope
    level = levels_db(audio, pitch, 0.1 + env.attack + 0.05, 0.1 + HELD - 0.02)
    assert level.size > 100
    assert deepest_hole_db(level) <= 3.0, (name, pitch)


def test_hole_measure_finds_a_looping_gap():
    tone = np.sin(2 * np.pi * 110.0 * np.arange(3 * SR) / SR)[None, :].repeat(2, axis=0)
    tone[:, SR: SR + SR // 20] *= np.float32(0.05)  # a 50 ms hole, as a phase-blind loop crossfade leaves
    assert deepest_hole_db(levels_db(tone, 45, 0.1, 2.9)) > 10.0
    assert deepest_hole_db(levels_db(tone * np.linspace(1.0, 0.5, 3 * SR), 45, 1.2, 2.9)) < 0.1


@pytest.mark.parametrize("name", ["pad", "strings", "brass", "saw_lead"])
def test_ensembles_are_stereo_and_not_one_oscillator_copied(name):
    audio = held_note(name, 60, seconds=2.0).astype(np.float64)
    a = audio[:, round(1.0 * SR): round(2.0 * SR)]
    mid, side = a.sum(axis=0) / 2, (a[0] - a[1]) / 2
    side_to_mid = 10 * np.log10(np.sum(side**2) / np.sum(mid**2))
    assert -25.0 < side_to_mid < 0.0
    assert abs(np.corrcoef(a[0], a[1])[0, 1]) < 0.99


@pytest.mark.parametrize("name", ["pad", "strings", "brass", "saw_lead", "square_lead"])
def test_voices_carry_some_noise_between_their_harmonics(name):
    """Harmonic-to-noise ratio: power on the harmonics against power between them, as a sampled instrument has."""
    pitch = 57
    audio = held_note(name, pitch, seconds=2.5)[:, round(1.0 * SR): round(2.5 * SR)].astype(np.float64)
    mag = np.abs(np.fft.rfft(audio * np.hanning(audio.shape[-1]), axis=-1)) ** 2
    power = mag.sum(axis=0)
    freqs = np.fft.rfftfreq(audio.shape[-1], 1.0 / SR)
    f0 = midi_hz(pitch)
    k = freqs / f0
    near = np.abs(k - np.round(k)) < 0.1
    band = (freqs > 0.5 * f0) & (freqs < 6000.0)
    hnr = 10 * np.log10(power[band & near].sum() / power[band & ~near].sum())
    assert 10.0 < hnr < 25.0, (name, hnr)  # the plain oscillators measured 24-32 dB


def test_a_longer_note_starts_exactly_like_a_shorter_one():
    short = held_note("brass", 60, seconds=1.0)
    long = held_note("brass", 60, seconds=4.0)
    np.testing.assert_allclose(short[:, : round(0.9 * SR)], long[:, : round(0.9 * SR)], atol=1e-6)
