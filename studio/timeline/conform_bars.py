"""Joins at bar lines: which whole bars of the old take a recut keeps, and the bridges between them.

A span the conform plan keeps or moves is kept from its first old bar line to its last
(its music stays whole bars, so it stays musically continuous); what lies between two
kept spans, before the first or after the last, is a *bridge*: a whole number of beats
at a tempo within :data:`MAX_STRETCH` of the music around it (short bars take meter
changes), so the next kept span starts on its own downbeat. Where a bridge holds hits of
the recut, it bends into a tempo per stretch so each lands on a 16th of its grid. Where
no tempo within the limits fits, the bridge grows by a bar of its longer neighbour. The
tempo map of the recut is the kept spans' own map, shifted with them, and the bridges'.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from expotion_engine.types import MeterChange, TempoChange, TempoMap

#: the most a bridge's tempo may differ from the music it joins (fraction): a tempo change a listener accepts
MAX_STRETCH = 0.10
#: a hit lands on a bridge's 16th only this far (beats) from the bridge's ends
ANCHOR_MARGIN_BEATS = 0.125
#: the shortest ending after the last kept bar (s); its cadence also needs a bar line this far before the end
TAIL_S = 1.2


@dataclass(frozen=True)
class Keep:
    """New samples ``start..end`` copied from the old take at ``start + offset``; ``bars`` are its bar lines."""

    start: int
    end: int
    offset: int
    action: str
    bars: tuple[int, ...]


@dataclass(frozen=True)
class Bridge:
    """New samples ``start..end`` between kept bars: ``beats`` beats at the ``tempos`` (time s, BPM) it starts,
    the recut's hits it puts on a 16th (``anchors``, s) and its largest tempo change against the music it joins."""

    start: int
    end: int
    beats: float
    tempos: tuple[tuple[float, float], ...]
    anchors: tuple[float, ...]
    bend: float
    role: str  # "head", "join" or "tail"


@dataclass(frozen=True)
class BarPlan:
    """The recut as kept bars and bridges in sample order, and its tempo map."""

    segments: tuple[Keep | Bridge, ...]
    tempo_map: TempoMap

    @property
    def keeps(self) -> tuple[Keep, ...]:
        return tuple(s for s in self.segments if isinstance(s, Keep))

    @property
    def bridges(self) -> tuple[Bridge, ...]:
        return tuple(s for s in self.segments if isinstance(s, Bridge))

    @property
    def largest_bend(self) -> float:
        """The largest tempo change of any bridge against the music it joins (fraction, 0 when none)."""
        return max((b.bend for b in self.bridges), default=0.0)


def _keeps(copies: Sequence[tuple[int, int, int, str]], old_map: TempoMap, old_n: int, new_n: int,
           rate: int, ending: float | None) -> list[Keep]:
    """Each copied span cut down to the whole old bars it holds; the old ending (its bars from ``ending`` s on, and
    the tail after the last bar) only where the span also ends the recut."""
    bar_lines = sorted(round(t * rate) for t in old_map.downbeat_times(old_n / rate) if t * rate < old_n)
    keeps = []
    for start, end, old_start, action in copies:
        offset = old_start - start
        lo, hi = old_start, old_start + end - start
        ends = hi == old_n and end == new_n
        inside = [b for b in bar_lines if lo <= b <= hi and (ends or ending is None or b <= ending * rate)]
        if ends and (not inside or inside[-1] != old_n):
            inside.append(old_n)
        if len(inside) >= 2:
            keeps.append(Keep(inside[0] - offset, inside[-1] - offset, offset, action,
                              tuple(b - offset for b in inside)))
    return keeps


def _bpm_near(old_map: TempoMap, keep: Keep, at_end: bool, rate: int) -> float:
    """The old tempo where ``keep`` meets a bridge (the last beat before its end, or its start)."""
    if at_end:
        time = (keep.end + keep.offset) / rate
        return old_map.bpm_at(old_map.time_at(max(old_map.beat_at(time) - 1.0, 0.0)))
    return old_map.bpm_at((keep.start + keep.offset) / rate)


