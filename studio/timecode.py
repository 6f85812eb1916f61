"""SMPTE timecode: rates, drop frame, parse and format; the one implementation every exporter uses.

A timecode rate is one of the SMPTE counting rates (23.976, 24, 25, 29.97, 30, 47.952,
48, 50, 59.94, 60; 29.97 and 59.94 drop frame unless declared ``ndf``). A video at
any other frame rate (10, 12, 12.5, 15 fps from security cameras and screen recordings)
is counted at a declared rate (``--timecode-rate``); without one, :func:`choose_rate`
picks the nearest delivery rate (:data:`DELIVERY_RATES`, all but 47.952 and 48) that
counts each video frame as a whole number of timecode frames (10 -> 30, 12 -> 24,
12.5 -> 25, 15 -> 30, 20 -> 60), else the nearest non-drop rate, and says which.

Seconds are timecode seconds since midnight: a frame number is ``seconds * rate``
rounded to the nearest frame, halves up (:func:`to_frame`, the one rounding rule for
markers and edits), and the label is that frame counted at the rate's nominal
frames per second (with drop-frame skipping for 29.97 and 59.94 DF).
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from fractions import Fraction

from expotion_engine.errors import ExpotionError

log = logging.getLogger(__name__)

#: SMPTE rates as written (frames per second); NTSC ones are n * 1000/1001
SMPTE_RATES = (23.976, 24.0, 25.0, 29.97, 30.0, 47.952, 48.0, 50.0, 59.94, 60.0)
#: the rates every delivery format can write (FCPXML knows no 47.952/48 timecode)
DELIVERY_RATES = (23.976, 24.0, 25.0, 29.97, 30.0, 50.0, 59.94, 60.0)
_NTSC = {23.976: 24, 29.97: 30, 47.952: 48, 59.94: 60}
_DROP_CAPABLE = (29.97, 59.94)
_TOLERANCE = 0.01


class TimecodeError(ExpotionError):
    """A timecode rate or label that cannot be used."""


@dataclass(frozen=True)
class TimecodeRate:
    """A timecode counting rate: ``nominal`` frames per labelled second, real ``rate``, drop frame or not."""

    nominal: int
    ntsc: bool = False
    drop_frame: bool = False

    def __post_init__(self) -> None:
        if self.nominal not in (24, 25, 30, 48, 50, 60) or (self.ntsc and self.nominal not in _NTSC.values()):
            raise TimecodeError(f"{self.nominal} is not an SMPTE timecode rate.")
        if self.drop_frame and not (self.ntsc and self.nominal in (30, 60)):
            raise TimecodeError("Drop frame exists only at 29.97 and 59.94 frames/s.")

    @property
    def rate(self) -> Fraction:
        """Real frames per second (30000/1001 for 29.97)."""
        return Fraction(self.nominal * 1000, 1001) if self.ntsc else Fraction(self.nominal)

    @property
    def fps(self) -> float:
        """Real frames per second as a float."""
        return float(self.rate)

    @property
    def written(self) -> float:
        """The rate as people write it: 23.976, 29.97, 25, ..."""
        return round(self.fps, 3) if self.ntsc else float(self.nominal)

    @property
    def label(self) -> str:
        """``"29.97 DF"``, ``"29.97 NDF"``, ``"25"``: what logs and delivery notes show."""
        text = f"{self.written:g}"
        if self.nominal in (30, 60) and self.ntsc:
            text += " DF" if self.drop_frame else " NDF"
        return text

    @property
    def spec(self) -> str:
        """The canonical option/session text (``"29.97"``, ``"29.97ndf"``, ``"25"``) that :func:`parse_rate` reads."""
        text = f"{self.written:g}"
        return text + "ndf" if self.ntsc and self.nominal in (30, 60) and not self.drop_frame else text

    @property
    def separator(self) -> str:
        """``;`` before the frames in drop-frame labels, ``:`` otherwise."""
        return ";" if self.drop_frame else ":"

    @property
    def _dropped(self) -> int:
        return self.nominal // 15 if self.drop_frame else 0  # 2 at 29.97, 4 at 59.94


def smpte_rate(fps: float) -> TimecodeRate | None:
    """The SMPTE rate ``fps`` is (within 0.01 fps; 29.97 and 59.94 drop frame), or None."""
    for written in SMPTE_RATES:
        if abs(fps - written) <= _TOLERANCE or (written in _NTSC and abs(fps - _NTSC[written] / 1.001) <= _TOLERANCE):
            if written in _NTSC:
                return TimecodeRate(_NTSC[written], ntsc=True, drop_frame=written in _DROP_CAPABLE)
            return TimecodeRate(int(written))
    return None


def parse_rate(text: str | float) -> TimecodeRate:
    """A declared rate: ``25``, ``29.97`` (drop frame), ``29.97ndf``, ``59.94df``, ``30000/1001``."""
    raw = str(text).strip().lower().replace(" ", "")
    match = re.fullmatch(r"([0-9./]+)(df|ndf)?", raw)
    rate = None
    if match:
        number = match.group(1)
        try:
            value = float(Fraction(number)) if "/" in number else float(number)
        except (ValueError, ZeroDivisionError):
            value = -1.0
        rate = smpte_rate(value)
    if rate is None:
        raise TimecodeError(
            f"Timecode rate {str(text)!r} is not an SMPTE rate; choose one of "
            f"{', '.join(f'{r:g}' for r in SMPTE_RATES)} (29.97 and 59.94 may end in df or ndf)."
        )
    if match and match.group(2):
        if rate.nominal not in (30, 60) or not rate.ntsc:
            raise TimecodeError(f"Timecode rate {str(text)!r}: drop frame exists only at 29.97 and 59.94.")
        rate = TimecodeRate(rate.nominal, ntsc=True, drop_frame=match.group(2) == "df")
    return rate


@dataclass(frozen=True)
class RateChoice:
    """The timecode rate a video is counted at, and whether it differs from the video's own frame rate."""

    rate: TimecodeRate
    fps: float
    declared: bool

    @property
    def mapped(self) -> bool:
        """True when the video's frame rate is not itself this SMPTE rate."""
        own = smpte_rate(self.fps)
        return own is None or own.nominal != self.rate.nominal or own.ntsc != self.rate.ntsc

    @property
    def note(self) -> str:
        """One sentence for logs, the CLI and the delivery notes."""
        if not self.mapped:
            return f"timecode at {self.rate.label} frames/s (the video's rate)"
        how = "as declared" if self.declared else "chosen automatically; set --timecode-rate to change it"
        return f"the video's {self.fps:g} frames/s is counted as {self.rate.label} frames/s timecode ({how})"


