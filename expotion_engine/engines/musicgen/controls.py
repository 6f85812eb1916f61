"""ControlTrack → control frames on MusicGen's token grid (50 per second).

Resampling goes by timestamps, not by index: model frame ``f`` covers audio
``[f / rate, (f + 1) / rate)`` and takes the controls interpolated at its centre, so a
clip of any length and any analysis rate lines up with the audio it describes. Frames
past the end of the video, and gaps in the analysis, are masked rather than zero-filled;
the adapter replaces them with learned null vectors and the loss never sees padding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from expotion_engine.controls.resample import resample_channel
from expotion_engine.errors import ControlError
from expotion_engine.types import ControlTrack


@dataclass(frozen=True, eq=False)
class ControlFrames:
    """Controls at the model's frame rate: ``values``/``mask`` shaped ``(frames, channels)``."""

    values: np.ndarray
    mask: np.ndarray
    channels: tuple[str, ...]
    frame_rate: float

    def __post_init__(self) -> None:
        if self.values.shape != self.mask.shape or self.values.shape[1:] != (len(self.channels),):
            raise ControlError(
                f"control frames {self.values.shape} / mask {self.mask.shape} do not match "
                f"{len(self.channels)} channels"
            )

    @property
    def n_frames(self) -> int:
        return int(self.values.shape[0])

    def window(self, start: int, stop: int) -> ControlFrames:
        """Frames ``start..stop``; frames past either end are padding (masked)."""
        length = stop - start
        values = np.zeros((length, len(self.channels)), np.float32)
        mask = np.zeros((length, len(self.channels)), bool)
        lo, hi = max(start, 0), min(stop, self.n_frames)
        if hi > lo:
            values[lo - start : hi - start] = self.values[lo:hi]
            mask[lo - start : hi - start] = self.mask[lo:hi]
        return ControlFrames(values, mask, self.channels, self.frame_rate)


def check_channels(track: ControlTrack, channels: Sequence[str]) -> None:
    """Raise a clear ControlError when ``track`` lacks channels an adapter was trained on."""
    missing = [c for c in channels if not track.has(c)]
    if missing:
        shown = ", ".join(missing[:6]) + (f" and {len(missing) - 6} more" if len(missing) > 6 else "")
        raise ControlError(
            f"The control track from {track.source.path} lacks channel(s) {shown} that the adapter was "
            "trained on; analyse the video with the same feature set, or use an adapter trained on these channels."
        )


def to_frames(
    track: ControlTrack, channels: Sequence[str], frame_rate: float, n_frames: int | None = None
) -> ControlFrames:
    """Resample ``channels`` of ``track`` by timestamp onto frame centres ``(f + 0.5) / frame_rate``."""
    check_channels(track, channels)
    duration = track.duration
    count = int(np.ceil(duration * frame_rate - 1e-9)) if n_frames is None else int(n_frames)
    centres = (np.arange(count) + 0.5) / frame_rate
    times = track.times
    step = 1.0 / track.rate
    values = np.zeros((count, len(channels)), np.float32)
    mask = np.zeros((count, len(channels)), bool)
    for c, name in enumerate(channels):
        idx = track.index(name)
        values[:, c], mask[:, c] = resample_channel(
            times, track.values[:, idx], track.mask[:, idx], centres, max_gap=1.5 * step, edge=step
        )
    mask &= (centres < duration)[:, None]
    return ControlFrames(values, mask, tuple(channels), float(frame_rate))
