"""Drum grooves per style on a 16th grid: layers enter as energy rises, fills close sections."""

from __future__ import annotations

import numpy as np

from expotion_engine.engines.procedural.parts.context import Context
from expotion_engine.types import Note

KICK, SNARE, CLAP, HAT, OPEN_HAT, CRASH, RIDE = 36, 38, 39, 42, 46, 49, 51
TOM_LOW, TOM_MID, TOM_HIGH, STINGER = 45, 47, 50, 55
DRUM_CHANNEL = 9

Step = tuple[int, int, float]  # (16th step in the bar, velocity, lowest energy that plays it)


def _eighths(velocity: int, offbeat: int, min_energy: float) -> list[Step]:
    return [(s, velocity if s % 4 == 0 else offbeat, min_energy) for s in range(0, 16, 2)]


def _sixteenths(velocity: int, min_energy: float) -> list[Step]:
    return [(s, velocity, min_energy) for s in range(1, 16, 2)]


#: style -> drum pitch -> steps; a 3/4 bar uses the steps below 12
GROOVES: dict[str, dict[int, list[Step]]] = {
    "pop": {
        KICK: [(0, 112, 0.0), (8, 100, 0.15), (10, 84, 0.55), (6, 72, 0.8)],
        SNARE: [(4, 104, 0.22), (12, 106, 0.22), (15, 42, 0.75), (7, 38, 0.88)],
        HAT: _eighths(82, 62, 0.3) + _sixteenths(44, 0.72),
        OPEN_HAT: [(14, 70, 0.6)],
    },
    "dance": {
        KICK: [(0, 118, 0.0), (4, 114, 0.25), (8, 116, 0.0), (12, 114, 0.25)],
        CLAP: [(4, 100, 0.35), (12, 102, 0.35)],
        HAT: [(2, 84, 0.2), (6, 84, 0.2), (10, 84, 0.2), (14, 84, 0.2)] + _sixteenths(46, 0.7),
        OPEN_HAT: [(2, 72, 0.6), (10, 72, 0.6)],
        SNARE: [(15, 50, 0.85)],
    },
    "lofi": {
        KICK: [(0, 100, 0.0), (7, 72, 0.4), (10, 92, 0.2)],
        SNARE: [(4, 86, 0.2), (12, 90, 0.2), (15, 34, 0.6)],
        HAT: _eighths(70, 50, 0.2) + _sixteenths(30, 0.75),
    },
    "cinematic": {
        KICK: [(0, 116, 0.0), (8, 100, 0.35), (10, 88, 0.6)],
        SNARE: [(8, 110, 0.6)],
        TOM_LOW: [(12, 96, 0.5), (14, 100, 0.5), (6, 88, 0.7)],
        TOM_MID: [(13, 82, 0.75), (3, 76, 0.85)],
        HAT: _eighths(54, 40, 0.78),
    },
    "documentary": {
        KICK: [(0, 86, 0.0), (8, 76, 0.35), (11, 60, 0.7)],
        SNARE: [(4, 70, 0.35), (12, 72, 0.35)],
        HAT: _eighths(56, 42, 0.25) + _sixteenths(30, 0.8),
    },
    "ambient": {
        KICK: [(0, 72, 0.45)],
        HAT: [(4, 40, 0.55), (12, 40, 0.55)],
        RIDE: [(0, 44, 0.7), (8, 40, 0.7)],
    },
}
FILL_PITCHES = (SNARE, TOM_HIGH, TOM_MID, TOM_LOW)


def _velocity(base: int, energy: float) -> float:
    return base * (0.62 + 0.48 * energy)


def _step_beat(bar_start: float, step: int, swing: float) -> float:
    """Beat of a 16th step, odd steps pushed late by ``swing`` (0.5 = straight)."""
    pair = bar_start + (step // 2) * 0.5
    return pair + (0.0 if step % 2 == 0 else swing * 0.5)


def _fill(ctx: Context, rng: np.random.Generator, start_beat: float, steps: int, energy: float) -> list[Note]:
    """A 16th-note snare/tom run of ``steps`` ending at ``start_beat + steps/4``, rising in level."""
    notes = []
    for i in range(steps):
        pitch = FILL_PITCHES[min(i * len(FILL_PITCHES) // steps, len(FILL_PITCHES) - 1)] if energy > 0.55 else SNARE
        note = ctx.note(rng, pitch, start_beat + i * 0.25, 0.2, _velocity(70 + 40 * i // max(steps - 1, 1), energy),
                        channel=DRUM_CHANNEL)
        if note:
            notes.append(note)
    return notes


def drum_notes(ctx: Context) -> list[Note]:
    """The drum part: groove bars, section fills and crashes, the closing hit."""
    rng = ctx.rng("drums")
    groove = GROOVES.get(ctx.style, GROOVES["pop"])
    steps_per_bar = ctx.numerator * 4
    notes: list[Note] = []
    fill_bars = {s.end_bar - 1 for s in ctx.sections[:-1] if s.end_bar - 1 >= 0}
    for bar in range(ctx.cadence_bar):
        bar_start = float(bar * ctx.numerator)
        bar_energy = ctx.lifted_energy(bar_start + ctx.numerator / 2)
        fill_from = steps_per_bar
        if bar in fill_bars and bar_energy >= 0.35:
            fill_from = steps_per_bar - (8 if bar_energy > 0.7 else 4)
            notes += _fill(ctx, rng, bar_start + fill_from / 4, steps_per_bar - fill_from, bar_energy)
        section = ctx.section(bar)
        if section.start_bar == bar and bar > 0 and section.name in ("build", "peak") and bar_energy >= 0.4:
            note = ctx.note(rng, CRASH, bar_start, 1.5, _velocity(108, bar_energy), channel=DRUM_CHANNEL)
            notes += [note] if note else []
        for pitch, steps in groove.items():
            for step, base, min_energy in steps:
                if step >= steps_per_bar or step >= fill_from:
                    continue
                beat = _step_beat(bar_start, step, ctx.swing)
                energy = ctx.lifted_energy(beat)
                if energy < min_energy:
                    continue
                accent = 1.08 if step % (4 * ctx.numerator) == 0 else 1.0
                note = ctx.note(rng, pitch, beat, 0.25, _velocity(base, energy) * accent, channel=DRUM_CHANNEL,
                                jitter=0.005)
                if note:
                    notes.append(note)
    end_energy = ctx.energy_at(ctx.cadence_time)
    for pitch, velocity in ((KICK, 112), (CRASH, 104)):
        note = ctx.note(rng, pitch, ctx.cadence_beat, 2.0, _velocity(velocity, max(end_energy, 0.4)),
                        channel=DRUM_CHANNEL, exact=True)
        notes += [note] if note else []
    return notes
