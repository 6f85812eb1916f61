"""Synthesised drum kit on General MIDI drum pitches: every hit is rendered whole with numpy.

Kick: sine with a falling pitch envelope and a click. Snare: two detuned tones plus band-passed
noise. Clap: three quick noise bursts and a tail. Hats/cymbals: six square "metal" oscillators
(the TR-808 recipe) plus noise, high-passed. Toms: pitched sines with a drop. Pitch 55 is a
reverse cymbal (a stinger) that swells over the note and peaks at the note's end, so put the end
on the hit. Each piece sits at its own place in the stereo field.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from expotion_engine.engines.procedural.render.synth import (
    bandpass,
    decay,
    highpass,
    lowpass,
    noise,
    osc,
    soft_clip,
    times,
)

_METAL_HZ = (205.3, 304.4, 369.6, 522.7, 540.0, 800.0)


@dataclass(frozen=True)
class Kit:
    """Tuning of a drum kit: kick pitch/length and how long cymbals ring."""

    kick_hz: float = 50.0
    kick_sweep_hz: float = 165.0
    kick_decay: float = 0.45
    snare_hz: float = 185.0
    cymbal_decay: float = 1.8


ACOUSTIC = Kit()
ELECTRONIC = Kit(kick_hz=45.0, kick_sweep_hz=120.0, kick_decay=1.1, snare_hz=200.0, cymbal_decay=1.4)


def _n(seconds: float, sample_rate: int) -> int:
    return max(1, int(round(seconds * sample_rate)))


def _sweep(n: int, sample_rate: int, start_hz: float, end_hz: float, tau: float) -> np.ndarray:
    t = times(n, sample_rate)
    return end_hz + (start_hz - end_hz) * np.exp(-t / np.float32(tau))


def kick(vel, sample_rate, rng, kit: Kit):
    """Kick drum: falling sine (pitch envelope), a short click, gentle saturation."""
    n = _n(kit.kick_decay + 0.05, sample_rate)
    f = _sweep(n, sample_rate, kit.kick_sweep_hz * (0.85 + 0.3 * vel), kit.kick_hz, 0.035)
    body = osc("sine", f, n, sample_rate) * decay(n, sample_rate, kit.kick_decay, 0.001)
    click = bandpass(noise(n, rng), 1500.0, 9000.0, sample_rate) * decay(n, sample_rate, 0.012)
    return soft_clip(body + (0.15 + 0.25 * vel) * click, 1.6)


def snare(vel, sample_rate, rng, kit: Kit):
    """Snare drum: two tones with a small pitch drop plus band-passed noise (the snares)."""
    n = _n(0.32, sample_rate)
    tone = (osc("sine", _sweep(n, sample_rate, kit.snare_hz * 1.3, kit.snare_hz, 0.02), n, sample_rate)
            + 0.6 * osc("sine", _sweep(n, sample_rate, kit.snare_hz * 2.4, kit.snare_hz * 1.8, 0.02), n,
                        sample_rate)) * decay(n, sample_rate, 0.14)
    rattle = bandpass(noise(n, rng), 1200.0, 7000.0 + 3000.0 * vel, sample_rate) * decay(n, sample_rate, 0.22)
    return soft_clip(0.55 * tone + (0.7 + 0.5 * vel) * rattle, 1.3)


def side_stick(vel, sample_rate, rng, kit: Kit):
    """Side stick / rim: a short woody knock."""
    n = _n(0.08, sample_rate)
    tone = osc("sine", 1700.0, n, sample_rate) * decay(n, sample_rate, 0.03)
    click = bandpass(noise(n, rng), 2000.0, 8000.0, sample_rate) * decay(n, sample_rate, 0.01)
    return 0.6 * tone + 0.8 * click


def clap(vel, sample_rate, rng, kit: Kit):
    """Hand clap: three quick band-passed noise bursts then a short diffuse tail."""
    n = _n(0.35, sample_rate)
    t = times(n, sample_rate)
    env = np.zeros(n, dtype=np.float32)
    for onset in (0.0, 0.011, 0.022):
        after = t - onset
        env += np.where(after >= 0, np.exp(-np.maximum(after, 0) / np.float32(0.004)), 0.0).astype(np.float32)
    env += 0.6 * np.where(t >= 0.03, np.exp(-np.maximum(t - 0.03, 0) / np.float32(0.07)), 0.0).astype(np.float32)
    env *= np.minimum(1.0, t / 0.0005)
    return bandpass(noise(n, rng), 900.0, 3500.0 + 2000.0 * vel, sample_rate) * env * 1.6


def _metal(n: int, sample_rate: int, rng, scale: float = 1.0) -> np.ndarray:
    x = np.zeros(n, dtype=np.float32)
    for hz in _METAL_HZ:
        x += osc("square", hz * scale, n, sample_rate, float(rng.uniform()))
    return x / np.float32(len(_METAL_HZ))


def hat(vel, sample_rate, rng, kit: Kit, length: float):
    """Hi-hat: metallic squares plus noise, high-passed at about 6 kHz and rolled off above 10 kHz; ``length``
    closed vs open."""
    n = _n(length * 2.2, sample_rate)
    x = 0.6 * _metal(n, sample_rate, rng) + 0.7 * noise(n, rng)
    x = lowpass(highpass(x, 6500.0 - 1500.0 * vel, sample_rate, order=4), 9000.0 + 2000.0 * vel, sample_rate)
    return 1.2 * x * decay(n, sample_rate, length, 0.0005)


def cymbal(vel, sample_rate, rng, kit: Kit, length: float, low: float = 3500.0, ping: float = 0.0):
    """Crash/ride: metal plus noise with a long ring (scaled by the kit); ``ping`` adds the ride's bell tone.

    Its energy sits between ``low`` x 0.6 and about 7 kHz with a soft sizzle above (a recorded crash
    puts about a tenth of its energy above 10 kHz, not half as white noise would), and it sits under
    the snare in level, as a crash does in a mix.
    """
    length *= kit.cymbal_decay / ACOUSTIC.cymbal_decay
    n = _n(length, sample_rate)
    x = 0.5 * _metal(n, sample_rate, rng, 1.47) + 0.8 * noise(n, rng)
    x = highpass(x, 0.6 * low, sample_rate, order=2)
    body = lowpass(x, 5000.0 + 2500.0 * vel, sample_rate, order=4)
    sizzle = lowpass(highpass(x, 9000.0, sample_rate, order=2), 14000.0, sample_rate)
    out = (1.3 * body + (0.06 + 0.08 * vel) * sizzle) * decay(n, sample_rate, length, 0.001)
    if ping:
        bellish = osc("sine", 620.0, n, sample_rate) + 0.6 * osc("sine", 1680.0, n, sample_rate)
        out += np.float32(ping) * bellish * decay(n, sample_rate, length * 0.6, 0.001)
    return out * np.float32(0.55)


def tom(vel, sample_rate, rng, kit: Kit, hz: float):
    """Tom: a sine dropping onto ``hz`` with a little stick noise."""
    n = _n(0.55, sample_rate)
    body = osc("sine", _sweep(n, sample_rate, hz * 1.6, hz, 0.05), n, sample_rate) * decay(n, sample_rate, 0.45)
    stick = bandpass(noise(n, rng), 800.0, 6000.0, sample_rate) * decay(n, sample_rate, 0.02)
    return soft_clip(body + 0.25 * stick, 1.4)


def shaker(vel, sample_rate, rng, kit: Kit, length: float = 0.09):
    """Shaker / maracas / tambourine jingle: high band of noise with a soft attack."""
    n = _n(length * 1.5, sample_rate)
    t = times(n, sample_rate)
    env = np.minimum(1.0, t / 0.012) * np.exp(-t / np.float32(length / 3.0))
    return bandpass(noise(n, rng), 4000.0, 13000.0, sample_rate) * env.astype(np.float32) * 1.5


def cowbell(vel, sample_rate, rng, kit: Kit):
    """Cowbell: two square tones (540/800 Hz) through a band-pass."""
    n = _n(0.35, sample_rate)
    x = osc("square", 540.0, n, sample_rate) + osc("square", 800.0, n, sample_rate)
    return 0.6 * bandpass(x, 500.0, 3000.0, sample_rate) * decay(n, sample_rate, 0.3)


def block(vel, sample_rate, rng, kit: Kit, hz: float):
    """Woodblock / claves / hand percussion: a short pitched knock."""
    n = _n(0.12, sample_rate)
    return osc("sine", _sweep(n, sample_rate, hz * 1.1, hz, 0.01), n, sample_rate) * decay(n, sample_rate, 0.06)


def reverse_cymbal(vel, sample_rate, rng, kit: Kit, length: float):
    """Reverse cymbal stinger: a cymbal played backwards swelling for ``length`` s into a splash.

    The swell comes before the note-on (see :data:`PRE_ROLL`), so the peak and the splash land on
    the note's start: the hit. GM 55 is the splash cymbal, so exported MIDI plays a splash there.
    """
    n = _n(pre_roll(length), sample_rate)
    ring = (n / sample_rate + 0.05) * ACOUSTIC.cymbal_decay / kit.cymbal_decay  # cymbal() scales by the kit
    swell = cymbal(vel, sample_rate, rng, kit, ring, low=2500.0)[:n][::-1].copy()
    swell *= np.linspace(0.0, 1.0, n, dtype=np.float32) ** 2
    swell /= max(1e-9, float(np.max(np.abs(swell))))
    splash = cymbal(vel, sample_rate, rng, kit, 0.8, low=4000.0)
    return np.float32(0.5) * np.concatenate([swell, 0.5 * splash / max(1e-9, float(np.max(np.abs(splash))))])


def pre_roll(length: float) -> float:
    """Seconds the reverse cymbal sounds before its note-on: the note's length, at least 0.2 s."""
    return max(length, 0.2)