def _tempos(t0: float, t1: float, points: Sequence[float], ref: float, free_end: bool
            ) -> tuple[tuple[tuple[float, float], ...], float, float] | None:
    """Tempo changes, beats and largest bend near ``ref`` that put each point on a 16th and ``t1`` on a whole beat
    after ``t0`` (the stretch after the last point free with ``free_end``); None when a stretch does not fit within
    the limits."""
    edges = [t0, *points, t1]
    changes: list[tuple[float, float]] = []
    beats = bend = 0.0
    for i, (a, b) in enumerate(zip(edges, edges[1:], strict=False)):
        last = i == len(edges) - 2
        if free_end and last:
            changes.append((a, ref))
            beats += (b - a) * ref / 60.0
            continue
        if last:  # the bridge ends on a whole beat, the bar line of what follows
            count = round(beats + (b - a) * ref / 60.0) - beats
        else:
            count = round((b - a) * ref / 60.0 * 4) / 4
        if count < (1.0 if len(edges) == 2 else 0.25):
            return None
        bpm = 60.0 * count / (b - a)
        if abs(bpm / ref - 1.0) > MAX_STRETCH:
            return None
        changes.append((a, bpm))
        beats += count
        bend = max(bend, abs(bpm / ref - 1.0))
    return tuple(changes), beats, bend


def _bridge(start: int, end: int, ref: float, role: str, rate: int, anchors: Sequence[tuple[float, float]]
            ) -> Bridge | None:
    """The bridge over ``start..end`` near tempo ``ref`` with as many hits on its 16ths as fit (strongest first);
    None when no tempo within the limits fits."""
    t0, t1 = start / rate, end / rate
    tail = role == "tail"  # the ending is free after its last hit; whether its cadence has room is checked later
    if tail and t1 - t0 < TAIL_S:
        return None
    margin = ANCHOR_MARGIN_BEATS * 60.0 / ref
    chosen: list[float] = []
    for time, _ in sorted(anchors, key=lambda a: -a[1]):
        if t0 + margin <= time <= t1 - margin and _tempos(t0, t1, sorted([*chosen, time]), ref, tail) is not None:
            chosen = sorted([*chosen, time])
    fit = _tempos(t0, t1, chosen, ref, tail)
    if fit is None:
        return None
    tempos, beats, bend = fit
    return Bridge(start, end, beats, tempos, tuple(chosen), bend, role)


def _bridge_bars(beat: float, bridge: Bridge, numerator: int) -> list[tuple[float, int]]:
    """A bridge's bars from ``beat`` on: a short bar up to the next whole bar of the count from 0 (so that a score
    composed on the map, which counts bars from 0, has its bar lines where the bridge has them), whole bars, and a
    short bar where the bridge ends between two."""
    first = (-round(beat)) % numerator
    beats = round(bridge.beats)
    if bridge.role != "tail" and first >= beats:
        return [(beat, beats)]
    out = [(beat, first)] if first else []
    if bridge.role == "tail":
        return [*out, (beat + first, numerator)]
    whole, rest = divmod(beats - first, numerator)
    if whole:
        out.append((beat + first, numerator))
    if rest:
        out.append((beat + first + whole * numerator, rest))
    return out


def _tempo_map(segments: Sequence[Keep | Bridge], old_map: TempoMap, numerator: int, rate: int) -> TempoMap:
    """The recut's map: each kept span's old tempos shifted with it, each bridge's own, meters on the bar lines."""
    changes: list[TempoChange] = []
    bars: list[tuple[float, int]] = []  # (beat, numerator) where a bar of that meter starts
    beat = 0.0
    for seg in segments:
        if isinstance(seg, Keep):
            old_t0, old_t1 = (seg.start + seg.offset) / rate, (seg.end + seg.offset) / rate
            near = 1.0 / rate  # a tempo or meter change within a sample of the bar line is that bar's
            # the old tempos move with the exact old bar line, not its sample, so the kept bars keep whole beats
            shift = old_map.time_at(round(old_map.beat_at(old_t0))) - seg.start / rate
            changes.append(TempoChange(seg.start / rate, old_map.bpm_at(old_t0 + near)))
            changes += [TempoChange(c.time - shift, c.bpm) for c in old_map.tempos
                        if old_t0 + near < c.time < old_t1 - near]
            first = old_map.beat_at(old_t0)
            bars.append((beat, old_map.meter_at(old_t0 + near).numerator))
            bars += [(beat + old_map.beat_at(m.time) - first, m.numerator) for m in old_map.meters
                     if old_t0 + near < m.time < old_t1 - near]
            beat += round(old_map.beat_at(old_t1) - first, 6)
        else:
            changes += [TempoChange(t, bpm) for t, bpm in seg.tempos]
            bars += _bridge_bars(beat, seg, numerator)
            beat += seg.beats
    plain = TempoMap(tuple(changes))
    meters: list[MeterChange] = []
    for at, count in bars:  # on whole beats, where the map's bar count (whole beats from 0) finds them
        if not meters or meters[-1].numerator != count:
            meters.append(MeterChange(plain.time_at(round(at)), count, 4))
    return TempoMap(tuple(changes), tuple(meters) or (MeterChange(0.0, numerator, 4),), 0.0)


