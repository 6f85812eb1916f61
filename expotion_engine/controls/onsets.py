"""Where a change first shows: the decoded frames on which changes in the picture start.

Landmarks and flow are measured on the analysed frames only (10 per second by default)
and smoothed, so they tell *that* something happened around a time, not the frame it
started on. The frame-to-frame gray differences of every decoded frame (per cell of a
coarse grid, the camera's own move taken out) do: a change starts where a 2x2 block of
cells differs from the frame before far more than in the three frames before that and
more than the whole frame did, beyond the block's noise (robust per clip); its first
frame is the first of that rising run that reaches a share of the run's peak.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.ndimage import uniform_filter

if TYPE_CHECKING:
    from expotion_engine.vision.features import RawFeatures

#: a cell takes part in a change's amount when it rises by this many gray levels.
CELL_LEVELS = 0.5
#: the onset is the first frame of the run that rises by this share of the strongest rise.
RUN_SHARE = 0.15
#: the least robust spread (gray levels) a block of cells' noise is taken to have ...
NOISE_FLOOR = 0.1
#: ... plus this share of the block's recent level (changes on top of motion must stand out).
RELATIVE_NOISE = 0.15
#: deviations a block of 2x2 cells must rise by, times the user's threshold, to start a change ...
ONSET_Z = 6.0
#: ... and gray levels (0..255, summed cell means) at least.
MIN_RISE = 1.5
#: a change must raise its changed cells (those rising by ``CELL_LEVELS``) by this much in all.
MIN_AMOUNT = 1.0
#: a rising run longer than this (s) is taken as more than one change.
RUN_LIMIT = 0.25
#: a change followed within PRE_ECHO s by one ECHO_RATIO times larger is its forerunner
#: (an encoder's quantiser shifting ahead of a big change, or a twitch before the move): dropped.
PRE_ECHO = 0.2
ECHO_RATIO = 10.0
#: frames processed at once, and frames the noise is measured on (memory stays small).
CHUNK = 4096
NOISE_SAMPLE = 20000
#: the least robust spread (gray levels) of the per-frame amounts of change.
AMOUNT_FLOOR = 5.0
#: a frame that changes by less than this share of what its neighbours (two frames either side) did ...
REPEAT_SHARE = 0.35
#: ... while they changed by this much at least (gray levels summed over the cells) repeats the frame before,
#: when a cadence shows: this many such frames within REPEAT_SPAN frames around it (a held frame is not a cadence).
REPEAT_LEVEL = 5.0
REPEAT_COUNT = 5
REPEAT_SPAN = 25


@dataclass(frozen=True, eq=False)
class FrameActivity:
    """Per decoded frame: ``times`` (s from the range start) and ``grid`` (frames, rows,
    columns) of mean gray differences to the frame before; ``noise`` (rows, columns) is
    each cell's robust spread over the clip."""

    times: np.ndarray
    grid: np.ndarray
    noise: np.ndarray

    @classmethod
    def from_raw(cls, raw: RawFeatures, zero: float) -> FrameActivity:
        """The activity of ``raw``'s decoded frames, timed from ``zero`` (s in the file)."""
        return cls.from_grid(raw.frame_times - zero, raw.frame_grid)

    @classmethod
    def from_grid(cls, times: np.ndarray, grid: np.ndarray) -> FrameActivity:
        """The activity of decoded frames at ``times`` differing from the frame before by ``grid``, less the
        frames that only repeat the one before (:func:`repeated_frames`).

        The noise is measured on at most ``NOISE_SAMPLE`` frames spread over the clip.
        """
        repeats = repeated_frames(grid)
        if repeats.any():
            grid, times = grid[~repeats], times[~repeats]
        if len(grid) > 1:
            body = grid[1::max((len(grid) - 1) // NOISE_SAMPLE, 1)].astype(np.float32)
            noise = 1.4826 * np.median(np.abs(body - np.median(body, axis=0)), axis=0)
        else:
            noise = np.zeros(grid.shape[1:], np.float32)
        return cls(times, grid, noise)

    @property
    def frame_period(self) -> float:
        """Median time between decoded frames (s)."""
        steps = np.diff(self.times)
        steps = steps[steps > 0]
        return float(np.median(steps)) if len(steps) else 0.04


def repeated_frames(grid: np.ndarray) -> np.ndarray:
    """Per frame of ``grid``, whether it repeats the frame before, in a cadence, while the picture around it moves:
    the copies a frame-rate conversion makes (25p in 50p, 24p in 60p by 3:2), which would make every new frame of
    ordinary motion rise above the frames before it and start a change. Computed ``CHUNK`` frames at a time."""
    n = len(grid)
    out = np.zeros(n, bool)
    for first in range(2, n - 1, CHUNK):
        lo, hi = first - 2, min(first + CHUNK, n - 1)
        g = grid[lo:hi + 2].astype(np.float32)
        k = np.arange(first, hi) - lo
        before = np.maximum(g[k - 2], g[k - 1])
        after = np.maximum(g[k + 1], g[np.minimum(k + 2, len(g) - 1)])
        around = np.minimum(before, after).reshape(len(k), -1).sum(axis=1)
        own = g[k].reshape(len(k), -1).sum(axis=1)
        out[first:hi] = (around >= REPEAT_LEVEL) & (own < REPEAT_SHARE * around)
    if not out.any():  # none (or no frame at all: np.convolve refuses an empty clip)
        return out
    # repeats within the REPEAT_SPAN frames centred on each (np.convolve's "same" is longer than a shorter clip)
    centre = (REPEAT_SPAN - 1) // 2
    nearby = np.convolve(out, np.ones(REPEAT_SPAN, np.int32))[centre:centre + n]
    return out & (nearby >= REPEAT_COUNT)


@dataclass(frozen=True)
class Onset:
    """A change that starts on a decoded frame: its ``time`` (s from the range start),
    ``rise`` in robust deviations of the noise, ``amount``, the summed rise of the cells
    that changed (gray levels, 0..255 per cell), and ``size``, that amount in robust
    deviations of the clip's per-frame amounts (median and MAD, at least ``AMOUNT_FLOOR``)."""

    time: float
    rise: float
    amount: float
    size: float


def _rises(grid: np.ndarray, times: np.ndarray, cut_times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each frame's rise per cell over the median of (up to) the three frames before it in
    the same shot (a cut's first frame, a difference across the cut, left out), and that
    median; zero where the shot has no earlier frame."""
    n = len(grid)
    shot = np.searchsorted(np.sort(cut_times), times - 1e-6)  # a cut's own frame compares across it: not its shot
    before = np.full((3, *grid.shape), np.nan, np.float32)
    for lag in (1, 2, 3):
        index = np.arange(lag, n)
        index = index[shot[index] == shot[index - lag]]
        before[lag - 1, index] = grid[index - lag]
    known = ~np.isnan(before[0])
    before[0][~known] = 0.0
    prior = np.nanmedian(before, axis=0)
    return np.where(known, grid - prior, 0.0), np.where(known, prior, 0.0)


def _blocks(values: np.ndarray) -> np.ndarray:
    """Sums over every 2x2 block of neighbouring cells (the last two axes)."""
    return uniform_filter(values, size=(1,) * (values.ndim - 2) + (2, 2), mode="constant") * 4.0


def _frame_scores(activity: FrameActivity, cut_times: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per frame: the best block's rise in noise deviations, that block's index, every
    block's rise (float16) and the summed rise of the cells that changed; computed
    ``CHUNK`` frames at a time so that long videos need little memory."""
    t, n = activity.times, len(activity.times)
    blocks = int(np.prod(activity.grid.shape[1:]))
    scores, best = np.zeros(n, np.float32), np.zeros(n, np.int64)
    block_rise, amounts = np.zeros((n, blocks), np.float16), np.zeros(n, np.float32)
    noise = np.maximum(_blocks(activity.noise[None])[0], NOISE_FLOOR).ravel()
    cut_frames = np.searchsorted(t, cut_times - 1e-6)
    for first in range(0, n, CHUNK):
        lo, hi = max(first - 3, 0), min(first + CHUNK, n)
        rises, prior = _rises(activity.grid[lo:hi].astype(np.float32), t[lo:hi], cut_times)
        rises[cut_frames[(cut_frames >= lo) & (cut_frames < hi)] - lo] = 0.0
        keep = slice(first - lo, hi - lo)
        rises, prior = rises[keep], prior[keep]
        rise = _blocks(rises).reshape(len(rises), -1)
        local = rise - np.maximum(np.median(rise, axis=1, keepdims=True), 0.0)  # what the whole frame did: the camera
        z = np.where(local >= MIN_RISE, local / (noise + RELATIVE_NOISE * _blocks(prior).reshape(len(rises), -1)), 0.0)
        scores[first:hi], best[first:hi] = z.max(axis=1), z.argmax(axis=1)
        block_rise[first:hi] = rise
        amounts[first:hi] = np.where(rises >= CELL_LEVELS, rises, 0.0).reshape(len(rises), -1).sum(axis=1)
    scores[0] = 0.0
    return scores, best, block_rise, amounts


def pixel_onsets(activity: FrameActivity, cut_times: np.ndarray, threshold: float = 1.0) -> list[Onset]:
    """Frames where a change starts: some 2x2 block of cells differs far more from the
    frame before than it did in the frames before that, beyond its noise. A run of rising
    frames counts once, from the first frame that rises by a fair share of its peak."""
    t = activity.times
    n = len(t)
    if n < 2:
        return []
    scores, best, block_rise, amounts = _frame_scores(activity, cut_times)
    middle = float(np.median(amounts))
    spread = max(1.4826 * float(np.median(np.abs(amounts - middle))), AMOUNT_FLOOR)
    height = ONSET_Z * threshold
    out: list[Onset] = []
    k, done = 1, 0
    while k < n:
        if scores[k] < height:
            k += 1
            continue
        end = k
        while end + 1 < n and scores[end + 1] >= height and t[end + 1] - t[k] < RUN_LIMIT:
            end += 1
        peak = k + int(np.argmax(scores[k:end + 1]))
        cell = best[peak]
        share = RUN_SHARE * block_rise[peak, cell]
        start = k
        while start < peak and block_rise[start, cell] < share:
            start += 1
        while start - 1 > done and block_rise[start - 1, cell] >= max(share, 0.5 * MIN_RISE):
            start -= 1
        size = (amounts[peak] - middle) / spread
        if amounts[peak] >= MIN_AMOUNT:
            out.append(Onset(float(t[start]), float(scores[peak]), float(amounts[peak]), float(size)))
        done = end
        k = end + 1
    return [o for i, o in enumerate(out) if not any(
        p.amount >= ECHO_RATIO * o.amount for p in out[i + 1:i + 8] if p.time - o.time <= PRE_ECHO)]
