"""The tempo map bent to the hits, as a film composer fits them.

Each hit may land on any 16th of the grid, preferably a downbeat, then a beat, an 8th;
between two fitted hits the tempo is constant (or, with ``rubato``, eases into the
hit), never further than ``max_bend`` from the base tempo, and neighbouring segments
are kept close to each other. A dynamic programme over the hits (in time order) finds
the placement with the least bending and the fewest hits left unfitted, strong hits and
user cues counting most; when the motion set the tempo, its strongest onsets are weak
extra points on whole beats, so the beats fall on the gestures. The map ends in a
ritardando onto a final downbeat before the range end (its cost is part of the fit),
which lands on a late strong hit when one is there. Every tempo before that ritardando
stays inside the band ``bounds`` widened by ``max_bend`` (and around a requested tempo
outside them): bends, nudges and the stretch into the cadence never leave it, so a
preset keeps its advertised range; ``ritardando`` 0 ends on the running tempo.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from expotion_engine.engines.procedural.hits import Hit
from expotion_engine.types import MeterChange, TempoChange, TempoMap

#: cost of a hit's grid position: downbeat, beat, 8th, 16th
GRID_COSTS = (0.0, 0.15, 0.35, 0.6)
#: weights: bending, tempo steps between neighbouring segments, leaving a hit unfitted (per unit of strength),
#: leaving a user cue unfitted, moving the base tempo over the whole search range
W_BEND, W_SMOOTH, W_SKIP, W_CUE, W_BASE = 1.0, 0.5, 3.0, 20.0, 1.5
#: with strong hits to land, the base tempo may move this far (fraction, inside the preset's range) where that fits
#: them better; moving it by BASE_NORM costs W_BASE
HIT_SEARCH, BASE_NORM = 0.2, 0.12
#: the base tempo is searched in steps of about this fraction, then in quarter steps around the best
COARSE_STEP = 0.025
#: cost of leaving a motion pulse (weight 1) off the beat
W_PULSE = 0.8
#: where a fitted hit's accent may sit against its accent time (s): on it, or a little late (never more than 10 ms
#: early, sound before picture being what viewers notice), each shift costing up to W_SHIFT; leaving a strong hit
#: unfitted costs W_STRONG more
ACCENT_SHIFTS_S, W_SHIFT, W_STRONG = (-0.01, 0.0, 0.01, 0.02, 0.03), 1.0, 2.0
#: a stretch between two fitted points may move its end this much (s) against a steady tempo even where that bends
#: it more than ``max_bend``: a short push or pull, as a conductor gives a hit, never a lasting tempo change (none
#: where ``max_bend`` is 0: the grid is then rigid)
NUDGE_S = 0.04
#: how many earlier hits a segment may reach back over (the ones between are left unfitted)
LOOKBACK = 6
#: shortest stretch (beats) between two fitted hits, and how far (beats) from the unbent grid a hit may move
MIN_SEGMENT_BEATS, WINDOW_BEATS = 0.5, 1.5
#: hits at least this strong (0..1) may become the final cadence, and what landing the cadence on one is worth
CADENCE_HIT, CADENCE_BONUS = 0.5, 2.0
#: the stretch into a cadence on a hit may bend this many times ``max_bend`` (the last bars are already slowing)
CADENCE_STRETCH = 1.5
#: the final cadence comes at least this long (s) after the last strong hit when it does not fall on it
CLEAR_CADENCE_S = 0.12
#: the base tempo is searched at least this far (fraction) when it is free, even where the map may not bend
BASE_SEARCH = 0.06
#: the held final chord slows by this share of ``ritardando`` beyond the last bar's ritardando
HOLD_SLOWING = 2 / 3
#: on a rigid grid (``max_bend`` 0) a candidate accent time stands for the 16th this near it (s): half the step of
#: ACCENT_SHIFTS_S, so every accent time the shifts allow has its candidate
RIGID_REACH_S = 0.005
#: cost of an ending with no cadence in its window (the next downbeat at the base tempo): a last resort
NO_ROOM_COST = 1e6
#: tolerance (s) of the legacy "on a beat" count of the report
ON_BEAT_S = 0.025


@dataclass(frozen=True)
class Placement:
    """Where the fit put one hit: its accent's quarter-note position on the 16th grid, or None when not fitted."""

    hit: Hit
    beat: float | None

    @property
    def fitted(self) -> bool:
        return self.beat is not None


