"""The start timecode a video file carries (its ``timecode`` tag), counted at a delivery's timecode rate.

``expotion score`` starts the delivery at it unless ``--timecode-start`` says otherwise, the
video export writes the music's start into the scored video's tag, and ``expotion check``
compares that tag with the delivery. Drop frame follows the label (``;`` or ``.`` before the
frames), at 29.97 and 59.94 only.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace

from studio.timecode import TimecodeError, TimecodeRate, frame_seconds, parse_frames, smpte_rate


@dataclass(frozen=True)
class FileTimecode:
    """A file's timecode label as written and the seconds since midnight it stands for."""

    label: str
    seconds: float


def label_rate(label: str, rate: TimecodeRate) -> TimecodeRate:
    """``rate`` with drop frame as ``label`` writes it (``;``/``.`` before the frames: drop frame, where it exists)."""
    drop = bool(re.search(r"[;.,]\d+$", label.strip())) and rate.ntsc and rate.nominal in (30, 60)
    return replace(rate, drop_frame=drop)


def label_frames(label: str, rate: TimecodeRate) -> int:
    """Frame number of timecode label ``label`` counted at ``rate`` (drop frame as the label says)."""
    return parse_frames(label.strip().replace(",", "."), label_rate(label, rate))


def label_seconds(label: str, rate: TimecodeRate) -> float:
    """Seconds since midnight of timecode label ``label`` counted at ``rate`` (drop frame as the label says)."""
    return frame_seconds(label_frames(label, rate), label_rate(label, rate))


def counts_at(fps: float, rate: TimecodeRate) -> bool:
    """Whether a video at ``fps`` counts its own timecode at ``rate`` (its labels then mean the same frames)."""
    own = smpte_rate(fps)
    return own is not None and (own.nominal, own.ntsc) == (rate.nominal, rate.ntsc)


def file_timecode(path: str | os.PathLike[str], rate: TimecodeRate) -> FileTimecode | None:
    """The start timecode ``path`` carries, read at ``rate``; None when it carries none.

    :class:`TimecodeError` when it carries one that cannot be read at ``rate``: the video's own frame
    rate is another (its frame numbers would mean other frames) or the label does not exist at it.
    """
    from expotion_engine.media.probe import probe_video

    info = probe_video(path)
    if info.timecode is None:
        return None
    if not counts_at(info.fps, rate):
        raise TimecodeError(f"{os.fspath(path)} carries timecode {info.timecode} at {info.fps:g} frames/s, which "
                            f"does not count at the delivery's {rate.label} frames/s.")
    try:
        return FileTimecode(info.timecode, label_seconds(info.timecode, rate))
    except TimecodeError as exc:
        raise TimecodeError(f"{os.fspath(path)} carries timecode {info.timecode}, which cannot be read: "
                            f"{exc}") from None


__all__ = ["FileTimecode", "counts_at", "file_timecode", "label_frames", "label_rate", "label_seconds"]
