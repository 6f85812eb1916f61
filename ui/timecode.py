"""Time formatting and ruler tick spacing for the timeline (pure functions, no Qt).

SMPTE labels come from :mod:`studio.timecode` (the one implementation every exporter uses),
so what the window shows is what a delivery writes, drop frame included.
"""

from __future__ import annotations

import math

from studio import timecode as smpte
from studio.timecode import TimecodeRate

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


def format_timecode(seconds: float, rate: TimecodeRate) -> str:
    """``HH:MM:SS:FF`` (``;FF`` in drop frame) of the frame nearest ``seconds``, as studio labels it."""
    return smpte.format_timecode(max(seconds, 0.0), rate)


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