@dataclass(frozen=True)
class FitResult:
    """A fitted tempo map, where the final cadence falls, each hit's placement and the fit's report."""

    tempo_map: TempoMap
    cadence_time: float
    cadence_beat: int
    placements: tuple[Placement, ...]
    report: dict


def grid_cost(beat: float, numerator: int) -> float:
    """How plain a 16th position is: 0 on a downbeat, more on a beat, an 8th, a 16th."""
    q = int(round(beat * 4))
    if q % (4 * numerator) == 0:
        return GRID_COSTS[0]
    return GRID_COSTS[1] if q % 4 == 0 else GRID_COSTS[2] if q % 2 == 0 else GRID_COSTS[3]


def fit_tempo_map(duration: float, bpm: float, numerator: int, hits: Sequence[Hit], *, max_bend: float = 0.06,
                  ritardando: float = 0.12, search: float = 0.0, bounds: tuple[float, float] = (30.0, 300.0),
                  rubato: float = 0.0, pulses: Sequence[tuple[float, float]] = ()) -> FitResult:
    """The map near ``bpm`` that lands the most (and strongest) hits on the grid with the least bending.

    With ``search`` > 0 the base tempo may move up to that fraction (inside ``bounds``)
    where that fits the hits better. ``pulses`` (time, weight 0..1) are moments of the
    motion's own rhythm the beats should fall on where the hits allow (never accented).
    Every tempo before the final ritardando lies in :func:`tempo_band`.
    """
    band = tempo_band(bpm, bounds, max_bend)
    if search > 0 and hits:
        reach = max(search, HIT_SEARCH) if any(h.strong for h in hits) else search
        norm = max(search, BASE_NORM)

        def fits(tempi: np.ndarray) -> list[FitResult]:
            tempi = np.unique(np.clip(tempi, *bounds))
            return [_fit(duration, float(b), numerator, hits, max_bend, ritardando, rubato, pulses, band)
                    for b in tempi]

        def score(r: FitResult) -> float:
            return r.report["cost"] + W_BASE * ((r.report["base_bpm"] / bpm - 1) / norm) ** 2

        # coarse steps over the whole reach, then finer ones around the best of them
        step = reach / max(math.ceil(reach / COARSE_STEP), 1)
        results = fits(bpm * (1.0 + np.arange(-reach, reach + 1e-9, step)))
        best = min(results, key=score).report["base_bpm"]
        results += fits(best * (1.0 + np.array([-0.75, -0.5, -0.25, 0.25, 0.5, 0.75]) * step))
        result = min(results, key=score)
    else:
        result = _fit(duration, bpm, numerator, hits, max_bend, ritardando, rubato, pulses, band)
    result.report.update(beat_report(result.tempo_map, hits, duration))
    return result


def tempo_band(bpm: float, bounds: tuple[float, float], max_bend: float) -> tuple[float, float]:
    """Slowest and fastest tempo a map may take before its ritardando: the range (stretched to a requested tempo
    outside it) widened by ``max_bend``."""
    return min(bounds[0], bpm) * (1.0 - max_bend), max(bounds[1], bpm) * (1.0 + max_bend)


def stretch_floor(band: tuple[float, float], max_bend: float) -> float:
    """Slowest tempo a last bar stretched into a cadence on a hit may start its ritardando from: the range's floor
    bent CADENCE_STRETCH times ``max_bend``."""
    return band[0] * (1.0 - CADENCE_STRETCH * max_bend) / (1.0 - max_bend)


def lowest_ending(band: tuple[float, float], max_bend: float, ritardando: float) -> float:
    """Slowest tempo of a map's ending: the stretch floor through the last bar's ritardando and the held chord."""
    return stretch_floor(band, max_bend) * (1.0 - ritardando) * (1.0 - ritardando * HOLD_SLOWING)


def _rubato_span(beats: np.ndarray, rubato: float) -> tuple[np.ndarray, np.ndarray]:
    """(fastest, slowest) tempo of a segment eased by ``rubato``, per unit of its mean tempo (see _segment_changes)."""
    if rubato <= 0:
        return np.ones_like(beats), np.ones_like(beats)
    eased = beats >= 1.0 - 1e-9
    safe = np.maximum(beats, 1.0)
    top = ((safe - 1.0) + 0.5 / (1.0 - rubato / 2) + 0.5 / (1.0 - rubato)) / safe
    return np.where(eased, top, 1.0), np.where(eased, top * (1.0 - rubato), 1.0)


