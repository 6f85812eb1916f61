"""Onset-strength envelopes of a mix: the input of tempo, beat and meter estimation.

The flux is taken on ``log(1 + 1000 * mel power / max)`` rather than on decibels: a dB
scale makes a quiet hi-hat rise as much as a kick, and the tracker then counts eighth
notes as beats; this compression keeps loud events loud and quiet ones quiet.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ANALYSIS_RATE = 22050
HOP = 256  # 11.6 ms frames for tempo and beat tracking
FINE_HOP = 64  # 2.9 ms frames for refining beat times
COMPRESSION = 1000.0
# Samples of silence analysed before the audio: a sound at 0 s rises from silence over the
# frames before it like any later onset, instead of from the frame it starts in (no rise).
LEAD_SILENCE = 2048


def to_analysis_rate(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mono float32 at :data:`ANALYSIS_RATE` from ``(channels, samples)`` or ``(samples,)``."""
    import soxr

    mono = np.asarray(audio, dtype=np.float32)
    if mono.ndim == 2:
        mono = mono.mean(axis=0)
    if sample_rate != ANALYSIS_RATE:
        mono = soxr.resample(mono, sample_rate, ANALYSIS_RATE, quality="HQ").astype(np.float32)
    return mono


def compressed_mel(y: np.ndarray, *, hop: int, n_fft: int, n_mels: int = 96, fmax: float = 11025.0) -> np.ndarray:
    """``log1p(1000 * mel / max)``: a loudness-like spectrogram for flux, ``(n_mels, frames)``."""
    import librosa

    mel = librosa.feature.melspectrogram(y=y, sr=ANALYSIS_RATE, n_fft=n_fft, hop_length=hop, n_mels=n_mels,
                                         fmax=fmax)
    peak = float(mel.max())
    return np.log1p(COMPRESSION * mel / peak) if peak > 0 else mel


def flux(spec: np.ndarray) -> np.ndarray:
    """Half-wave rectified frame-to-frame rise, one row per band, frame-aligned with ``spec``."""
    return np.maximum(0.0, np.diff(spec, axis=1, prepend=spec[:, :1]))


@dataclass(frozen=True, eq=False)
class Envelopes:
    """Onset strength at two resolutions plus per-band flux for the meter."""

    coarse: np.ndarray  # mean flux at HOP
    fine: np.ndarray  # mean flux at FINE_HOP, short windows
    bands: np.ndarray  # (3, frames) low / mid / high flux at HOP
    chroma: np.ndarray  # (12, frames) chroma at HOP

    @property
    def frame_rate(self) -> float:
        return ANALYSIS_RATE / HOP

    @property
    def fine_rate(self) -> float:
        return ANALYSIS_RATE / FINE_HOP


BAND_EDGES = (0.0, 120.0, 2000.0, 1e9)  # kick and bass / snare, voices / cymbals


def from_start(rows: np.ndarray, lead_frames: int) -> np.ndarray:
    """``rows`` of an envelope of the silence-led audio from 0 s on, each row's rise before 0 s
    credited to frame 0 (its largest frame): an onset at 0 s is then as strong as any later one."""
    out = rows[..., lead_frames:].copy()
    out[..., 0] = rows[..., :lead_frames + 1].max(axis=-1)
    return out


def envelopes(y: np.ndarray) -> Envelopes:
    """All envelopes of a mono signal at :data:`ANALYSIS_RATE`."""
    import librosa

    if len(y) < 2048:
        y = np.pad(y, (0, 2048 - len(y)))
    padded = np.pad(y, (LEAD_SILENCE, 0))
    spec = compressed_mel(padded, hop=HOP, n_fft=2048)
    rise = flux(spec)
    freqs = librosa.mel_frequencies(n_mels=spec.shape[0], fmax=11025.0)
    bands = np.stack([rise[(freqs >= lo) & (freqs < hi)].mean(axis=0)
                      for lo, hi in zip(BAND_EDGES[:-1], BAND_EDGES[1:], strict=True)])
    fine = flux(compressed_mel(padded, hop=FINE_HOP, n_fft=512, n_mels=64)).mean(axis=0)
    chroma = librosa.feature.chroma_stft(y=y, sr=ANALYSIS_RATE, hop_length=HOP, n_fft=4096, tuning=0.0)
    lead = LEAD_SILENCE // HOP
    return Envelopes(coarse=from_start(rise.mean(axis=0), lead), fine=from_start(fine, LEAD_SILENCE // FINE_HOP),
                     bands=from_start(bands, lead), chroma=chroma)


__all__ = ["ANALYSIS_RATE", "FINE_HOP", "HOP", "Envelopes", "envelopes", "to_analysis_rate"]