def choose_rate(fps: float, declared: str | float | None = None) -> RateChoice:
    """The timecode rate for a video at ``fps``: ``declared`` when given, else the video's own rate
    when deliveries can use it, else the nearest delivery rate counting each video frame as whole
    timecode frames, else the nearest non-drop one (48 fps -> 50)."""
    if not (math.isfinite(fps) and fps > 0):
        raise TimecodeError(f"Frame rate {fps!r} must be a positive number of frames/s.")
    if declared not in (None, ""):
        return RateChoice(parse_rate(declared), fps, declared=True)  # type: ignore[arg-type]
    own = smpte_rate(fps)
    if own is not None and own.written in DELIVERY_RATES:
        return RateChoice(own, fps, declared=False)
    integer = (24, 25, 30, 50, 60)
    multiples = [n for n in integer if abs(n / fps - round(n / fps)) < 1e-6]
    nominal = min(multiples or integer, key=lambda n: (abs(n - fps), n))
    return RateChoice(TimecodeRate(nominal), fps, declared=False)


def check_delivery_rate(rate: TimecodeRate) -> TimecodeRate:
    """``rate``, or :class:`TimecodeError` where deliveries cannot use it: 47.952 and 48 (FCPXML has
    no such timecode) and non-drop 29.97/59.94 (the editor formats' writers count those as drop frame)."""
    if rate.written not in DELIVERY_RATES:
        raise TimecodeError(
            f"Timecode rate {rate.label} is not offered for deliveries (FCPXML has no such timecode); choose one of "
            f"{', '.join(f'{r:g}' for r in DELIVERY_RATES)}."
        )
    if rate.ntsc and rate.nominal in (30, 60) and not rate.drop_frame:
        raise TimecodeError(
            f"Timecode rate {rate.label} is not offered for deliveries: the editor formats count "
            f"{rate.written:g} as drop frame; use {rate.written:g}."
        )
    return rate


