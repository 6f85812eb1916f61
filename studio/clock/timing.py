"""The clock's timing core: a tempo map and a range in, timestamped MIDI real-time messages out.

Pure and hardware-free, so every timestamp can be checked against the tempo map. MIDI
clock runs at 24 ticks per quarter note; the slave plays from the Song Position Pointer
(counted in 16th notes) at the first tick after Start/Continue, so playback starts at
the first 16th note at or after ``start``. Times are seconds of music time.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

import mido

from expotion_engine.types import TempoMap
from studio.clock.errors import ClockError
from studio.clock.mtc import full_frame_data, mtc_rate, quarter_frame_value

MIDI_CLOCK_PPQN = 24
SPP_MAX = 16383  # 14-bit Song Position Pointer, in 16th notes
_EPS = 1e-9
# Messages due at the same instant go out locate first, then transport, then ticks, then Stop.
_ORDER = {"sysex": 0, "songpos": 1, "start": 2, "continue": 2, "clock": 3, "quarter_frame": 4, "stop": 5}


@dataclass(frozen=True, eq=False)
class TimedMessage:
    """One MIDI message due at ``time`` seconds of music time; ``beat`` is its quarter-note position."""

    time: float
    message: mido.Message
    beat: float | None = None

    @property
    def kind(self) -> str:
        return self.message.type


def first_clock_beat(tempo_map: TempoMap, start: float) -> float:
    """Quarter-note position where a clock started at ``start`` plays from: the next 16th note."""
    return math.ceil(tempo_map.beat_at(start) * 4.0 - 1e-6) / 4.0


def clock_messages(
    tempo_map: TempoMap,
    start: float,
    end: float,
    *,
    ppqn: int = MIDI_CLOCK_PPQN,
    mtc: int | str | None = None,
    timecode: float = 0.0,
    speed: float = 1.0,
    drop_frame: bool = False,
) -> list[TimedMessage]:
    """Every message a clock master sends from ``start`` to ``end`` (seconds), in send order.

    Song Position Pointer at ``start``; Start (from the top) or Continue (elsewhere) and
    then a tick every ``1/ppqn`` quarter note, tick ``k`` at ``tempo_map.time_at(b0 + k/ppqn)``
    with ``b0`` the first 16th note at or after ``start``; Stop at ``end``. With ``mtc`` (24,
    25 or 30 fps), MIDI Time Code too: a full-frame locate at ``start`` and quarter frames
    four per frame, music time ``t`` being timecode ``timecode + speed * t`` seconds (``speed`` 1000/1001
    counts a 23.976 or 29.97 video's frames at 24 or 30: the timecode runs with the picture's labels;
    ``drop_frame`` labels and marks them as 29.97 drop frame, at ``mtc`` 30).
    """
    if not (math.isfinite(start) and math.isfinite(end) and 0.0 <= start < end):
        raise ClockError(f"Clock range {start!r}..{end!r} s is empty or negative; start must be >= 0 and < end.")
    if int(ppqn) != ppqn or ppqn < 1:
        raise ClockError(f"Clock resolution {ppqn!r} must be a whole number of ticks per quarter note.")
    first_beat = first_clock_beat(tempo_map, start)
    position = int(round(first_beat * 4.0))
    if position > SPP_MAX:
        raise ClockError(
            f"Start {start:.3f} s is 16th note {position}, past {SPP_MAX}, the last a Song Position Pointer can name."
        )
    events: list[TimedMessage] = [TimedMessage(start, mido.Message("songpos", pos=position), first_beat)]
    first_time = tempo_map.time_at(first_beat)
    if first_time < end - _EPS:
        transport = "start" if position == 0 else "continue"
        events.append(TimedMessage(first_time, mido.Message(transport), first_beat))
        k = 0
        while True:
            beat = first_beat + k / ppqn
            time = tempo_map.time_at(beat)
            if time >= end - _EPS:
                break
            events.append(TimedMessage(time, mido.Message("clock"), beat))
            k += 1
    if mtc is not None:
        fps = mtc_rate(mtc)
        if drop_frame and fps != 30:
            raise ClockError(f"Drop-frame MIDI Time Code is sent at 30 fps (29.97 DF), not {fps}.")
        events.extend(_mtc_messages(fps, start, end, timecode, speed, drop_frame))
    events.append(TimedMessage(end, mido.Message("stop"), tempo_map.beat_at(end)))
    order = {id(e): i for i, e in enumerate(events)}
    return sorted(events, key=lambda e: (e.time, _ORDER[e.kind], order[id(e)]))


def _mtc_messages(fps: int, start: float, end: float, timecode: float, speed: float,
                  drop: bool) -> list[TimedMessage]:
    """A full-frame locate at ``start``, then quarter frames from the next frame boundary to ``end``."""
    if not (math.isfinite(timecode) and timecode >= 0.0):
        raise ClockError(f"Timecode offset {timecode!r} s must be >= 0.")
    located = int(math.floor((timecode + speed * start) * fps + 1e-6))
    out = [TimedMessage(start, mido.Message("sysex", data=full_frame_data(located, fps, drop)))]
    first_frame = int(math.ceil((timecode + speed * start) * fps - 1e-6))
    j = 0
    while True:
        time = ((4 * first_frame + j) / (4.0 * fps) - timecode) / speed
        if time >= end - _EPS:
            break
        piece = j % 8
        value = quarter_frame_value(piece, first_frame + 2 * (j // 8), fps, drop)
        out.append(TimedMessage(time, mido.Message("quarter_frame", frame_type=piece, frame_value=value)))
        j += 1
    return out


class BarPosition:
    """``bar.beat`` labels of music times, bar 1 at the tempo map's first downbeat, in its meters."""

    def __init__(self, tempo_map: TempoMap, end: float) -> None:
        self._map = tempo_map
        downbeats = tempo_map.downbeat_times(max(end, tempo_map.anchor)).tolist()
        self._downbeats = downbeats or [tempo_map.anchor]

    def bar_beat(self, time: float) -> tuple[int, int]:
        """1-based ``(bar, beat)`` holding ``time``; bar 0 and below are before the first downbeat."""
        i = max(bisect.bisect_right(self._downbeats, time + _EPS) - 1, 0)
        downbeat = self._downbeats[i]
        meter = self._map.meter_at(downbeat)
        units = (self._map.beat_at(time) - self._map.beat_at(downbeat)) * meter.denominator / 4.0
        extra = math.floor(units / meter.numerator + _EPS)
        return i + 1 + extra, int(math.floor(units - extra * meter.numerator + 1e-6)) + 1

    def __call__(self, time: float) -> str:
        bar, beat = self.bar_beat(time)
        return f"{bar}.{beat}"
