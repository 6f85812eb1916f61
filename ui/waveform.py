"""Waveform peaks for drawing: min/max per bucket of a mono-summed signal, read in blocks (:mod:`studio.peaks`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from studio.peaks import envelope


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


def compute_peaks(audio: Any, rate: int, buckets_per_second: float = 200.0) -> Peaks:
    """Min/max envelope of ``audio`` (``(channels, samples)``, mono, or a long take's ``WavAudio`` read block by
    block), about ``buckets_per_second``."""
    bucket = max(1, int(round(rate / buckets_per_second)))
    low, high = envelope(audio, bucket)
    return Peaks(low, high, bucket, rate)
