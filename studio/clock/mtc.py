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
#: the rate code of 30 fps drop frame (29.97 DF), sent for a drop-frame session at --mtc 30
DROP_FRAME_CODE = 2
#: 29.97 drop frame, whose labels a drop-frame MTC counts
_DROP_FRAME = TimecodeRate(30, ntsc=True, drop_frame=True)


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


def timecode_fields(frame: int, fps: int, drop: bool = False) -> tuple[int, int, int, int]:
    """``(hours, minutes, seconds, frames)`` of absolute frame number ``frame`` (labelled in drop frame with
    ``drop``, at 30 fps); hours wrap at 24."""
    if drop:
        hours, minutes, seconds, frames = map(int, format_frames(frame, _DROP_FRAME).replace(";", ":").split(":"))
        return hours, minutes, seconds, frames
    total_seconds, frames = divmod(frame, fps)
    minutes_total, seconds = divmod(total_seconds, 60)
    hours, minutes = divmod(minutes_total, 60)
    return hours % 24, minutes, seconds, frames


def format_timecode(seconds: float, fps: int, drop: bool = False) -> str:
    """``HH:MM:SS:FF`` (``;FF`` with ``drop``) of the frame that holds ``seconds`` counted at ``fps`` frames a
    second (the frame playing, not the nearest)."""
    return format_frames(int(math.floor(seconds * fps + 1e-6)), _DROP_FRAME if drop else TimecodeRate(fps))


def _code(fps: int, drop: bool) -> int:
    return DROP_FRAME_CODE if drop else MTC_RATES[fps]


def quarter_frame_value(piece: int, frame: int, fps: int, drop: bool = False) -> int:
    """The 4-bit value of quarter-frame ``piece`` (0-7) for absolute frame number ``frame``."""
    hours, minutes, seconds, frames = timecode_fields(frame, fps, drop)
    values = (
        frames & 0x0F, frames >> 4,
        seconds & 0x0F, seconds >> 4,
        minutes & 0x0F, minutes >> 4,
        hours & 0x0F, (_code(fps, drop) << 1) | (hours >> 4),
    )
    return values[piece]


def full_frame_data(frame: int, fps: int, drop: bool = False) -> tuple[int, ...]:
    """SysEx data (without F0/F7) of the MTC full-frame message that locates to ``frame``."""
    hours, minutes, seconds, frames = timecode_fields(frame, fps, drop)
    return (0x7F, 0x7F, 0x01, 0x01, (_code(fps, drop) << 5) | hours, minutes, seconds, frames)
