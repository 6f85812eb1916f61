"""Equal-power crossfades that stay equal-power for correlated signals too.

The textbook sin/cos law keeps power constant only for uncorrelated signals; two
decodings of the same tokens (the overlap of consecutive windows) are almost identical,
and sin/cos would swell them by 3 dB in the middle. Here the gains are normalised by
the measured correlation ``rho`` of the two segments, so ``g_out**2 + g_in**2 +
2 * rho * g_out * g_in = 1`` at every sample: the sin/cos law for ``rho = 0`` and a plain
linear (raised-cosine) fade for ``rho = 1``.
"""

from __future__ import annotations

import numpy as np


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Normalised zero-lag correlation of two equally shaped signals, clipped to [0, 1]."""
    energy = float(np.sqrt(np.sum(a.astype(np.float64) ** 2) * np.sum(b.astype(np.float64) ** 2)))
    if energy <= 0.0:
        return 1.0
    return float(np.clip(np.sum(a.astype(np.float64) * b) / energy, 0.0, 1.0))


def fade_gains(length: int, rho: float) -> tuple[np.ndarray, np.ndarray]:
    """``(outgoing, incoming)`` gain curves of ``length`` samples for correlation ``rho``."""
    t = (np.arange(length) + 0.5) / length
    a = np.sin(0.5 * np.pi * t) ** 2  # raised-cosine shape, 0 → 1
    norm = np.sqrt(a**2 + (1 - a) ** 2 + 2 * rho * a * (1 - a))
    return ((1 - a) / norm).astype(np.float32), (a / norm).astype(np.float32)


def crossfade(outgoing: np.ndarray, incoming: np.ndarray) -> np.ndarray:
    """Fade ``outgoing`` into ``incoming`` (both ``(channels, samples)``) at constant power."""
    if outgoing.shape != incoming.shape:
        raise ValueError(f"crossfade segments differ in shape: {outgoing.shape} vs {incoming.shape}")
    g_out, g_in = fade_gains(outgoing.shape[-1], correlation(outgoing, incoming))
    return outgoing * g_out + incoming * g_in
