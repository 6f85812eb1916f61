"""Random aligned segments of cached clips, padded and masked, as training batches.

Codes and controls are cut at the same frame, so the music and the video stay aligned;
the controls run ``ahead`` frames past the segment for the adapter's look-ahead. Frames
past a clip's end are padding: their labels are ignored and their controls masked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from expotion_engine.engines.musicgen.train.features import ClipFeatures


@dataclass(eq=False)
class Batch:
    """Codes ``(B, K, S)``, valid lengths ``(B,)``, controls ``(B, S + ahead, C)`` and prompts."""

    codes: torch.Tensor
    lengths: torch.Tensor
    values: torch.Tensor
    mask: torch.Tensor
    frame_valid: torch.Tensor
    prompts: list[str]

    def to(self, device: torch.device) -> Batch:
        return Batch(self.codes.to(device), self.lengths.to(device), self.values.to(device), self.mask.to(device),
                     self.frame_valid.to(device), self.prompts)


def make_batch(
    items: Sequence[tuple[ClipFeatures, int]], segment: int, ahead: int, special: int
) -> Batch:
    """Cut ``segment`` frames from each ``(clip, start)`` pair and stack them."""
    books = items[0][0].codes.shape[0]
    channels = items[0][0].values.shape[1]
    size = len(items)
    codes = np.full((size, books, segment), special, np.int64)
    values = np.zeros((size, segment + ahead, channels), np.float32)
    mask = np.zeros((size, segment + ahead, channels), bool)
    valid = np.zeros((size, segment + ahead), bool)
    lengths = np.zeros(size, np.int64)
    prompts = []
    for i, (clip, start) in enumerate(items):
        n = min(segment, clip.n_frames - start)
        codes[i, :, :n] = clip.codes[:, start : start + n]
        m = min(segment + ahead, clip.n_frames - start)
        values[i, :m] = clip.values[start : start + m]
        mask[i, :m] = clip.mask[start : start + m]
        valid[i, :m] = True
        lengths[i] = n
        prompts.append(clip.prompt)
    return Batch(torch.from_numpy(codes), torch.from_numpy(lengths), torch.from_numpy(values),
                 torch.from_numpy(mask), torch.from_numpy(valid), prompts)


def random_batch(
    clips: Sequence[ClipFeatures], size: int, segment: int, ahead: int, special: int, rng: np.random.Generator
) -> Batch:
    """``size`` segments from clips drawn in proportion to their length, at random starts."""
    lengths = np.array([c.n_frames for c in clips], np.float64)
    picks = rng.choice(len(clips), size=size, p=lengths / lengths.sum())
    items = [(clips[i], int(rng.integers(0, max(clips[i].n_frames - segment, 0) + 1))) for i in picks]
    return make_batch(items, segment, ahead, special)


def validation_batches(
    clips: Sequence[ClipFeatures], size: int, segment: int, ahead: int, special: int
) -> list[Batch]:
    """Fixed, consecutive segments covering every validation clip (the same every evaluation)."""
    items = [(c, start) for c in clips for start in range(0, max(c.n_frames - segment, 0) + 1, segment)]
    return [make_batch(items[i : i + size], segment, ahead, special) for i in range(0, len(items), size)]
