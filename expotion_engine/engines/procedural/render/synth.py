"""Vectorised synthesis building blocks: envelopes, band-limited oscillators, partials, noise, plucked strings.

Every function renders a whole note at once with numpy array operations (no loop per sample);
the voices in :mod:`.tonal` and :mod:`.drums` are built from these.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.signal import butter, sosfilt

TWO_PI = 2.0 * np.pi
_TABLE_SIZE = 4096


def midi_hz(pitch: float) -> float:
    """Equal-tempered frequency of a MIDI pitch (A4 = 69 = 440 Hz)."""
    return 440.0 * 2.0 ** ((pitch - 69.0) / 12.0)


def times(n: int, sample_rate: int) -> np.ndarray:
    """Sample times 0 .. (n-1)/sample_rate as float32 seconds."""
    return np.arange(n, dtype=np.float32) / np.float32(sample_rate)


def adsr(n: int, sample_rate: int, gate: float, attack: float, decay: float, sustain: float,
         release: float) -> np.ndarray:
    """ADSR envelope of n samples: linear attack, exponential decay to ``sustain``, exponential release after ``gate``.

    ``decay`` and ``release`` are times to fall by 60 dB; the last 2 ms ramp to exactly zero.
    """
    t = times(n, sample_rate)
    attack = max(attack, 1e-4)
    tau_d = max(decay, 1e-4) / 6.9
    tau_r = max(release, 1e-4) / 6.9

    def held(x: np.ndarray | float) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        rise = x / attack
        fall = sustain + (1.0 - sustain) * np.exp(-np.maximum(x - attack, 0.0) / tau_d)
        return np.where(x < attack, rise, fall).astype(np.float32)

    env = held(t)
    at_gate = float(held(gate))
    after = t >= gate
    env[after] = at_gate * np.exp(-(t[after] - gate) / tau_r)
    fade = min(n, int(0.002 * sample_rate))
    if fade:
        env[n - fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return env


def held_envelope(n: int, sample_rate: int, attack: float, decay: float, sustain: float) -> np.ndarray:
    """Attack-decay-sustain of a key held down (no release): for filter envelopes inside a voice."""
    t = times(n, sample_rate)
    attack = max(attack, 1e-4)
    fall = sustain + (1.0 - sustain) * np.exp(-np.maximum(t - attack, 0.0) / np.float32(max(decay, 1e-4) / 6.9))
    return np.where(t < attack, t / np.float32(attack), fall).astype(np.float32)


def fade_edges(x: np.ndarray, sample_rate: int, seconds: float = 0.002) -> np.ndarray:
    """Ramp the last ``seconds`` of ``x`` to zero so a note never ends with a click."""
    n = min(x.shape[-1], int(seconds * sample_rate))
    if n:
        x[..., -n:] *= np.linspace(1.0, 0.0, n, dtype=np.float32)
    return x


@lru_cache(maxsize=64)
def _table(kind: str, harmonics: int) -> tuple[np.ndarray, np.ndarray]:
    """One cycle of a band-limited saw or square with ``harmonics`` partials, and its sample-to-sample slope."""
    k = np.arange(1, harmonics + 1)
    spectrum = np.zeros(_TABLE_SIZE // 2 + 1, dtype=np.complex128)
    weights = 1.0 / k if kind == "saw" else np.where(k % 2 == 1, 1.0 / k, 0.0)
    spectrum[k] = -0.5j * weights * _TABLE_SIZE  # sine partials
    wave = np.fft.irfft(spectrum, _TABLE_SIZE)
    wave /= np.max(np.abs(wave))
    wave = np.append(wave, wave[0]).astype(np.float32)
    return wave, np.diff(wave)


def cycles_of(freq: float | np.ndarray, n: int, sample_rate: int, phase0: float = 0.0) -> np.ndarray:
    """Phase in cycles (float64, 0..1) of a constant or time-varying (per-sample array) frequency."""
    if np.ndim(freq) == 0:
        cycles = np.arange(n, dtype=np.float64)
        cycles *= float(freq) / sample_rate
    else:
        cycles = np.cumsum(freq, dtype=np.float64)
        cycles *= 1.0 / sample_rate
    cycles += phase0
    cycles -= np.floor(cycles)
    return cycles


def osc(kind: str, freq: float | np.ndarray, n: int, sample_rate: int, phase0: float = 0.0,
        top: float | None = None) -> np.ndarray:
    """Band-limited ``saw``/``square`` (wavetable, linear interpolation) or ``sine`` oscillator.

    ``top`` is the highest frequency a time-varying ``freq`` reaches (it chooses how many harmonics
    fit under Nyquist); by default the frequency itself, or the first value of an array plus a semitone.
    """
    cycles = cycles_of(freq, n, sample_rate, phase0)
    if kind == "sine":
        cycles *= TWO_PI
        return np.sin(cycles).astype(np.float32)
    if top is None:
        top = float(freq) if np.ndim(freq) == 0 else float(np.asarray(freq).flat[0]) * 1.06
    harmonics = int(max(1, min(1024, 0.45 * sample_rate / max(top, 1.0))))
    harmonics = 1 << (harmonics.bit_length() - 1)  # one table per octave keeps the cache small
    table, slope = _table(kind, harmonics)
    cycles *= _TABLE_SIZE
    i = cycles.astype(np.int32)
    frac = (cycles - i).astype(np.float32)
    out = table[i]
    out += frac * slope[i]
    return out


def partials(freqs: np.ndarray, amps: np.ndarray, decays: np.ndarray, n: int, sample_rate: int,
             phases: np.ndarray | None = None) -> np.ndarray:
    """Sum of decaying sines: partial k at ``freqs[k]`` Hz, level ``amps[k]``, -60 dB after ``decays[k]`` s.

    Partials at or above 0.48 x the sample rate are dropped (no aliasing).
    """
    t = times(n, sample_rate)
    out = np.zeros(n, dtype=np.float32)
    keep = freqs < 0.48 * sample_rate
    phases = np.zeros(len(freqs)) if phases is None else phases
    for f, a, d, p in zip(freqs[keep], amps[keep], decays[keep], phases[keep], strict=True):
        out += np.float32(a) * np.exp(t * np.float32(-6.9 / d)) * np.sin(np.float32(TWO_PI * f) * t + np.float32(p))
    return out


@lru_cache(maxsize=256)
def _sos(kind: str, freq: float | tuple[float, float], sample_rate: int, order: int) -> np.ndarray:
    """Butterworth sections in float32, so float32 audio is filtered in single precision (twice as fast)."""
    nyq = 0.5 * sample_rate
    if isinstance(freq, tuple):
        band = (min(freq[0], 0.95 * nyq) / nyq, min(freq[1], 0.98 * nyq) / nyq)
        return butter(order, band, btype="bandpass", output="sos").astype(np.float32)
    return butter(order, min(freq, 0.98 * nyq) / nyq, btype=kind, output="sos").astype(np.float32)


def lowpass(x: np.ndarray, freq: float, sample_rate: int, order: int = 2) -> np.ndarray:
    """Butterworth low-pass of ``x`` along its last axis."""
    if freq >= 0.48 * sample_rate:
        return x
    return sosfilt(_sos("lowpass", float(freq), sample_rate, order), x, axis=-1).astype(np.float32, copy=False)


def highpass(x: np.ndarray, freq: float, sample_rate: int, order: int = 2) -> np.ndarray:
    """Butterworth high-pass of ``x`` along its last axis."""
    return sosfilt(_sos("highpass", float(min(freq, 0.45 * sample_rate)), sample_rate, order), x,
                   axis=-1).astype(np.float32, copy=False)


def bandpass(x: np.ndarray, low: float, high: float, sample_rate: int, order: int = 2) -> np.ndarray:
    """Butterworth band-pass of ``x`` between ``low`` and ``high`` Hz."""
    return sosfilt(_sos("bandpass", (float(low), float(high)), sample_rate, order), x,
                   axis=-1).astype(np.float32, copy=False)


def filter_sweep(x: np.ndarray, env: np.ndarray, dark: float, bright: float, sample_rate: int,
                 order: int = 4) -> np.ndarray:
    """A low-pass (24 dB/octave by default) whose cutoff follows ``env`` (0..1) from ``dark`` to ``bright`` Hz.

    Approximated by crossfading two fixed low-passes (with the envelope), which keeps it vectorised.
    """
    lo = lowpass(x, dark, sample_rate, order)
    hi = lowpass(x, bright, sample_rate, order)
    return lo + env.astype(np.float32) * (hi - lo)


def noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """White noise in -1..1."""
    return rng.uniform(-1.0, 1.0, n).astype(np.float32)


def decay(n: int, sample_rate: int, seconds: float, attack: float = 0.0005) -> np.ndarray:
    """One-shot envelope: a short linear attack, then -60 dB after ``seconds``."""
    t = times(n, sample_rate)
    return (np.minimum(1.0, t / attack) * np.exp(t * np.float32(-6.9 / seconds))).astype(np.float32)


def karplus_strong(freq: float, n: int, sample_rate: int, rng: np.random.Generator, brightness: float,
                   ring: float) -> np.ndarray:
    """Plucked string (Karplus-Strong) at exactly ``freq`` Hz, ringing -60 dB after about ``ring`` s.

    The string is simulated one period at a time at a rate where the period is a whole number of
    samples (so the pitch is exact), then read back at ``sample_rate`` by interpolation.
    """
    period = max(2, int(round(sample_rate / freq)))
    inner_rate = freq * period
    m = int(np.ceil(n * inner_rate / sample_rate)) + 2
    burst = noise(period, rng)
    burst = lowpass(burst, 800.0 + 9000.0 * brightness, int(inner_rate), order=1)
    burst -= burst.mean()
    periods = int(np.ceil(m / period)) + 1
    loss = 10.0 ** (-3.0 / max(ring * freq, 1.0))  # -60 dB after `ring` seconds of periods
    y = np.empty(periods * period + 1, dtype=np.float32)
    y[0] = 0.0
    y[1:period + 1] = burst
    for k in range(1, periods):
        a = 1 + k * period
        prev = y[a - period: a]
        before = y[a - period - 1: a - 1]
        y[a: a + period] = np.float32(0.5 * loss) * (prev + before)
    y = y[1: m + 1]
    src = np.arange(n) * (inner_rate / sample_rate)
    return np.interp(src, np.arange(m), y).astype(np.float32)


def soft_clip(x: np.ndarray, drive: float) -> np.ndarray:
    """tanh saturation normalised so small signals keep their level."""
    return (np.tanh(x * drive) / drive).astype(np.float32)