def _segment_changes(t0: float, b0: float, t1: float, b1: float, rubato: float) -> list[TempoChange]:
    """Tempo changes covering beats ``b0..b1`` in exactly ``t1 - t0`` s: constant, or easing into ``b1``."""
    beats = b1 - b0
    if rubato <= 0 or beats < 1.0 - 1e-9:
        return [TempoChange(t0, beats * 60.0 / (t1 - t0))]
    shape = [(beats - 1.0, 1.0), (0.5, 1.0 - rubato / 2), (0.5, 1.0 - rubato)]
    shape = [(n, f) for n, f in shape if n > 1e-9]
    base = 60.0 * sum(n / f for n, f in shape) / (t1 - t0)
    changes, time = [], t0
    for n, f in shape:
        changes.append(TempoChange(time, base * f))
        time += n * 60.0 / (base * f)
    return changes


@dataclass
class _Tables:
    """The dynamic programme's tables: best cost, tempo of the last segment and back pointer per (hit, beat)."""

    cost: list[np.ndarray]
    tempo: list[np.ndarray]
    reach: list[np.ndarray]
    back: list[np.ndarray]
    prefix: np.ndarray

    def rest(self, i: int) -> float:
        """Skip cost of every hit after hit ``i``."""
        return float(self.prefix[-1] - self.prefix[i])

    def chain(self, end: tuple[int, int]) -> list[tuple[int, int]]:
        """(point index, candidate index) of the fitted points on the best path into ``end``, in time order."""
        out = []
        i, c = end
        while i > 0:
            out.append((i, c))
            i, c = (int(v) for v in self.back[i][c])
        return out[::-1]


def _dp(times: list[np.ndarray], cands: list[np.ndarray], grid: list[np.ndarray], skip: np.ndarray, bpm: float,
        max_bend: float, band: tuple[float, float], rubato: float) -> _Tables:
    """Least cost of a path from the start (index 0) to each (point, candidate), fitting some of the points between;
    a candidate is a 16th ``cands[i][c]`` at the time ``times[i][c]``; every segment's tempi stay in ``band``."""
    n = len(times)
    norm = max(max_bend, 1e-3)
    nudge = NUDGE_S if max_bend > 0 else 0.0
    tables = _Tables(cost=[np.array([0.0])] + [np.full(len(c), math.inf) for c in cands[1:]],
                     tempo=[np.array([bpm])] + [np.zeros(len(c)) for c in cands[1:]],
                     reach=[np.array([norm])] + [np.full(len(c), norm) for c in cands[1:]],
                     back=[np.full((len(c), 2), -1) for c in cands],
                     prefix=np.concatenate([[0.0], np.cumsum(skip)]))  # prefix[m]: skip cost of hits 1..m
    cost, tempo, reach, back, prefix = tables.cost, tables.tempo, tables.reach, tables.back, tables.prefix
    for i in range(1, n):
        ci = cands[i]
        for j in range(i - 1, max(-1, i - 1 - LOOKBACK), -1):
            if not np.isfinite(cost[j]).any():
                continue
            seg = ci[None, :] - cands[j][:, None]
            span = times[i][None, :] - times[j][:, None]
            t = seg * 60.0 / np.maximum(span, 1e-6)
            bend = t / bpm - 1.0
            nudged = nudge / np.maximum(span, 1e-6)  # a short stretch may push or pull by nudge s
            limit = np.maximum(norm, nudged)
            top, bottom = _rubato_span(seg, rubato)
            inside = (t * top <= band[1] * (1 + 1e-9)) & (t * bottom >= band[0] * (1 - 1e-9))
            total = (cost[j][:, None] + (prefix[i - 1] - prefix[j]) + W_BEND * (bend / limit) ** 2
                     + W_SMOOTH * ((t - tempo[j][:, None]) / (bpm * np.maximum(limit, reach[j][:, None]))) ** 2
                     + grid[i][None, :])
            allowed = np.abs(bend) <= np.maximum(max_bend, nudged) + 1e-9 if max_bend > 0 else np.abs(bend) <= 1e-9
            total = np.where((seg >= MIN_SEGMENT_BEATS - 1e-9) & (span > 1e-6) & allowed & inside, total, math.inf)
            arg = np.argmin(total, axis=0)
            value = total[arg, np.arange(len(ci))]
            cols = np.flatnonzero(value < cost[i])
            rows = arg[cols]
            cost[i][cols], tempo[i][cols], reach[i][cols] = value[cols], t[rows, cols], limit[rows, cols]
            back[i][cols, 0], back[i][cols, 1] = j, rows
    return tables


