"""The editor's timeline as one frozen value: clips, edit points, markers, start timecode, rate, in/out.

Every time is a whole frame count at the sequence's timecode ``rate``: record frames
count from the sequence's first frame (its start timecode is ``start_frame``), source
frames count from the media file's first frame. Seconds are derived, never stored, so
an edit point stays frame-exact through every conversion.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from expotion_engine.errors import ExpotionError
from studio.timecode import TimecodeRate, format_frames


class TimelineError(ExpotionError):
    """A timeline file that cannot be read or whose media cannot be found."""


@dataclass(frozen=True)
class TimelineClip:
    """One shot of the sequence: which media, which source frames, where on the record side."""

    name: str
    media: Path | None
    source_in: int
    record_in: int
    duration: int

    @property
    def record_out(self) -> int:
        """First record frame after the clip."""
        return self.record_in + self.duration

    @property
    def source_out(self) -> int:
        """First source frame after the clip's range."""
        return self.source_in + self.duration

    @property
    def is_gap(self) -> bool:
        """Whether this span of the sequence shows no media (a gap or a generator)."""
        return self.media is None


@dataclass(frozen=True)
class TimelineMarker:
    """A marker the editor placed: record frame, name, ``#rrggbb`` colour and the editor's colour name."""

    frame: int
    name: str
    color: str | None = None
    color_name: str | None = None


@dataclass(frozen=True)
class Timeline:
    """A read timeline: the picture's clips in record order (gaps included), markers and the scored range."""

    path: Path
    name: str
    rate: TimecodeRate
    start_frame: int
    clips: tuple[TimelineClip, ...]
    markers: tuple[TimelineMarker, ...] = ()
    in_frame: int = 0
    out_frame: int | None = None
    adapter: str = ""

    @property
    def duration(self) -> int:
        """Frames from the sequence's first frame to the end of its last clip."""
        return self.clips[-1].record_out if self.clips else 0

    @property
    def range_out(self) -> int:
        """The scored range's end (the out point, else the sequence's end)."""
        return self.duration if self.out_frame is None else min(self.out_frame, self.duration)

    @property
    def edit_frames(self) -> tuple[int, ...]:
        """Record frames where one shot (or gap) gives way to the next, inside the scored range."""
        return tuple(c.record_in for c in self.clips[1:] if self.in_frame < c.record_in < self.range_out)

    @property
    def media(self) -> tuple[Path, ...]:
        """Every media file the sequence uses, once each, in first-use order."""
        return tuple(dict.fromkeys(c.media for c in self.clips if c.media is not None))

    @property
    def start_timecode(self) -> str:
        """The sequence's start timecode label (``01:00:00:00``)."""
        return format_frames(self.start_frame, self.rate)

    def seconds(self, frames: int) -> float:
        """Seconds of a frame count at the sequence rate."""
        return float(Fraction(frames) / self.rate.rate)


__all__ = ["Timeline", "TimelineClip", "TimelineError", "TimelineMarker"]