def _cadence_fits(last: Keep | Bridge, tempo_map: TempoMap, numerator: int, duration: float, rate: int) -> bool:
    """Whether a re-planned ending has a bar line for its final cadence with room for the release after it
    (as :func:`expotion_engine.engines.procedural.replan.fixed_fit` places it); a kept old ending needs none."""
    if isinstance(last, Keep):
        return True
    beat_s = 60.0 / tempo_map.bpm_at(duration)
    latest = duration - min(max(1.5 * beat_s, TAIL_S), 0.2 * duration)
    first_bar = math.ceil(tempo_map.beat_at(last.start / rate) / numerator - 1e-6) * numerator
    return tempo_map.time_at(first_bar) <= latest


def _grow(keeps: list[Keep], gap: int) -> None:
    """Give bridge ``gap`` (0: before the first keep) one more bar of its longer neighbour (dropping an emptied one)."""
    left = keeps[gap - 1] if gap > 0 else None
    right = keeps[gap] if gap < len(keeps) else None
    take_left = right is None or (left is not None and left.end - left.start >= right.end - right.start)
    if take_left:
        i = gap - 1
        bars = left.bars[:-1]
        keeps[i] = Keep(left.start, bars[-1], left.offset, left.action, bars) if len(bars) >= 2 else None
    else:
        i = gap
        bars = right.bars[1:]
        keeps[i] = Keep(bars[0], right.end, right.offset, right.action, bars) if len(bars) >= 2 else None
    if keeps[i] is None:
        del keeps[i]


def plan_bars(copies: Sequence[tuple[int, int, int, str]], old_map: TempoMap, old_n: int, new_n: int, rate: int,
              anchors: Sequence[tuple[float, float]] = (), ending: float | None = None) -> BarPlan:
    """Kept bars and bridges for the copied spans ``(new start, new end, old start, action)`` of a recut.

    ``anchors`` are the recut's hits ``(time s, strength)`` a bridge should land on its grid;
    ``ending`` is where the old take's ending begins (its slowing into the final cadence,
    s): those bars are kept only at the end of the recut.
    """
    numerator = old_map.meters[0].numerator
    keeps = sorted(_keeps(copies, old_map, old_n, new_n, rate, ending), key=lambda k: k.start)
    while True:
        segments: list[Keep | Bridge] = []
        cursor, failed = 0, None
        for i in range(len(keeps) + 1):
            end = keeps[i].start if i < len(keeps) else new_n
            if end > cursor:
                role = "tail" if end == new_n else "head" if cursor == 0 else "join"
                if i == 0 and not keeps:
                    ref = old_map.bpm_at(0.0)
                elif i == len(keeps):
                    ref = _bpm_near(old_map, keeps[-1], True, rate)
                elif i == 0:
                    ref = _bpm_near(old_map, keeps[0], False, rate)
                else:
                    ref = 0.5 * (_bpm_near(old_map, keeps[i - 1], True, rate)
                                 + _bpm_near(old_map, keeps[i], False, rate))
                bridge = _bridge(cursor, end, ref, role, rate, anchors)
                if bridge is None:
                    if keeps:
                        failed = i
                        break
                    bridge = Bridge(cursor, end, (end - cursor) / rate * ref / 60.0, ((cursor / rate, ref),),
                                    (), 0.0, "tail")
                segments.append(bridge)
            if i < len(keeps):
                segments.append(keeps[i])
                cursor = keeps[i].end
        if failed is None:
            tempo_map = _tempo_map(segments, old_map, numerator, rate)
            if not keeps or _cadence_fits(segments[-1], tempo_map, numerator, new_n / rate, rate):
                return BarPlan(tuple(segments), tempo_map)
            failed = len(keeps)
        _grow(keeps, failed)


__all__ = ["ANCHOR_MARGIN_BEATS", "MAX_STRETCH", "TAIL_S", "BarPlan", "Bridge", "Keep", "plan_bars"]
