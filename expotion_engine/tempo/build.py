"""Turn beats, steady-tempo segments and the meter into a :class:`TempoMap`.

Music time 0 is beat 0 of the map, but the music's first beat rarely falls at 0, so the
map starts with a lead-in: a whole number of beats (the nearest to the first segment's
tempo) squeezed or stretched to end exactly on the first detected beat. Then every knot
between segments lands on a whole beat, each segment's tempo being the knot-to-knot
average. The beats before the first downbeat (lead-in plus pickup) form a short first
bar, so bar lines in a DAW fall on the detected downbeats; ``anchor`` is the first
downbeat's time.
"""

from __future__ import annotations

import numpy as np

from expotion_engine.tempo.segments import Segment, knot_times
from expotion_engine.types import MeterChange, TempoChange, TempoMap

MAX_LEAD_IN_BPM = 960.0


def build_tempo_map(beats: np.ndarray, segments: list[Segment], beats_per_bar: int, first_downbeat: int) -> TempoMap:
    """The tempo map whose whole beats land on the knots and whose bars start on downbeats."""
    knots = knot_times(beats, segments)
    tempos: list[TempoChange] = []
    first_time = float(knots[0])
    period = segments[0].period
    lead_beats = max(int(round(first_time / period)), 1)
    if first_time > 0 and 60.0 * lead_beats / first_time <= MAX_LEAD_IN_BPM:
        tempos.append(TempoChange(0.0, 60.0 * lead_beats / first_time))
    else:
        first_time, lead_beats = 0.0, 0
    starts = [first_time, *knots[1:]]
    for j, segment in enumerate(segments):
        if j < len(segments) - 1:
            bpm = 60.0 * (segment.last - segment.first) / (starts[j + 1] - starts[j])
        else:
            bpm = 60.0 / segment.period
        tempos.append(TempoChange(float(starts[j]), float(bpm)))
    pickup = lead_beats + first_downbeat
    provisional = TempoMap(tuple(tempos))
    anchor = provisional.time_at(float(pickup))
    short_bar = pickup % beats_per_bar
    meters = [MeterChange(0.0, short_bar, 4)] if short_bar else []
    meters.append(MeterChange(provisional.time_at(float(short_bar)), beats_per_bar, 4))
    return TempoMap(tuple(tempos), tuple(meters), anchor)


__all__ = ["build_tempo_map"]
