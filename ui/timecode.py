"""Time formatting and ruler tick spacing for the timeline (pure functions, no Qt)."""

from __future__ import annotations

import math

#: candidate tick spacings in seconds, from one frame-ish to ten minutes.
_STEPS = (0.04, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0)


def format_clock(seconds: float, decimals: int = 1) -> str:
    """``m:ss.t`` (or ``m:ss`` with ``decimals=0``) for ruler labels and readouts."""
    sign = "-" if seconds < 0 else ""
    scale = 10**decimals
    total = round(abs(seconds) * scale)
    minutes, rest = divmod(total, 60 * scale)
    width = 2 + (decimals + 1 if decimals else 0)
    return f"{sign}{minutes}:{rest / scale:0{width}.{decimals}f}"


def format_timecode(seconds: float, fps: float) -> str:
    """Non-drop-frame SMPTE-style ``HH:MM:SS:FF`` at the nearest whole frame rate."""
    rate = max(1, int(round(fps)))
    frames = int(round(max(seconds, 0.0) * fps))
    ff = frames % rate
    total = frames // rate
    return f"{total // 3600:02d}:{total // 60 % 60:02d}:{total % 60:02d}:{ff:02d}"


def tick_step(seconds_per_pixel: float, min_pixels: float = 70.0) -> float:
    """The smallest tick spacing (s) whose labels are at least ``min_pixels`` apart."""
    for step in _STEPS:
        if step / seconds_per_pixel >= min_pixels:
            return step
    return _STEPS[-1]


def ticks(start: float, end: float, step: float) -> list[float]:
    """Multiples of ``step`` within ``[start, end]``."""
    first = math.ceil(start / step - 1e-9)
    last = math.floor(end / step + 1e-9)
    return [round(k * step, 6) for k in range(first, last + 1)]
