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


def _moving(n: int, seed: int) -> tuple[np.ndarray, list[int]]:
    """Frame differences of a picture that keeps moving (every cell changes by 1..3 gray levels a frame),
    with two changes on top; returns the grid and their first frames."""
    rng = np.random.default_rng(seed)
    grid = rng.uniform(1.0, 3.0, (n, 12, 16)).astype(np.float32)
    starts = [50, 110]
    grid[50:53, 3:6, 4:8] += np.array([40.0, 25.0, 8.0])[:, None, None]
    grid[110:114, 7:10, 9:13] += np.array([10.0, 30.0, 30.0, 6.0])[:, None, None]
    grid[0] = 0.0
    return grid, starts


@pytest.mark.parametrize("cadence", [[2], [3, 2]], ids=["25p in 50p", "24p in 60p by 3:2"])
def test_frames_a_rate_conversion_repeats_start_no_change(cadence) -> None:
    """Shown again and again (each new frame then a copy or two differing by grain only), a clip's changes
    are the ones found in its own frames, not one at nearly every new frame of the motion."""
    grid, starts = _moving(160, seed=7)
    rng = np.random.default_rng(8)
    shown, times, originals, step = [], [], [], 1.0 / (FPS * sum(cadence) / len(cadence))
    for k, frame in enumerate(grid):
        for copy in range(cadence[k % len(cadence)]):
            originals.append(k)
            shown.append(frame if copy == 0 else rng.uniform(0.0, 0.1, frame.shape).astype(np.float32))
            times.append(len(times) * step)
    activity = FrameActivity.from_grid(np.array(times), np.array(shown, np.float16))
    assert len(activity.times) <= len(grid) + 3  # the copies at the very first and last frames may stay
    found = pixel_onsets(activity, np.array([]))
    assert [originals[round(o.time / step)] for o in found] == starts
    own = pixel_onsets(FrameActivity.from_grid(np.arange(len(grid)) / FPS, grid.astype(np.float16)), np.array([]))
    assert [round(o.time * FPS) for o in own] == starts


def test_a_still_picture_and_a_held_frame_keep_every_frame() -> None:
    activity, _ = _activity()
    assert len(FrameActivity.from_grid(activity.times, activity.grid).times) == len(activity.times)
    grid, _ = _moving(160, seed=7)
    grid[[30, 70, 71]] = 0.05  # a pause of one frame and one of two in the motion: no cadence of copies
    assert len(FrameActivity.from_grid(np.arange(len(grid)) / FPS, grid.astype(np.float16)).times) == len(grid)


@pytest.mark.parametrize("n", [0, 1, 3, 12, 20, 24, 25, 26])
def test_a_clip_shorter_than_the_cadence_span_is_measured(n) -> None:
    """A clip of fewer decoded frames than the repeat check spans (under a second): every frame kept, no error
    (the cadence count was as long as the span, not the clip)."""
    grid = np.random.default_rng(3).uniform(1.0, 3.0, (n, 12, 16)).astype(np.float16)  # a picture that moves
    grid[:1] = 0.0
    activity = FrameActivity.from_grid(np.arange(n) / FPS, grid)
    assert len(activity.times) == n


def test_the_repeat_count_is_centred_on_each_frame() -> None:
    """The count of repeats around each frame is the centred window's (as np.convolve's "same" mode gives it
    for a clip longer than the window)."""
    rng = np.random.default_rng(5)
    flags = rng.random(200) < 0.4
    window = np.ones(onsets.REPEAT_SPAN, np.int32)
    centre = (onsets.REPEAT_SPAN - 1) // 2
    assert np.array_equal(np.convolve(flags, window)[centre:centre + 200], np.convolve(flags, window, mode="same"))
