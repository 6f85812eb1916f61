"""Synthetic rhythm signals with known beats: click tracks and rendered drum loops."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def beat_times(tempi: Sequence[tuple[int, float, float]], start: float = 0.0) -> np.ndarray:
    """Beat times for ``(n_beats, bpm_from, bpm_to)`` pieces; the tempo moves linearly over a piece."""
    times = [start]
    for n, bpm_a, bpm_b in tempi:
        for i in range(n):
            bpm = bpm_a + (bpm_b - bpm_a) * (i / max(n - 1, 1))
            times.append(times[-1] + 60.0 / bpm)
    return np.array(times[:-1])


def _place(out: np.ndarray, sound: np.ndarray, time: float, sr: int) -> None:
    i = int(round(time * sr))
    n = min(len(sound), len(out) - i)
    if n > 0 and i >= 0:
        out[i:i + n] += sound[:n]


def click(sr: int, freq: float, amp: float, length: float = 0.03) -> np.ndarray:
    t = np.arange(int(length * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t) * np.exp(-t / 0.006)).astype(np.float32)


def click_track(beats: np.ndarray, beats_per_bar: int, sr: int = 22050, tail: float = 1.0,
                first_downbeat: int = 0) -> np.ndarray:
    """A metronome: a high loud click on each bar's first beat, lower quieter clicks otherwise."""
    out = np.zeros(int((beats[-1] + tail) * sr), np.float32)
    accent, plain = click(sr, 1760.0, 0.9), click(sr, 880.0, 0.45)
    for i, t in enumerate(beats):
        _place(out, accent if (i - first_downbeat) % beats_per_bar == 0 else plain, t, sr)
    return out


def kick(sr: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(0.25 * sr)) / sr
    freq = 50.0 + 110.0 * np.exp(-t / 0.03)
    phase = 2 * np.pi * np.cumsum(freq) / sr
    return (0.9 * np.sin(phase) * np.exp(-t / 0.09)).astype(np.float32)


def snare(sr: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(0.18 * sr)) / sr
    noise = rng.standard_normal(len(t)) * np.exp(-t / 0.045)
    tone = np.sin(2 * np.pi * 190.0 * t) * np.exp(-t / 0.03)
    return (0.35 * noise + 0.4 * tone).astype(np.float32)


def hat(sr: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(0.05 * sr)) / sr
    noise = np.diff(rng.standard_normal(len(t) + 1))
    return (0.12 * noise * np.exp(-t / 0.012)).astype(np.float32)


# Patterns on an eighth-note grid (two slots per beat): K kick, S snare, H hat.
ROCK_4_4 = ("KH", "H", "SH", "H", "H", "KH", "SH", "H")
WALTZ_3_4 = ("KH", "H", "SH", "H", "SH", "H")


def drum_loop(beats: np.ndarray, pattern: Sequence[str], sr: int = 22050, tail: float = 1.0,
              seed: int = 0) -> np.ndarray:
    """Render ``pattern`` (eighth-note slots, two per beat) over ``beats``, bar after bar."""
    rng = np.random.default_rng(seed)
    sounds = {"K": kick(sr, rng), "S": snare(sr, rng), "H": hat(sr, rng)}
    out = np.zeros(int((beats[-1] + tail) * sr), np.float32)
    slots_per_bar = len(pattern)
    nxt = np.append(beats[1:], beats[-1] + (beats[-1] - beats[-2]))
    for i, t in enumerate(beats):
        for half in range(2):
            slot = pattern[(2 * i + half) % slots_per_bar]
            when = t + half * (nxt[i] - t) / 2
            for name in slot:
                _place(out, sounds[name], when, sr)
    return out


def unaccented_bursts(seed: int, sr: int = 32000, seconds: float = 10.0, bpm: float = 130.0) -> np.ndarray:
    """Noise with equal-ish noise bursts roughly every beat: no downbeat to hear, like a random-weights take."""
    rng = np.random.default_rng(seed)
    audio = 0.05 * rng.standard_normal(int(seconds * sr)).astype(np.float32)
    length = int(0.05 * sr)
    decay = np.exp(-np.arange(length) / (0.0125 * sr)).astype(np.float32)
    t = 0.1 + rng.uniform(0.0, 0.3)
    while t < seconds - 0.1:
        i = int(t * sr)
        audio[i:i + length] += rng.uniform(0.3, 1.0) * decay * rng.standard_normal(length).astype(np.float32)
        t += 60.0 / bpm * rng.uniform(0.97, 1.03)
    return audio


def kick_hat_loop(beats: np.ndarray, sr: int = 22050, *, accent_every: int = 4, hats_per_beat: int = 2,
                  tail: float = 0.5, seed: int = 0) -> np.ndarray:
    """A kick (60 Hz sine, ``exp(-40 t)``) on every beat, louder on every ``accent_every``-th from the first
    (0: none louder), and high-passed noise hats ``hats_per_beat`` times a beat: a loop rendered for picture."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(0.3 * sr)) / sr
    thump = (np.sin(2 * np.pi * 60.0 * t) * np.exp(-40.0 * t)).astype(np.float32)
    out = np.zeros(int((beats[-1] + tail) * sr), np.float32)
    period = np.append(np.diff(beats), beats[-1] - beats[-2])
    for i, (time, length) in enumerate(zip(beats, period, strict=True)):
        loud = accent_every and i % accent_every == 0
        _place(out, (1.0 if loud else 0.5) * thump, time, sr)
        for when in time + length * np.arange(hats_per_beat) / hats_per_beat:
            burst = np.diff(rng.standard_normal(int(0.04 * sr) + 1)) * np.exp(-np.arange(int(0.04 * sr)) / (0.01 * sr))
            _place(out, (0.15 * burst).astype(np.float32), when, sr)
    return out