def to_frame(seconds: float, rate: TimecodeRate) -> int:
    """The frame nearest ``seconds`` at ``rate``, halves rounded up (the one rounding rule)."""
    return math.floor(seconds * rate.rate + Fraction(1, 2) + Fraction(1, 10**6)) if math.isfinite(seconds) else 0


def frame_seconds(frame: int, rate: TimecodeRate) -> float:
    """Seconds of frame number ``frame`` at ``rate``."""
    return float(Fraction(frame) / rate.rate)


def _label_frames(frame: int, rate: TimecodeRate) -> int:
    """``frame`` as the number the label counts (drop frame skips labels, not frames)."""
    drop = rate._dropped
    if not drop:
        return frame
    per_ten = rate.nominal * 600 - drop * 9
    per_minute = rate.nominal * 60 - drop
    tens, rest = divmod(frame, per_ten)
    skipped = drop * 9 * tens + (drop * ((rest - drop) // per_minute) if rest > drop else 0)
    return frame + skipped


def format_frames(frame: int, rate: TimecodeRate) -> str:
    """``HH:MM:SS:FF`` (``;FF`` in drop frame) of frame number ``frame``, wrapping at 24 hours."""
    per_day = 144 * (rate.nominal * 600 - rate._dropped * 9)  # labels in 24 hours
    count = _label_frames(frame % per_day, rate)
    seconds, frames = divmod(count, rate.nominal)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours % 24:02d}:{minutes:02d}:{seconds:02d}{rate.separator}{frames:02d}"


def format_timecode(seconds: float, rate: TimecodeRate) -> str:
    """The label of the frame nearest ``seconds`` (timecode seconds since midnight)."""
    return format_frames(to_frame(seconds, rate), rate)


def parse_frames(text: str, rate: TimecodeRate) -> int:
    """Frame number of label ``HH:MM:SS:FF`` (``;`` or ``.`` before frames allowed) at ``rate``."""
    if not re.fullmatch(r"\d{1,2}[:;.]\d{1,2}[:;.]\d{1,2}[:;.]\d{1,3}", text.strip()):
        raise TimecodeError(f"Timecode {text!r} is not HH:MM:SS:FF.")
    hours, minutes, seconds, frames = (int(p) for p in re.split(r"[:;.]", text.strip()))
    if not (0 <= hours < 24 and 0 <= minutes < 60 and 0 <= seconds < 60 and 0 <= frames < rate.nominal):
        raise TimecodeError(
            f"Timecode {text!r} is out of range at {rate.label} fps (hours 0-23, frames 0-{rate.nominal - 1})."
        )
    drop = rate._dropped
    if drop and seconds == 0 and minutes % 10 and frames < drop:
        raise TimecodeError(f"Timecode {text!r} does not exist in drop frame (labels {drop - 1} and below skipped).")
    total_minutes = hours * 60 + minutes
    count = (total_minutes * 60 + seconds) * rate.nominal + frames
    return count - drop * (total_minutes - total_minutes // 10)


#: one timecode day: labels run from 00:00:00:00 to just under 24:00:00:00 and never wrap
DAY_SECONDS = 86400


def parse_timecode(text: str, rate: TimecodeRate) -> float:
    """Seconds of ``HH:MM:SS:FF`` at ``rate``, or of a plain number of seconds."""
    stripped = text.strip()
    if not re.search(r"[:;]", stripped):
        try:
            value = float(stripped)
        except ValueError:
            raise TimecodeError(f"Timecode {text!r} is not HH:MM:SS:FF or a number of seconds.") from None
        if not (math.isfinite(value) and 0 <= value < DAY_SECONDS):
            raise TimecodeError(f"Timecode {text!r} must be >= 0 s and under 24 hours ({DAY_SECONDS} s); "
                                "timecode does not wrap past 23:59:59.")
        return value
    return frame_seconds(parse_frames(stripped, rate), rate)
