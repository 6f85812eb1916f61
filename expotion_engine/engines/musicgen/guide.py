"""Melody/rhythm guides for MusicGen-melody, and the chroma it is conditioned on.

A guide is audio that carries the harmony and rhythm the video asks for. The preferred
source is the procedural engine's rendering of the same request (its pitched stems, so
drums do not blur the chroma); where that engine is not installed, a small built-in
arpeggiator renders one from the controls (key and mode from valence, tempo and note
density from energy). MusicGen-melody sees only the dominant pitch class of each chroma
frame (about 7.8 per second), so a clear, simple guide is what it needs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import torch
from scipy.signal import resample_poly

from expotion_engine.audio_io import Spool, iter_blocks
from expotion_engine.errors import EngineError
from expotion_engine.progress import CancelEvent, ProgressFn
from expotion_engine.types import ControlTrack, GenerationRequest

log = logging.getLogger(__name__)

#: ``(request, progress, cancel) -> (audio (channels, samples), sample_rate)``
GuideRenderer = Callable[[GenerationRequest, ProgressFn | None, CancelEvent | None], tuple[np.ndarray, int]]

CHROMA_N_FFT = 16384
CHROMA_HOP = 4096
_UNPITCHED = ("drums", "percussion", "perc")


def chroma(audio: np.ndarray, sample_rate: int, n_fft: int = CHROMA_N_FFT, hop: int = CHROMA_HOP) -> torch.Tensor:
    """One-hot dominant pitch class per frame ``(frames, 12)``, as MusicGen-melody's extractor computes it."""
    from transformers.audio_utils import chroma_filter_bank

    audio = np.asarray(audio, np.float32)
    wav = torch.from_numpy(audio.reshape(-1, audio.shape[-1]).mean(0))
    if wav.shape[-1] < n_fft:
        pad = n_fft - wav.shape[-1]
        wav = torch.nn.functional.pad(wav, (pad // 2, pad - pad // 2))
    spec = torch.stft(wav, n_fft, hop_length=hop, window=torch.hann_window(n_fft), center=True,
                      pad_mode="reflect", return_complex=True).abs() ** 2
    filters = torch.from_numpy(chroma_filter_bank(n_fft, 12, sample_rate, tuning=0)).float()
    raw = filters @ spec  # (12, frames)
    onehot = torch.zeros(raw.shape[1], 12)
    onehot[torch.arange(raw.shape[1]), raw.argmax(0)] = 1.0
    return onehot


def to_rate(audio: np.ndarray, source: int, target: int) -> np.ndarray:
    """Resample ``(channels, samples)`` audio between integer rates (polyphase)."""
    if source == target:
        return audio.astype(np.float32)
    g = np.gcd(source, target)
    return resample_poly(audio, target // g, source // g, axis=-1).astype(np.float32)


def procedural_guide(
    request: GenerationRequest, progress: ProgressFn | None = None, cancel: CancelEvent | None = None,
    spool: Spool | None = None,
) -> tuple[np.ndarray, int] | None:
    """The procedural engine's pitched stems for ``request`` as mono ``(1, samples)``, or None where it is not
    installed.

    A long rendering goes to disk in a folder of its own inside ``spool`` (the caller's, on the output's
    disk; else a temporary one), is summed block by block, and is removed as soon as it is summed.
    """
    from expotion_engine.engines import get_engine

    try:
        engine = get_engine("procedural")
    except ImportError as exc:
        log.info("procedural engine not available for the melody guide (%s)", exc)
        return None
    own = Spool(spool, prefix="guide-")
    try:
        take = engine.generate(request, progress, cancel, spool=own)
        sources = [s.audio for s in take.stems if s.name.lower() not in _UNPITCHED] or [take.mix]
        mono = np.zeros(take.mix.shape[-1], np.float32)
        for audio in sources:
            for start, block in iter_blocks(audio):
                mono[start : start + block.shape[-1]] += block.mean(axis=0)
        return mono[None], take.sample_rate
    finally:
        own.close()


_MAJOR = (0, 2, 4, 5, 7, 9, 11)
_MINOR = (0, 2, 3, 5, 7, 8, 10)
_PROGRESSIONS = {True: (0, 4, 5, 3), False: (0, 5, 2, 6)}  # I-V-vi-IV / i-VI-III-VII (scale degrees)


def _hz(pitch: int) -> float:
    return 440.0 * 2 ** ((pitch - 69) / 12)


def _tone(freq: float, length: int, sample_rate: int) -> np.ndarray:
    t = np.arange(length) / sample_rate
    env = np.minimum(1.0, t / 0.01) * np.exp(-3.0 * t)
    return (np.sin(2 * np.pi * freq * t) + 0.3 * np.sin(4 * np.pi * freq * t)) * env


def simple_guide(track: ControlTrack, sample_rate: int, seed: int = 0) -> np.ndarray:
    """A mono arpeggio + bass guide ``(1, samples)`` that follows energy and valence."""
    rng = np.random.default_rng(seed)
    n = int(round(track.duration * sample_rate))
    out = np.zeros(n)
    times = track.times
    energy = track.channel("energy") if track.has("energy") else np.full(track.n_frames, 0.5)
    valence = track.channel("valence") if track.has("valence") else np.zeros(track.n_frames)
    major = float(np.mean(valence)) >= 0.0
    scale, root = (_MAJOR, 60) if major else (_MINOR, 57)
    beat = 60.0 / (70.0 + 70.0 * float(np.clip(np.mean(energy), 0.0, 1.0)))
    time, step = 0.0, 0
    while time < track.duration:
        level = float(np.interp(time, times, energy)) if times.size else 0.5
        chord = _PROGRESSIONS[major][(step // 8) % 4]
        tones = [scale[(chord + i) % 7] + 12 * ((chord + i) // 7) for i in (0, 2, 4)]
        subdivision = 2 if level >= 0.5 else 1
        for sub in range(subdivision):
            start = int((time + sub * beat / subdivision) * sample_rate)
            if start >= n:
                break
            length = min(int(beat / subdivision * sample_rate), n - start)
            pitch = root + 12 + tones[int(rng.integers(3))]
            out[start : start + length] += (0.2 + 0.3 * level) * _tone(_hz(pitch), length, sample_rate)
        if step % 2 == 0:
            start = int(time * sample_rate)
            length = min(int(2 * beat * sample_rate), n - start)
            bass = root - 12 + tones[0]
            out[start : start + length] += 0.3 * _tone(_hz(bass), length, sample_rate)
        time += beat
        step += 1
    peak = float(np.max(np.abs(out))) if n else 0.0
    return (out / peak * 0.8 if peak > 0 else out)[None].astype(np.float32)


def render_guide(
    request: GenerationRequest,
    sample_rate: int,
    mode: str = "auto",
    renderer: GuideRenderer | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelEvent | None = None,
    spool: Spool | None = None,
) -> tuple[np.ndarray, str]:
    """Mono guide audio at ``sample_rate`` for the whole range, and which renderer made it.

    ``mode``: ``auto`` (procedural engine if installed, else built-in), ``procedural``
    (required) or ``built-in``; a custom ``renderer`` takes precedence. ``spool`` is where a
    long procedural rendering may go while it is summed (see :func:`procedural_guide`).
    """
    made, source = None, "built-in"
    if renderer is not None:
        made, source = renderer(request, progress, cancel), "custom"
    elif mode in ("auto", "procedural"):
        made, source = procedural_guide(request, progress, cancel, spool), "procedural"
        if made is None and mode == "procedural":
            raise EngineError("The procedural guide was asked for but the procedural engine is not installed.")
    if made is None:
        made, source = (simple_guide(request.controls, sample_rate, request.seed), sample_rate), "built-in"
    audio, rate = made
    audio = np.asarray(audio, np.float32)
    mono = audio.reshape(-1, audio.shape[-1]).mean(0, keepdims=True)
    return to_rate(mono, int(rate), sample_rate), source