def _rit(numerator: int, ritardando: float) -> np.ndarray:
    """Relative tempi of the last bar's beats: slowing towards the cadence."""
    return 1.0 - ritardando * (np.arange(1, numerator + 1) / numerator) ** 1.5


def _fit(duration: float, bpm: float, numerator: int, hits: Sequence[Hit], max_bend: float, ritardando: float,
         rubato: float, pulses: Sequence[tuple[float, float]] = (), band: tuple[float, float] = (0.0, math.inf)
         ) -> FitResult:
    """One fit at base tempo ``bpm`` (see :func:`fit_tempo_map`)."""
    beat_s = 60.0 / bpm
    min_tail = min(max(1.5 * beat_s, 1.2), 0.2 * duration)
    max_tail = min(max(4 * beat_s, 3.5), 0.35 * duration)
    early, late = duration - max_tail, duration - min_tail
    ordered = sorted(hits, key=lambda h: h.accent_time)
    # every strong hit comes before the cadence or is the cadence: a late one moves the cadence window after it
    floor = max((h.accent_time for h in ordered if h.strong), default=0.0)
    last_strong = next((h for h in reversed(ordered) if h.strong), None) if floor > early else None
    early = max(early, floor + CLEAR_CADENCE_S)
    late = max(late, early)
    # the points the map may be bent to, in time order: hits (any 16th) and motion pulses (whole beats only)
    points: list[tuple[float, Hit | None, float]] = [(h.accent_time, h, h.strength) for h in ordered
                                                      if 0.0 < h.accent_time < max(late - beat_s, floor - 0.5 * beat_s)]
    points += [(t, None, w) for t, w in pulses
               if 0.0 < t < early - beat_s and all(abs(t - h.accent_time) > 0.5 * beat_s for h in ordered)]
    points.sort(key=lambda p: p[0])
    fittable = [hit for _, hit, _ in points]
    times, cands, grid, skip_costs = [np.array([0.0])], [np.array([0.0])], [np.array([0.0])], []
    for t, hit, weight in points:
        nominal = t / beat_s
        if hit is not None:
            q = np.arange(math.ceil((nominal - WINDOW_BEATS) * 4), math.floor((nominal + WINDOW_BEATS) * 4) + 1) / 4.0
            q = q[q > 0]
            shifts = np.array([0.0] + [d for d in ACCENT_SHIFTS_S if d != 0.0 and t + d > 0.0])
            q, shift = np.repeat(q, len(shifts)), np.tile(shifts, len(q))
            cost = np.array([grid_cost(b, numerator) for b in q]) * (0.5 + weight)
            grid.append(cost + W_SHIFT * (shift / np.where(shift < 0, ACCENT_SHIFTS_S[0], ACCENT_SHIFTS_S[-1])) ** 2)
            skip_costs.append(W_SKIP * weight + (W_CUE if hit.is_cue else 0.0) + (W_STRONG if hit.strong else 0.0))
            times.append(t + shift)
        else:
            q = np.arange(max(math.ceil(nominal - WINDOW_BEATS), 1), math.floor(nominal + WINDOW_BEATS) + 1.0)
            grid.append(np.zeros(len(q)))
            skip_costs.append(W_PULSE * weight)
            times.append(np.full(len(q), t))
        cands.append(q)
    if max_bend <= 0:  # a rigid grid: each candidate sits on its own 16th, where that is within its accent's reach
        for i, (t, _, _) in enumerate(points, start=1):
            on_grid = cands[i] * beat_s
            near = (np.abs(on_grid - times[i]) <= RIGID_REACH_S) & (on_grid - t >= ACCENT_SHIFTS_S[0] - 1e-9) \
                & (on_grid - t <= ACCENT_SHIFTS_S[-1] + 1e-9)
            grid[i], times[i] = np.where(near, grid[i], math.inf), on_grid
    skip = np.array(skip_costs)
    tables = _dp(times, cands, grid, skip, bpm, max_bend, band, rubato)
    cost, end, cadence = math.inf, (0, 0), None
    for i in range(len(times)):
        for c in np.flatnonzero(np.isfinite(tables.cost[i])):
            path = float(tables.cost[i][c]) + tables.rest(i)
            if path >= cost:
                continue
            ending, option = _cadence(bpm, numerator, float(times[i][c]), float(cands[i][c]), early, late, ritardando,
                                      max_bend, band, duration)
            if path + ending < cost:
                cost, end, cadence = path + ending, (i, int(c)), option
    late_hits = [last_strong] if last_strong is not None else \
        [h for h in ordered if h.strength >= CADENCE_HIT and early <= h.accent_time <= late]
    if late_hits:
        target = max(late_hits, key=lambda h: (h.strength, h.accent_time))
        own = float(skip[fittable.index(target)]) if target in fittable else 0.0
        best = _cadence_on_hit(target, own, tables, times, cands, bpm, numerator, max_bend, ritardando, band)
        if best is not None and best[0] < cost:
            cost, end, cadence = best
    chain = tables.chain(end)
    fixed = [(0.0, 0.0)] + [(float(times[i][c]), float(cands[i][c])) for i, c in chain]
    placed = {id(fittable[i - 1]): float(cands[i][c]) for i, c in chain if fittable[i - 1] is not None}
    bends = [abs((b1 - b0) * 60.0 / (t1 - t0) / bpm - 1.0) for (t0, b0), (t1, b1) in zip(fixed, fixed[1:],
                                                                                          strict=False)]
    changes: list[TempoChange] = []
    for (t0, b0), (t1, b1) in zip(fixed, fixed[1:], strict=False):
        changes += _segment_changes(t0, b0, t1, b1, rubato)
    t_last, b_last = fixed[-1]
    k, target, x, n_rit, cadence_hit = cadence
    rit = _rit(numerator, ritardando)
    plain = (k - n_rit) - b_last
    if plain > 1e-9:
        changes.append(TempoChange(t_last, x))
    time = t_last + plain * 60.0 / x
    for s in rit[-n_rit:]:
        changes.append(TempoChange(time, x * s))
        time += 60.0 / (x * s)
    changes.append(TempoChange(target, x * rit[-1] * (1.0 - ritardando * 2 / 3)))  # HOLD_SLOWING, bit for bit
    if cadence_hit is not None:
        placed[id(cadence_hit)] = float(k)
    tempo_map = TempoMap(tuple(changes), (MeterChange(0.0, numerator, 4),), 0.0)
    placements = tuple(Placement(h, placed.get(id(h))) for h in ordered)
    fitted = [p.hit for p in placements if p.fitted]
    report = {
        "base_bpm": bpm,
        "hits_fitted": len(fitted),
        "fitted_strength": float(sum(h.strength for h in fitted)),
        "total_bend": float(sum(bends)),
        "largest_bend": float(max(bends, default=0.0)),
        "cadence_on_hit": cadence_hit is not None,
        "pulses_fitted": sum(fittable[i - 1] is None for i, _ in chain),
        "cost": cost,
    }
    return FitResult(tempo_map, target, k, placements, report)


