"""The take's mix built from the model's audio as it becomes final, so a preview hears the take itself.

Every finished stretch of model-rate audio goes through one streaming resampler to the
request's rate, is made stereo, and is cut at the range's last sample; the blocks passed
on are the blocks the mix is made of, so the preview's first seconds are the take's first
seconds, sample for sample, and the mix does not depend on whether anyone listens.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import soxr

AudioFn = Callable[[int, np.ndarray], None]


class StreamingMix:
    """Feed model-rate ``(channels, n)`` blocks in time order; :meth:`finish` returns the stereo mix."""

    def __init__(self, source_rate: int, target_rate: int, channels: int, n_samples: int,
                 on_audio: AudioFn | None = None) -> None:
        self.n_samples, self.on_audio, self.channels = n_samples, on_audio, channels
        self._resampler = None if source_rate == target_rate else soxr.ResampleStream(
            source_rate, target_rate, channels, dtype="float32", quality="HQ")
        self._blocks: list[np.ndarray] = []
        self._done = 0

    def feed(self, block: np.ndarray, last: bool = False) -> None:
        """Resample ``block`` (model rate) and pass on what falls inside the range."""
        block = np.asarray(block, np.float32)
        if self._resampler is not None:
            block = self._resampler.resample_chunk(np.ascontiguousarray(block.T), last=last).T
        self._emit(block)

    def _emit(self, block: np.ndarray) -> None:
        block = block[:, : self.n_samples - self._done]
        if block.shape[1] == 0:
            return
        stereo = np.ascontiguousarray(block if block.shape[0] == 2 else np.repeat(block[:1], 2, axis=0),
                                      dtype=np.float32)
        if self.on_audio is not None:
            self.on_audio(self._done, stereo.copy())
        self._blocks.append(stereo)
        self._done += stereo.shape[1]

    def finish(self) -> np.ndarray:
        """Flush the resampler, pad the range's tail with silence if it fell short, return ``(2, n_samples)``."""
        self.feed(np.zeros((self.channels, 0), np.float32), last=True)
        if self._done < self.n_samples:
            self._emit(np.zeros((2, self.n_samples - self._done), np.float32))
        return np.concatenate(self._blocks, axis=1) if self._blocks else np.zeros((2, 0), np.float32)
