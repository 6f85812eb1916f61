"""Mask-aware, zero-phase smoothing of control channels (no timing shift)."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d


def smooth(values: np.ndarray, mask: np.ndarray, *, sigma_s: float, rate: float) -> np.ndarray:
    """Gaussian smoothing of ``values`` (frames along axis 0) using only masked-in frames.

    Normalised convolution: ``conv(v·m) / conv(m)``, so missing frames neither pull the
    curve towards zero nor shift it; a centred kernel keeps steps where they were.
    """
    if sigma_s <= 0 or len(values) == 0:
        return values.astype(np.float32)
    sigma = sigma_s * rate
    weight = mask.astype(np.float64)
    numerator = gaussian_filter1d(values * weight, sigma, axis=0, mode="nearest")
    denominator = gaussian_filter1d(weight, sigma, axis=0, mode="nearest")
    smoothed = np.where(denominator > 1e-6, numerator / np.maximum(denominator, 1e-6), values)
    return smoothed.astype(np.float32)
