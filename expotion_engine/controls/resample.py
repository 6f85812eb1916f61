"""Resampling irregular, partly missing measurements onto the uniform control grid.

This is the paper's "temporal smoothing" alignment done by timestamps rather than by
index: control frame ``k`` sits at ``k / rate`` seconds, each value is linearly
interpolated between the valid measurements around it, gaps up to ``max_gap`` seconds
are filled, longer gaps are masked (and hold the nearest valid value).
"""

from __future__ import annotations

import numpy as np


def uniform_times(duration: float, rate: float) -> np.ndarray:
    """Times of the control grid covering ``[0, duration)``: ``k / rate``."""
    return np.arange(int(round(duration * rate))) / rate


def resample_channel(
    times: np.ndarray,
    values: np.ndarray,
    valid: np.ndarray,
    grid: np.ndarray,
    *,
    max_gap: float,
    edge: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Interpolate one channel onto ``grid``; returns ``(values, mask)``.

    A grid point is valid when the valid measurements on both sides are at most
    ``max_gap`` apart, or, past the first/last valid measurement, within ``edge`` seconds
    of it. Masked points hold the nearest valid value; with no valid data, zeros.
    """
    ok = valid & np.isfinite(values)
    if not ok.any():
        return np.zeros(len(grid), np.float32), np.zeros(len(grid), bool)
    t, v = times[ok], values[ok]
    out = np.interp(grid, t, v)
    right = np.clip(np.searchsorted(t, grid, side="left"), 0, len(t) - 1)
    left = np.clip(right - 1, 0, len(t) - 1)
    exact = np.isclose(t[right], grid, atol=1e-9)
    inside = (grid >= t[0]) & (grid <= t[-1])
    span_ok = (t[right] - t[left]) <= max_gap + 1e-9
    mask = inside & (span_ok | exact)
    mask |= (grid < t[0]) & (t[0] - grid <= edge)
    mask |= (grid > t[-1]) & (grid - t[-1] <= edge)
    held = np.where(np.abs(grid - t[left]) <= np.abs(t[right] - grid), v[left], v[right])
    out = np.where(mask | ~inside, out, held)
    return out.astype(np.float32), mask