_Cadence = tuple[int, float, float, int, "Hit | None"]


def _cadence_on_hit(hit: Hit, own_skip: float, tables: _Tables, times: list[np.ndarray], cands: list[np.ndarray],
                    bpm: float, numerator: int, max_bend: float, ritardando: float, band: tuple[float, float]
                    ) -> tuple[float, tuple[int, int], _Cadence] | None:
    """The cheapest path whose final cadence (a downbeat after a ritardando) falls exactly on ``hit`` (hits after it
    are left unfitted; ``own_skip`` is the hit's own skip cost, not paid as it is the cadence)."""
    rit = _rit(numerator, ritardando)
    norm = max(max_bend, 1e-3)
    best = None
    for i in range(len(times)):
        if float(times[i].min()) > hit.accent_time - 60.0 / bpm:
            break
        for c in np.flatnonzero(np.isfinite(tables.cost[i])):
            b, t_i = float(cands[i][c]), float(times[i][c])
            if t_i > hit.accent_time - 60.0 / bpm:
                continue
            nominal = b + (hit.accent_time - t_i) * bpm / 60.0
            for k in range(numerator * math.floor(nominal / numerator), numerator * math.ceil(nominal / numerator) + 1,
                           numerator):
                n_rit = min(numerator, int(math.floor(k - b + 1e-9)))
                if n_rit < 1:
                    continue
                beats = (k - b - n_rit) + float(np.sum(1.0 / rit[-n_rit:]))
                x = 60.0 * beats / (hit.accent_time - t_i)
                bend = x / bpm - 1.0
                # a stretch starting before the last bar stays in the band; one inside it belongs to the ending
                floor = band[0] if k - b - n_rit > 1e-9 else stretch_floor(band, max_bend)
                outside = not floor * (1 - 1e-9) <= x <= band[1] * (1 + 1e-9)
                if outside or abs(bend) > CADENCE_STRETCH * max_bend + 1e-9:
                    continue
                cost = float(tables.cost[i][c]) + tables.rest(i) - own_skip + W_BEND * (bend / norm) ** 2 \
                    - CADENCE_BONUS * hit.strength
                if best is None or cost < best[0]:
                    best = (cost, (i, int(c)), (k, hit.accent_time, x, n_rit, hit))
    return best


