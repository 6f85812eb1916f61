"""Waveform peaks for drawing: min/max per bucket of a mono-summed signal (numpy only)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Peaks:
    """``low``/``high`` per bucket of ``bucket`` samples; bucket ``k`` starts at ``k * bucket / rate`` s."""

    low: np.ndarray
    high: np.ndarray
    bucket: int
    rate: int

    @property
    def seconds_per_bucket(self) -> float:
        return self.bucket / self.rate

    @property
    def duration(self) -> float:
        return len(self.low) * self.seconds_per_bucket


def compute_peaks(audio: np.ndarray, rate: int, buckets_per_second: float = 200.0) -> Peaks:
    """Min/max envelope of ``audio`` (``(channels, samples)`` or mono), about ``buckets_per_second``."""
    audio = np.asarray(audio, dtype=np.float32)
    mono = audio.mean(axis=0) if audio.ndim == 2 else audio
    bucket = max(1, int(round(rate / buckets_per_second)))
    n = len(mono) // bucket * bucket
    if n == 0:
        empty = np.zeros(0, np.float32)
        return Peaks(empty, empty, bucket, rate)
    frames = mono[:n].reshape(-1, bucket)
    low, high = frames.min(axis=1), frames.max(axis=1)
    if n < len(mono):
        tail = mono[n:]
        low, high = np.append(low, tail.min()), np.append(high, tail.max())
    return Peaks(low.astype(np.float32), high.astype(np.float32), bucket, rate)
