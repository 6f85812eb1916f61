"""Pixel onsets on a synthetic activity grid: a change is found on the frame it starts,
a cut's own frame is no change, and the chunked computation does not move anything."""

from __future__ import annotations

import numpy as np
import pytest

from expotion_engine.controls import onsets
from expotion_engine.controls.onsets import FrameActivity, pixel_onsets

FPS = 25.0


def _activity(n: int = 250, seed: int = 0) -> tuple[FrameActivity, list[int]]:
    """Grainy still frames (cells 12 x 16) with three changes: a sharp one, one that
    starts gently and a small one in two cells; returns the activity and their first frames."""
    rng = np.random.default_rng(seed)
    grid = np.abs(rng.normal(0.3, 0.05, (n, 12, 16))).astype(np.float32)
    starts = [40, 120, 200]
    grid[40:44, 3:6, 4:8] += np.array([30.0, 20.0, 8.0, 2.0])[:, None, None]
    grid[120:128, 6:9, 8:12] += np.array([2.0, 6.0, 12.0, 16.0, 16.0, 10.0, 4.0, 1.0])[:, None, None]
    grid[200:202, 9, 2:4] += 2.5
    grid[0] = 0.0
    times = np.arange(n) / FPS
    noise = 1.4826 * np.median(np.abs(grid[1:] - np.median(grid[1:], axis=0)), axis=0)
    return FrameActivity(times, grid.astype(np.float16), noise), starts


def test_each_change_is_found_on_its_first_frame() -> None:
    activity, starts = _activity()
    found = pixel_onsets(activity, np.array([]))
    assert [round(o.time * FPS) for o in found] == starts
    sharp, gentle, small = found
    assert sharp.amount > gentle.amount / 2 > small.amount and small.size < sharp.size


def test_a_cut_frame_starts_no_change_and_the_next_shot_has_its_own_baseline() -> None:
    activity, starts = _activity()
    grid = activity.grid.astype(np.float32)
    grid[80] += 60.0  # the cut: everything differs from the frame before
    cut = np.array([80 / FPS])
    found = pixel_onsets(FrameActivity(activity.times, grid.astype(np.float16), activity.noise), cut)
    assert [round(o.time * FPS) for o in found] == starts


def test_chunks_do_not_change_the_result(monkeypatch) -> None:
    activity, _ = _activity(seed=3)
    whole = pixel_onsets(activity, np.array([4.0]))
    monkeypatch.setattr(onsets, "CHUNK", 7)
    assert pixel_onsets(activity, np.array([4.0])) == whole


@pytest.mark.parametrize("threshold", [0.5, 1.0, 3.0])
def test_a_higher_threshold_never_finds_more(threshold) -> None:
    activity, _ = _activity(seed=5)
    assert len(pixel_onsets(activity, np.array([]), threshold)) >= len(pixel_onsets(activity, np.array([]), 6.0))
