"""MIDI Time Code: timecode strings, quarter-frame pieces and the full-frame locate message.

Non-drop rates only (24, 25 and 30 fps). An 8-piece quarter-frame cycle spans two frames
and encodes the frame at which its first piece is sent, as the MTC specification says.
"""

from __future__ import annotations

import math

from studio.clock.errors import ClockError
from studio.timecode import TimecodeError, TimecodeRate, format_frames, frame_seconds, parse_frames

# Frame rate -> the 2-bit rate code carried in quarter frame 7 and the full-frame hours byte.
MTC_RATES: dict[int, int] = {24: 0, 25: 1, 30: 3}


def mtc_rate(value: int | str) -> int:
    """The frame rate named by ``value`` (``24``, ``"25"``, ``"30"``); a ClockError otherwise."""
    try:
        fps = int(str(value).strip())
    except ValueError:
        fps = -1
    if fps not in MTC_RATES:
        raise ClockError(f"MTC rate {value!r} is not offered; choose one of {', '.join(map(str, MTC_RATES))} fps.")
    return fps


def parse_timecode(text: str, fps: int) -> float:
    """Seconds at timecode ``HH:MM:SS:FF`` at ``fps`` frames per second (non-drop; :mod:`studio.timecode`)."""
    rate = TimecodeRate(fps)
    try:
        return frame_seconds(parse_frames(text, rate), rate)
    except TimecodeError as exc:
        raise ClockError(str(exc)) from None


def timecode_fields(frame: int, fps: int) -> tuple[int, int, int, int]:
    """``(hours, minutes, seconds, frames)`` of absolute frame number ``frame``; hours wrap at 24."""
    total_seconds, frames = divmod(frame, fps)
    minutes_total, seconds = divmod(total_seconds, 60)
    hours, minutes = divmod(minutes_total, 60)
    return hours % 24, minutes, seconds, frames


def format_timecode(seconds: float, fps: int) -> str:
    """``HH:MM:SS:FF`` of the frame that holds ``seconds`` (the frame playing, not the nearest)."""
    return format_frames(int(math.floor(seconds * fps + 1e-6)), TimecodeRate(fps))


def quarter_frame_value(piece: int, frame: int, fps: int) -> int:
    """The 4-bit value of quarter-frame ``piece`` (0-7) for absolute frame number ``frame``."""
    hours, minutes, seconds, frames = timecode_fields(frame, fps)
    values = (
        frames & 0x0F, frames >> 4,
        seconds & 0x0F, seconds >> 4,
        minutes & 0x0F, minutes >> 4,
        hours & 0x0F, (MTC_RATES[fps] << 1) | (hours >> 4),
    )
    return values[piece]


def full_frame_data(frame: int, fps: int) -> tuple[int, ...]:
    """SysEx data (without F0/F7) of the MTC full-frame message that locates to ``frame``."""
    hours, minutes, seconds, frames = timecode_fields(frame, fps)
    return (0x7F, 0x7F, 0x01, 0x01, (MTC_RATES[fps] << 5) | hours, minutes, seconds, frames)
