"""Resampling onto the control grid keeps timing, fills short gaps, masks long ones."""

from __future__ import annotations

import numpy as np

from expotion_engine.controls.resample import resample_channel, uniform_times
from expotion_engine.controls.smoothing import smooth


def _crossing(grid: np.ndarray, values: np.ndarray, level: float) -> float:
    index = int(np.argmax(values >= level))
    return float(grid[index])


def test_step_stays_at_its_time_after_resampling_and_smoothing() -> None:
    source_rate, rate = 10.0, 50.0
    times = np.arange(0.0, 6.0, 1.0 / source_rate) + 0.013  # a file whose frames are not on the grid
    values = (times >= 3.0).astype(np.float64)
    grid = uniform_times(6.0, rate)
    resampled, mask = resample_channel(times, values, np.ones_like(times, bool), grid, max_gap=0.5, edge=0.1)
    smoothed = smooth(resampled, mask, sigma_s=0.12, rate=rate)
    assert mask.all()
    # the step lies between the frames at 2.913 and 3.013: its midpoint crossing is at 3.00 +- one control frame
    assert abs(_crossing(grid, smoothed, 0.5) - 2.963) <= 1.0 / rate
    assert abs(_crossing(grid, smoothed, 0.5) - 3.0) <= 0.05 + 1.0 / rate


def test_variable_frame_times_are_honoured() -> None:
    rng = np.random.default_rng(1)
    times = np.cumsum(rng.uniform(0.02, 0.12, 200))
    values = np.sin(times)
    grid = uniform_times(float(times[-1]), 50.0)
    resampled, mask = resample_channel(times, values, np.ones_like(times, bool), grid, max_gap=0.5, edge=0.1)
    inside = mask & (grid >= times[0])
    np.testing.assert_allclose(resampled[inside], np.sin(grid[inside]), atol=2e-3)


def test_short_gaps_are_filled_and_long_gaps_masked() -> None:
    times = np.arange(0.0, 10.0, 0.1)
    valid = np.ones_like(times, bool)
    valid[(times > 2.0) & (times < 2.35)] = False  # 0.4 s hole: filled
    valid[(times > 5.0) & (times < 7.0)] = False  # 2 s hole: masked
    values = np.where(times < 6.0, 1.0, 2.0)
    grid = uniform_times(10.0, 50.0)
    resampled, mask = resample_channel(times, values, valid, grid, max_gap=0.5, edge=0.1)
    assert mask[(grid > 2.0) & (grid < 2.35)].all()
    hole = (grid > 5.05) & (grid < 6.95)
    assert not mask[hole].any()
    # masked values hold the nearest valid measurement instead of inventing a ramp
    assert set(np.unique(resampled[hole])) <= {1.0, 2.0}


def test_smoothing_ignores_masked_frames() -> None:
    values = np.ones(200, np.float32)
    mask = np.ones(200, bool)
    values[80:120] = 0.0
    mask[80:120] = False
    smoothed = smooth(values, mask, sigma_s=0.2, rate=50.0)
    np.testing.assert_allclose(smoothed[mask], 1.0, atol=1e-5)
