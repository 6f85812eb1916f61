"""The DSP fallback: drums, bass and other stems from filters when no Demucs weights exist.

Per channel, a block of the mix is split in the STFT domain with librosa's
harmonic/percussive soft masks (they sum to one): the percussive part is ``drums``; the
harmonic part below ``bass_cutoff`` (a raised-cosine crossover one octave wide) is
``bass``; the rest of the harmonic part is ``other``. There is no vocals stem: filters
cannot tell a voice from other harmony. Blocks overlap with complementary linear fades,
so memory is bounded and the three stems sum back to the mix (residual near -100 dB).
Stems are marked ``origin="dsp"`` with the method in their ``info``.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from expotion_engine.progress import CancelEvent, ProgressFn, check_cancel, no_progress
from expotion_engine.types import Stem

log = logging.getLogger(__name__)

DSP_STEMS = ("drums", "bass", "other")
METHOD_NOTE = (
    "DSP fallback, not a source-separation model: librosa HPSS soft masks (percussive -> drums), "
    "harmonic part split at {cutoff:g} Hz (low -> bass, rest -> other); no vocals stem."
)


def _n_fft(sample_rate: int) -> int:
    """About 85 ms windows (4096 at 48 kHz): enough resolution to split off the bass."""
    return int(2 ** round(np.log2(sample_rate * 0.085)))


def low_band(freqs: np.ndarray, cutoff: float) -> np.ndarray:
    """1 below ``cutoff / sqrt 2``, 0 above ``cutoff * sqrt 2``, raised-cosine in between."""
    lo, hi = cutoff / np.sqrt(2.0), cutoff * np.sqrt(2.0)
    x = np.clip((np.log2(np.maximum(freqs, 1e-6)) - np.log2(lo)) / (np.log2(hi) - np.log2(lo)), 0.0, 1.0)
    return 0.5 * (1.0 + np.cos(np.pi * x))


def _split_block(block: np.ndarray, sample_rate: int, cutoff: float) -> np.ndarray:
    """``(3, channels, n)`` drums/bass/other for one block ``(channels, n)``."""
    import librosa

    n_fft = _n_fft(sample_rate)
    hop = n_fft // 4
    n = block.shape[-1]
    spec = librosa.stft(block, n_fft=n_fft, hop_length=hop)
    harmonic, percussive = librosa.decompose.hpss(spec, kernel_size=31, mask=True)
    total = harmonic + percussive
    harmonic = np.where(total > 0, harmonic / np.maximum(total, 1e-12), 0.5)
    band = low_band(librosa.fft_frequencies(sr=sample_rate, n_fft=n_fft), cutoff)[:, None]
    masks = (1.0 - harmonic, harmonic * band, harmonic * (1.0 - band))
    parts = [librosa.istft(spec * m, hop_length=hop, n_fft=n_fft, length=n) for m in masks]
    return np.stack(parts).astype(np.float32)


def separate_dsp(
    audio: np.ndarray,
    sample_rate: int,
    *,
    bass_cutoff: float = 150.0,
    block_seconds: float = 30.0,
    fade_seconds: float = 2.0,
    progress: ProgressFn | None = None,
    cancel: CancelEvent | None = None,
) -> list[Stem]:
    """Drums, bass and other stems of ``audio`` by filtering; they sum to the mix."""
    from expotion_engine.stems.separate import check_audio, residual_db

    mix = check_audio(audio, sample_rate)
    report = progress or no_progress
    started = time.perf_counter()
    n = mix.shape[1]
    block = max(int(block_seconds * sample_rate), 1)
    fade = min(int(fade_seconds * sample_rate), block // 2)
    step = block - fade
    starts = list(range(0, max(n - fade, 1), step))
    out = np.zeros((len(DSP_STEMS), mix.shape[0], n), np.float32)
    for k, start in enumerate(starts):
        check_cancel(cancel)
        end = min(start + block, n)
        if k == len(starts) - 1:
            end = n
        parts = _split_block(mix[:, start:end], sample_rate, bass_cutoff)
        weight = np.ones(end - start, np.float32)
        if k > 0:
            weight[:fade] = np.linspace(0.0, 1.0, fade + 2, dtype=np.float32)[1:-1]
        if k < len(starts) - 1:
            weight[-fade:] = np.linspace(1.0, 0.0, fade + 2, dtype=np.float32)[1:-1]
        out[..., start:end] += parts * weight
        report((k + 1) / len(starts), f"DSP stems: block {k + 1}/{len(starts)}")
    stems = list(out)
    residual = residual_db(mix, stems)
    info = {
        "method": "dsp",
        "note": METHOD_NOTE.format(cutoff=bass_cutoff),
        "bass_cutoff_hz": bass_cutoff,
        "residual_db": round(residual, 2),
        "seconds": round(time.perf_counter() - started, 3),
    }
    log.info("DSP stems for %.1f s, residual %.1f dB", n / sample_rate, residual)
    return [Stem(name=name, audio=stem, origin="dsp", info=dict(info)) for name, stem in zip(DSP_STEMS, stems,
                                                                                             strict=True)]


__all__ = ["DSP_STEMS", "low_band", "separate_dsp"]
