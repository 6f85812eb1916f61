"""MusicGen's codebook delay pattern, for sampling, continuation and training.

Codebook ``k`` is delayed by ``d_k`` steps (``d_k = k`` for mono, ``k // 2`` for the
interleaved left/right codebooks of stereo models) after a start token at position 0, so
audio frame ``j`` of codebook ``k`` sits at position ``j + d_k + 1`` and the decoder
output at position ``s`` predicts frame ``s - d_k`` of every codebook ``k``. This is the
same layout as ``MusicgenForCausalLM.build_delay_pattern_mask``; tests check that.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

UNKNOWN = -1
IGNORE = -100


def codebook_delays(num_codebooks: int, audio_channels: int = 1) -> tuple[int, ...]:
    """Delay of each codebook, in steps."""
    return tuple(k // audio_channels for k in range(num_codebooks))


def delayed_grid(prompt: torch.Tensor, n_frames: int, delays: Sequence[int], special: int) -> torch.Tensor:
    """The delayed token grid ``(B, K, n_frames + max_delay + 1)`` for ``n_frames`` frames of audio.

    ``prompt`` ``(B, K, P)`` holds the first ``P <= n_frames`` frames (known tokens); the
    other frames are ``UNKNOWN``; positions before a codebook's first frame and after its
    last hold ``special`` (the start/pad token).
    """
    batch, books, known = prompt.shape
    if known > n_frames:
        raise ValueError(f"prompt has {known} frames, more than the {n_frames} asked for")
    length = n_frames + max(delays) + 1
    grid = torch.full((batch, books, length), special, dtype=torch.long, device=prompt.device)
    for k, d in enumerate(delays):
        grid[:, k, d + 1 : d + 1 + n_frames] = UNKNOWN
        grid[:, k, d + 1 : d + 1 + known] = prompt[:, k]
    return grid


def undelay(grid: torch.Tensor, n_frames: int, delays: Sequence[int]) -> torch.Tensor:
    """The ``(B, K, n_frames)`` codes laid out in a delayed ``grid``."""
    return torch.stack([grid[:, k, d + 1 : d + 1 + n_frames] for k, d in enumerate(delays)], dim=1)


def training_pair(
    codes: torch.Tensor, lengths: torch.Tensor, delays: Sequence[int], special: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Decoder inputs and labels ``(B, K, F + max_delay)`` for teacher forcing.

    Labels are ``IGNORE`` where the grid holds the start/pad token and for frames at or
    past each item's valid length (padding of short clips), so neither enters the loss.
    """
    batch, books, frames = codes.shape
    grid = delayed_grid(codes, frames, delays, special)
    inputs, labels = grid[..., :-1].clone(), grid[..., 1:].clone()
    positions = torch.arange(labels.shape[-1], device=codes.device)
    for k, d in enumerate(delays):
        frame = positions - d  # label position p (grid position p + 1) holds frame p - d
        invalid = (frame[None, :] < 0) | (frame[None, :] >= lengths[:, None])
        labels[:, k][invalid] = IGNORE
    return inputs, labels
