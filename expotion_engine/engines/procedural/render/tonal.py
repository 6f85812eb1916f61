"""Pitched voices: one function per sound, each rendering a held note as a numpy array.

A voice takes ``(pitch, vel, n, sample_rate, rng, glide_from)`` where ``vel`` (0..1) sets the
brightness (the level is applied by the caller) and ``glide_from`` is the previous pitch of a
legato line; it returns the first ``n`` samples of the note held down (mono ``(n,)`` or stereo
``(2, n)`` float32, about unit peak). Its amplitude envelope (attack, note-off release) is applied
per note by :mod:`.instruments`, so one rendering serves every note of that pitch and velocity.
A voice's first samples never depend on ``n`` (a longer rendering starts exactly like a shorter one).
"""

from __future__ import annotations

import numpy as np

from expotion_engine.engines.procedural.render.synth import (
    filter_sweep,
    held_envelope,
    highpass,
    karplus_strong,
    lowpass,
    midi_hz,
    noise,
    osc,
    partials,
    soft_clip,
    times,
)

_NORMALISE_S = 0.05  # voices that decay are scaled by the peak of their first 50 ms
_CONTROL_STEP = 16  # pitch curves are computed every this many samples
_MONO_BELOW_HZ = 250.0  # detuned voices are spread only above this: the low end stays one voice in the centre


def _cents(c: float) -> float:
    return 2.0 ** (c / 1200.0)


def _normalised(x: np.ndarray, sample_rate: int) -> np.ndarray:
    head = x[..., : max(1, int(_NORMALISE_S * sample_rate))]
    return x / np.float32(max(1e-9, float(np.max(np.abs(head)))))