@dataclass(frozen=True)
class Piece:
    """One drum of the kit: its voice, that voice's settings and its place in the stereo field (-1..1)."""

    voice: Callable[..., np.ndarray]
    pan: float = 0.0
    settings: tuple[tuple[str, float], ...] = ()
    follows_length: bool = False  # the reverse cymbal: it swells for the note's length before the note-on

    def render(self, vel: float, sample_rate: int, rng: np.random.Generator, kit: Kit, length: float) -> np.ndarray:
        extra = dict(self.settings)
        if self.follows_length:
            extra["length"] = length
        return self.voice(vel, sample_rate, rng, kit, **extra)


def _cymbal(length: float, low: float = 3500.0, ping: float = 0.0) -> tuple[tuple[str, float], ...]:
    return (("length", length), ("low", low), ("ping", ping))


PIECES: dict[int, Piece] = {
    35: Piece(kick), 36: Piece(kick),
    37: Piece(side_stick, 0.05),
    38: Piece(snare, 0.05), 40: Piece(snare, 0.05),
    39: Piece(clap, -0.1),
    42: Piece(hat, 0.35, (("length", 0.06),)), 44: Piece(hat, 0.35, (("length", 0.045),)),
    46: Piece(hat, 0.35, (("length", 0.45),)),
    49: Piece(cymbal, -0.45, _cymbal(1.8)), 57: Piece(cymbal, 0.45, _cymbal(1.8, 3000.0)),
    52: Piece(cymbal, -0.55, _cymbal(1.4, 3000.0)),
    51: Piece(cymbal, 0.5, _cymbal(1.3, 5000.0, 0.15)), 59: Piece(cymbal, 0.5, _cymbal(1.3, 5000.0, 0.15)),
    53: Piece(cymbal, 0.5, _cymbal(1.0, 5000.0, 0.6)),
    54: Piece(shaker, 0.4, (("length", 0.15),)),
    55: Piece(reverse_cymbal, 0.0, follows_length=True),
    56: Piece(cowbell, 0.3),
    69: Piece(shaker, -0.4, (("length", 0.07),)), 70: Piece(shaker, -0.4, (("length", 0.09),)),
    75: Piece(block, 0.25, (("hz", 2500.0),)), 76: Piece(block, -0.25, (("hz", 1200.0),)),
    77: Piece(block, -0.25, (("hz", 850.0),)),
    **{p: Piece(tom, (p - 45) / 12.0, (("hz", hz),))
       for p, hz in {41: 70.0, 43: 85.0, 45: 105.0, 47: 125.0, 48: 150.0, 50: 180.0}.items()},
    **{p: Piece(tom, 0.3 - 0.1 * (p - 60), (("hz", hz),))
       for p, hz in {60: 400.0, 61: 300.0, 62: 330.0, 63: 240.0, 64: 180.0, 65: 260.0, 66: 200.0}.items()},
}