def _cadence(bpm: float, numerator: int, t_last: float, b_last: float, early: float, late: float,
             ritardando: float, max_bend: float, band: tuple[float, float], duration: float
             ) -> tuple[float, _Cadence]:
    """(cost, cadence): the final downbeat after the last fixed point, reached through a ritardando, inside the
    cadence window ``early..late`` with the tempo nearest ``bpm`` (the later the better among equals) and in
    ``band``; on a rigid map (``max_bend`` 0) at ``bpm`` itself, as near the window as the grid allows."""
    beat_s = 60.0 / bpm
    rit = _rit(numerator, ritardando)
    norm = max(max_bend, 1e-3)
    slow = np.cumsum(1.0 / rit[::-1])  # slow[n - 1]: beats' worth of time in the last n beats of the ritardando
    best: tuple[float, _Cadence] | None = None
    first = numerator * math.ceil((math.floor(b_last) + 1) / numerator)
    near = numerator * math.floor((b_last + (early - t_last) / (beat_s * (1.0 + max_bend))) / numerator)
    last = numerator * math.ceil((b_last + (late - t_last) / beat_s) / numerator) + numerator
    for k in range(max(first, near - numerator), last + 1, numerator):
        n_rit = min(numerator, int(math.floor(k - b_last + 1e-9)))
        beats = (k - b_last - n_rit) + float(slow[n_rit - 1])
        free = t_last + beats * beat_s
        target = free if max_bend <= 0 else min(max(free, early), late)
        if target <= t_last or target >= duration:
            continue
        x = 60.0 * beats / (target - t_last)
        if not band[0] * (1 - 1e-9) <= x <= band[1] * (1 + 1e-9):
            continue
        cost = W_BEND * ((x / bpm - 1.0) / norm) ** 2 + 0.01 * (late - target) + max(early - target, target - late, 0.0)
        if best is None or cost < best[0]:
            best = (cost, (k, target, x, n_rit, None))
    if best is None:  # no room at all: the next downbeat at least a beat on, reached at the base tempo
        k = first if first - b_last >= 1.0 - 1e-9 else first + numerator
        n_rit = min(numerator, int(math.floor(k - b_last + 1e-9)))
        beats = (k - b_last - n_rit) + float(slow[n_rit - 1])
        return NO_ROOM_COST, (k, t_last + beats * beat_s, bpm, n_rit, None)
    return best


def beat_report(tempo_map: TempoMap, hits: Sequence[Hit], duration: float) -> dict:
    """How many hit events fall within 25 ms of a beat / downbeat, the largest and every offset (s) to a beat."""
    beats = tempo_map.beat_times(duration + 1.0)
    downbeats = tempo_map.downbeat_times(duration + 1.0)
    offsets = [float(beats[np.argmin(np.abs(beats - h.event_time))] - h.event_time) for h in hits]
    return {
        "hits": len(hits),
        "hits_on_grid": int(sum(abs(o) <= ON_BEAT_S for o in offsets)),
        "hits_on_downbeat": int(sum(bool(np.min(np.abs(downbeats - h.event_time)) <= ON_BEAT_S) for h in hits)),
        "largest_offset_s": float(max((abs(o) for o in offsets), default=0.0)),
        "offsets_s": [round(o, 4) for o in offsets],
        "tolerance_s": ON_BEAT_S,
    }