def _pitch_curve(pitch: int, n: int, sample_rate: int, glide_from: int | None, glide: float = 0.06,
                 vibrato_cents: float = 0.0, vibrato_hz: float = 5.5, vibrato_delay: float = 0.25,
                 vibrato_phase: float = 0.0) -> np.ndarray | float:
    """Per-sample frequency: an exponential glide from ``glide_from`` and a delayed, fading-in vibrato.

    Computed every 16 samples and held in between (the phase integrates it, so the steps are inaudible).
    """
    if glide_from in (None, pitch) and not vibrato_cents:
        return midi_hz(pitch)
    steps = -(-n // _CONTROL_STEP)
    t = np.arange(steps, dtype=np.float32) * np.float32(_CONTROL_STEP / sample_rate)
    semis = np.zeros(steps, dtype=np.float32)
    if glide_from is not None and glide_from != pitch:
        semis += (glide_from - pitch) * np.exp(-t / np.float32(glide / 3.0))
    if vibrato_cents:
        depth = np.clip((t - vibrato_delay) / 0.4, 0.0, 1.0) * np.float32(vibrato_cents / 100.0)
        semis += depth * np.sin(np.float32(2 * np.pi * vibrato_hz) * t + np.float32(vibrato_phase))
    return np.repeat((midi_hz(pitch) * np.exp2(semis / 12.0)).astype(np.float32), _CONTROL_STEP)[:n]


def sub_bass(pitch, vel, n, sample_rate, rng, glide_from=None):
    """Sine sub bass with a touch of second harmonic and saturation, so it still reads on small speakers."""
    f = _pitch_curve(pitch, n, sample_rate, glide_from)
    x = osc("sine", f, n, sample_rate) + 0.18 * osc("sine", f * 2.0, n, sample_rate)
    return soft_clip(x, 1.2 + vel)


def pluck_bass(pitch, vel, n, sample_rate, rng, glide_from=None):
    """Picked bass: saw-like partials whose upper harmonics die first (a plucked filter envelope)."""
    k = np.arange(1, 41, dtype=np.float64)
    amps = 1.0 / k ** (1.4 - 0.5 * vel)
    decays = 3.0 / (1.0 + (k - 1) * (0.9 - 0.5 * vel))
    return _normalised(partials(midi_hz(pitch) * k, amps, decays, n, sample_rate), sample_rate)


def synth_bass(pitch, vel, n, sample_rate, rng, glide_from=None):
    """Saw plus square sub-octave through a low-pass with a snappy filter envelope; two detuned saws spread its
    overtones across the field while the low end stays in the centre."""
    f = _pitch_curve(pitch, n, sample_rate, glide_from)
    top = _top(pitch, glide_from)
    x = _ensemble("saw", [f] * 3, n, sample_rate, rng, 10.0, 0.8, 0.7, top)
    x += 0.5 * osc("square", f * 0.5, n, sample_rate, 0.25, top=top)
    env_f = held_envelope(n, sample_rate, 0.003, 0.25, 0.15)
    x = filter_sweep(x, env_f, 180.0 + 2.0 * midi_hz(pitch), 900.0 + 3500.0 * vel, sample_rate)
    side = (x[0] - x[1]) * np.float32(0.5)
    mid = soft_clip((x[0] + x[1]) * np.float32(0.5), 1.5)  # saturating the sides apart would put difference tones
    return np.stack([mid + side, mid - side]) / np.float32(1.2)  # of the detuned voices into the low end


def _top(pitch: int, glide_from: int | None) -> float:
    """Highest frequency a note with glide and vibrato reaches (a semitone of headroom)."""
    return midi_hz(max(pitch, glide_from or 0) + 1)


def _ensemble(kind: str, freqs: list[np.ndarray | float], n: int, sample_rate: int, rng, cents: float,
              width: float, blend: float, top: float | None = None, breath: float = 0.0,
              breath_top: float = 5000.0) -> np.ndarray:
    """One oscillator per entry of ``freqs`` (the first on the pitch in the centre; the others with random detune
    within +-``cents``, random places across ``width`` of the field and ``blend`` of its level), random phases,
    and stereo noise (breath, bow, air) at ``breath`` of the note's level up to about ``breath_top`` Hz.

    Stereo ``(2, n)`` at about unit RMS per side. The detuned voices and the noise are high-passed
    above the second harmonic (and 250 Hz), so they shimmer in the overtones (where a chorus is
    heard) while the fundamental stays one steady voice: the note never swings in level as a
    two-oscillator patch does. The noise is drawn last, sample by sample, so a longer note starts
    exactly as a shorter one.
    """
    voices = len(freqs)
    detune = np.concatenate([[0.0], rng.uniform(-cents, cents, voices - 1)])
    places = np.linspace(-width, width, voices - 1)[rng.permutation(voices - 1)]
    phases = rng.uniform(size=voices)
    centre = osc(kind, freqs[0], n, sample_rate, float(phases[0]), top=top)
    shimmer = np.zeros((2, n), dtype=np.float32)
    for f, c, place, phase in zip(freqs[1:], detune[1:], places, phases[1:], strict=True):
        angle = (place + 1.0) * np.pi / 4.0
        x = osc(kind, f * _cents(float(c)), n, sample_rate, float(phase), top=top)
        shimmer[0] += np.float32(np.cos(angle)) * x
        shimmer[1] += np.float32(np.sin(angle)) * x
    shimmer *= np.float32(blend * np.sqrt(2.0 / max(1, voices - 1)))
    low = 2.5 * float(np.min(freqs[0]))
    if breath:
        white = rng.random((n, 2), dtype=np.float32).T
        white -= np.float32(0.5)
        band = max(breath_top - max(low, _MONO_BELOW_HZ), 100.0) / (0.5 * sample_rate)
        white *= np.float32(breath * np.sqrt(12.0 / band))  # unit-variance noise, ``breath`` RMS within the band
        shimmer += white
    steep = low < _MONO_BELOW_HZ  # a bass: nothing of the spread voices may reach the low end
    shimmer = highpass(shimmer, max(low, _MONO_BELOW_HZ), sample_rate, order=4 if steep else 2)
    shimmer += centre
    return shimmer


def pad(pitch, vel, n, sample_rate, rng, glide_from=None):
    """Warm pad: a saw with five detuned saws shimmering across the stereo field, through a low-pass, with air."""
    f0 = midi_hz(pitch)
    cutoff = 700.0 + 2600.0 * vel + 0.5 * f0
    x = _ensemble("saw", [f0] * 6, n, sample_rate, rng, 14.0, 0.9, 0.45, breath=0.06, breath_top=cutoff)
    return lowpass(x, cutoff, sample_rate) * np.float32(0.7)


def strings(pitch, vel, n, sample_rate, rng, glide_from=None):
    """String ensemble: four saws with random detune and own vibrato across the field, body filter, bow noise."""
    freqs = [_pitch_curve(pitch, n, sample_rate, glide_from, vibrato_cents=14.0,
                          vibrato_hz=float(rng.uniform(4.6, 5.8)), vibrato_delay=0.15,
                          vibrato_phase=float(rng.uniform(0, 2 * np.pi))) for _ in range(4)]
    body = 2500.0 + 3000.0 * vel
    x = _ensemble("saw", freqs, n, sample_rate, rng, 9.0, 0.85, 0.6, _top(pitch, glide_from), 0.04 + 0.03 * vel, body)
    x = lowpass(x, body, sample_rate, order=4)
    return highpass(x, 120.0, sample_rate, order=1) * np.float32(0.4 * np.sqrt(3.0))


def brass(pitch, vel, n, sample_rate, rng, glide_from=None):
    """Brass section: a saw with three detuned ones across the field, a low-pass that opens with the breath's swell,
    and breath noise."""
    f = _pitch_curve(pitch, n, sample_rate, glide_from, vibrato_cents=6.0, vibrato_delay=0.4)
    x = _ensemble("saw", [f] * 4, n, sample_rate, rng, 8.0, 0.6, 0.5, _top(pitch, glide_from), 0.1 + 0.08 * vel,
                  4000.0)
    env_f = held_envelope(n, sample_rate, 0.08 + 0.1 * (1 - vel), 0.8, 0.55)
    x = filter_sweep(x, env_f, 1.5 * midi_hz(pitch) + 200.0, 1200.0 + 5000.0 * vel, sample_rate)
    return soft_clip(x, 1.3)


def piano_ring(pitch: int) -> float:
    """Seconds a held piano note rings (low notes longer)."""
    return float(np.clip(9.0 * 2.0 ** (-(pitch - 48) / 18.0), 0.8, 10.0))


def piano(pitch, vel, n, sample_rate, rng, glide_from=None):
    """Piano-like: stiff-string (slightly sharp) partials with a two-stage decay and a hammer thump."""
    f0 = midi_hz(pitch)
    ring = piano_ring(pitch)
    k = np.arange(1, 17, dtype=np.float64)
    stiffness = 0.0004 * 2.0 ** ((pitch - 60) / 24.0)
    freqs = f0 * k * np.sqrt(1.0 + stiffness * k * k)
    amps = 1.0 / k ** (2.2 - 1.3 * vel)
    prompt = partials(freqs, amps * 0.6, ring * 0.18 / k ** 0.6, n, sample_rate)
    after = partials(freqs * _cents(0.7), amps * 0.4, ring / k ** 0.8, n, sample_rate)
    thump = lowpass(noise(n, rng), 300.0 + 3000.0 * vel, sample_rate) * np.exp(
        times(n, sample_rate) * np.float32(-6.9 / 0.03))
    return _normalised(prompt + after + np.float32(0.3 * vel) * thump, sample_rate)


def epiano(pitch, vel, n, sample_rate, rng, glide_from=None):
    """Electric piano (Rhodes-like FM): a sine carrier with a decaying modulator and a short metallic tine."""
    f0 = midi_hz(pitch)
    t = times(n, sample_rate)
    index = (0.4 + 2.0 * vel) * np.exp(-t / np.float32(0.35)) + np.float32(0.15)
    body = np.sin(np.float32(2 * np.pi * f0) * t + index * np.sin(np.float32(2 * np.pi * f0) * t))
    x = body
    if 14.0 * f0 < 0.45 * sample_rate:
        tine = np.sin(np.float32(2 * np.pi * f0 * 14.0) * t) * np.exp(-t / np.float32(0.01))
        x = body + np.float32(0.1 + 0.2 * vel) * tine
    return (x * np.exp(-t / np.float32(2.5)) / np.float32(1.2)).astype(np.float32)


def pluck_ring(pitch: int) -> float:
    """Seconds a plucked string rings."""
    return float(np.clip(3.0 * 2.0 ** (-(pitch - 57) / 24.0), 0.6, 5.0))


def pluck(pitch, vel, n, sample_rate, rng, glide_from=None):
    """Plucked string (Karplus-Strong): brighter pick and longer ring with velocity."""
    x = karplus_strong(midi_hz(pitch), n, sample_rate, rng, 0.3 + 0.7 * vel, pluck_ring(pitch))
    return _normalised(x, sample_rate)


def organ(pitch, vel, n, sample_rate, rng, glide_from=None):
    """Drawbar organ: fixed sine partials (16', 8', 4', 2 2/3', 2'), no decay."""
    ratios = np.array([0.5, 1.0, 2.0, 3.0, 4.0])
    amps = np.array([0.5, 1.0, 0.6, 0.35 * (0.5 + vel), 0.25 * vel])
    return partials(midi_hz(pitch) * ratios, amps, np.full(5, 1e6), n, sample_rate) / np.float32(amps.sum())


def _lead(kind: str, pitch, vel, n, sample_rate, rng, glide_from):
    f = _pitch_curve(pitch, n, sample_rate, glide_from, glide=0.07, vibrato_cents=18.0, vibrato_delay=0.3)
    x = _ensemble(kind, [f] * 3, n, sample_rate, rng, 9.0, 0.5, 0.5, _top(pitch, glide_from), 0.04, 5000.0)
    env_f = held_envelope(n, sample_rate, 0.01, 0.5, 0.6)
    x = filter_sweep(x, env_f, 1.5 * midi_hz(pitch) + 400.0, 1500.0 + 5000.0 * vel, sample_rate)
    return x * np.float32(1.0 / 1.5)


def saw_lead(pitch, vel, n, sample_rate, rng, glide_from=None):
    """Saw lead: three randomly detuned saws, slightly spread, glide on legato notes, delayed vibrato."""
    return _lead("saw", pitch, vel, n, sample_rate, rng, glide_from)


def square_lead(pitch, vel, n, sample_rate, rng, glide_from=None):
    """Square lead: hollow, clarinet-ish; glide on legato notes, delayed vibrato."""
    return _lead("square", pitch, vel, n, sample_rate, rng, glide_from)


def bell_ring(pitch: int) -> float:
    """Seconds a bell rings."""
    return float(np.clip(4.0 * 2.0 ** (-(pitch - 72) / 24.0), 1.0, 6.0))


def bell(pitch, vel, n, sample_rate, rng, glide_from=None):
    """Bell / glockenspiel: free-bar inharmonic partials (1, 2.76, 5.40, 8.93) ringing long after the strike."""
    ring = bell_ring(pitch)
    ratios = np.array([1.0, 2.0, 2.756, 5.404, 8.933])
    amps = np.array([1.0, 0.12, 0.45 * (0.5 + vel), 0.25 * vel, 0.12 * vel])
    decays = ring / np.array([1.0, 1.3, 2.0, 3.5, 6.0])
    return _normalised(partials(midi_hz(pitch) * ratios, amps, decays, n, sample_rate), sample_rate)
