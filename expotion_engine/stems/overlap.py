"""Segment-wise Demucs inference with overlap-add, yielding finished audio as it goes.

Demucs's own ``apply_model(split=True)`` keeps an output buffer as long as the whole
track. Here each segment (the model's training length) is run through
``demucs.apply.apply_model(split=False)`` — demucs's padding, bag weighting and trimming —
and blended with demucs's triangular weights into a rolling buffer one segment long;
as soon as no later segment can touch a stretch, that stretch is yielded. Memory is
therefore bounded by one segment whatever the track's length, and progress and cancel
are checked between segments.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from expotion_engine.progress import CancelEvent, ProgressFn, check_cancel, no_progress


def model_segment(model: torch.nn.Module) -> float:
    """Seconds per segment: the shortest segment of any model in the bag."""
    members = getattr(model, "models", [model])
    return min(float(m.segment) for m in members)


def triangle_weight(length: int) -> torch.Tensor:
    """Demucs's blending weight: a triangle peaking mid-segment, max 1."""
    weight = torch.cat([torch.arange(1, length // 2 + 1), torch.arange(length - length // 2, 0, -1)])
    return weight.float() / weight.max()


def iter_separation(
    model: torch.nn.Module,
    mix: torch.Tensor,
    *,
    overlap: float = 0.25,
    device: torch.device | str = "cpu",
    progress: ProgressFn | None = None,
    cancel: CancelEvent | None = None,
) -> Iterator[np.ndarray]:
    """Yield consecutive blocks ``(sources, channels, n)`` of separated audio for ``mix``.

    ``mix`` is ``(channels, samples)`` at the model's rate, already normalised; the blocks
    concatenate to exactly ``samples`` samples.
    """
    from demucs.apply import TensorChunk, apply_model

    report = progress or no_progress
    segment = model_segment(model)
    seg_len = int(model.samplerate * segment)
    stride = int((1 - overlap) * seg_len)
    if stride < 1:
        raise ValueError(f"overlap {overlap} leaves no stride; use a value in [0, 1).")
    length = int(mix.shape[-1])
    n_sources, channels = len(model.sources), int(mix.shape[0])
    weight = triangle_weight(seg_len)
    acc = torch.zeros(n_sources, channels, seg_len)
    acc_weight = torch.zeros(seg_len)
    batch = mix[None]
    offsets = list(range(0, length, stride))
    for k, offset in enumerate(offsets):
        check_cancel(cancel)
        chunk = TensorChunk(batch, offset, seg_len)
        out = apply_model(model, chunk, shifts=0, split=False, segment=segment, device=device)[0].cpu()
        n = out.shape[-1]
        acc[..., :n] += weight[:n] * out
        acc_weight[:n] += weight[:n]
        last = k == len(offsets) - 1
        done = n if last else stride
        yield (acc[..., :done] / acc_weight[:done]).numpy()
        acc = torch.roll(acc, -done, dims=-1)
        acc_weight = torch.roll(acc_weight, -done, dims=-1)
        acc[..., seg_len - done:] = 0
        acc_weight[seg_len - done:] = 0
        report((k + 1) / len(offsets), f"segment {k + 1}/{len(offsets)}")


__all__ = ["iter_separation", "model_segment", "triangle_weight"]
