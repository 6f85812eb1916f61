"""A waveform's min/max envelope, read block by block so a long take's audio never sits whole in memory."""

from __future__ import annotations

from typing import Any

import numpy as np

from expotion_engine.audio_io import BLOCK, iter_blocks


def envelope(audio: Any, bucket: int, block: int = BLOCK) -> tuple[np.ndarray, np.ndarray]:
    """Min and max of the channels' mean over each ``bucket`` frames of ``audio`` (``(channels, frames)`` array,
    mono array or :class:`~expotion_engine.audio_io.WavAudio`); a shorter last bucket holds the remainder.

    Blocks are whole buckets, so the result is the same as computing it on the whole signal at once.
    """
    if isinstance(audio, np.ndarray) and audio.ndim == 1:
        audio = audio[None, :]
    step = max(block // bucket, 1) * bucket
    lows, highs = [], []
    for _, chunk in iter_blocks(audio, step):
        mono = chunk.mean(axis=0)
        whole = len(mono) // bucket * bucket
        if whole:
            frames = mono[:whole].reshape(-1, bucket)
            lows.append(frames.min(axis=1))
            highs.append(frames.max(axis=1))
        if whole < len(mono):  # only the last block has a part bucket: blocks are whole buckets
            lows.append(mono[whole:].min(keepdims=True))
            highs.append(mono[whole:].max(keepdims=True))
    if not lows:
        return np.zeros(0, np.float32), np.zeros(0, np.float32)
    return np.concatenate(lows).astype(np.float32), np.concatenate(highs).astype(np.float32)


__all__ = ["envelope"]
