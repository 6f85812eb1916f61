"""Turn beats, steady-tempo segments and the meter into a :class:`TempoMap`.

Music time 0 is beat 0 of the map, but the music's first beat rarely falls at 0, so the
map starts with a lead-in: a whole number of beats ending exactly on the first detected
beat, as many as keep its tempo nearest the first segment's and never more than
:data:`LEAD_IN_RANGE` times faster or slower (a DAW importing the map shows no 577 BPM
blip). When the first beat comes too early for even one such beat (under half a beat in),
the lead-in runs to the second beat instead: the map's beat 0 stands for the first
detected beat, which sounds a fraction of a beat after it, and every later beat is a
whole beat. Then every knot between segments lands on a whole beat, each segment's tempo
being the knot-to-knot average. The beats before the first downbeat (lead-in plus
pickup) form a short first bar, so bar lines in a DAW fall on the detected downbeats;
``anchor`` is the first downbeat's time on the map.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from expotion_engine.tempo.segments import Segment, knot_times
from expotion_engine.types import MeterChange, TempoChange, TempoMap

LEAD_IN_RANGE = 2.0  # the lead-in's tempo stays within 1/2x..2x of the first segment's
MIN_LEAD_IN_S = 0.005  # a first beat this close to 0 starts the map without a lead-in


@dataclass(frozen=True)
class LeadIn:
    """``beats`` whole map beats from 0 to ``end`` (s), which is detected beat ``first_beat``."""

    beats: int
    end: float
    first_beat: int

    @property
    def offset(self) -> int:
        """The map beat of detected beat 0."""
        return self.beats - self.first_beat


def lead_in(first_time: float, period: float) -> LeadIn:
    """The lead-in before a first beat at ``first_time`` s in a segment of ``period`` s per beat.

    It ends on the first detected beat with the whole number of beats whose tempo is
    nearest the segment's within :data:`LEAD_IN_RANGE`; when not even one beat fits (the
    first beat under ``1 / LEAD_IN_RANGE`` of a beat in) it is one beat ending on the
    second detected beat, between 1/1.5x and 1x the segment's tempo.
    """
    if first_time < MIN_LEAD_IN_S:
        return LeadIn(0, 0.0, 0)
    if LEAD_IN_RANGE * first_time < period:
        return LeadIn(1, first_time + period, 1)
    fewest = max(math.ceil(first_time / (LEAD_IN_RANGE * period)), 1)
    most = math.floor(LEAD_IN_RANGE * first_time / period)
    beats = min(range(fewest, most + 1), key=lambda n: abs(math.log(n * period / first_time)))
    return LeadIn(beats, first_time, 0)


def build_tempo_map(beats: np.ndarray, segments: list[Segment], beats_per_bar: int, first_downbeat: int) -> TempoMap:
    """The tempo map whose whole beats land on the knots and whose bars start on downbeats."""
    knots = knot_times(beats, segments)
    lead = lead_in(float(knots[0]), segments[0].period)
    tempos: list[TempoChange] = []
    if lead.beats:
        tempos.append(TempoChange(0.0, 60.0 * lead.beats / lead.end))
    starts = [lead.end, *knots[1:]]
    for j, segment in enumerate(segments):
        if j < len(segments) - 1:
            first = segment.first + (lead.first_beat if j == 0 else 0)
            bpm = 60.0 * (segment.last - first) / (starts[j + 1] - starts[j])
        else:
            bpm = 60.0 / segment.period
        tempos.append(TempoChange(float(starts[j]), float(bpm)))
    pickup = lead.offset + first_downbeat
    provisional = TempoMap(tuple(tempos))
    anchor = provisional.time_at(float(pickup))
    short_bar = pickup % beats_per_bar
    meters = [MeterChange(0.0, short_bar, 4)] if short_bar else []
    meters.append(MeterChange(provisional.time_at(float(short_bar)), beats_per_bar, 4))
    return TempoMap(tuple(tempos), tuple(meters), anchor)


__all__ = ["LEAD_IN_RANGE", "LeadIn", "build_tempo_map", "lead_in"]
