"""Drum grooves per style on a 16th grid: a light, a groove and a full pattern chosen by the section's texture.

The beat is always clear: the pulse sits on the quarter notes and off-beats are quieter,
so a listener (or a beat tracker) hears the tempo of the tempo map, not its double.
The last bar of each four-bar phrase varies the pattern, eight-bar periods and sections
end with fills, and crashes open the louder sections. Hit accents are not placed here
(the accent pass adds them after composition).
"""

from __future__ import annotations

import numpy as np

from expotion_engine.engines.procedural.parts.context import Context
from expotion_engine.types import Note

KICK, SNARE, CLAP, HAT, OPEN_HAT, CRASH, RIDE = 36, 38, 39, 42, 46, 49, 51
TOM_LOW, TOM_MID, TOM_HIGH, SIDE_STICK = 45, 47, 50, 37
DRUM_CHANNEL = 9
LEVELS = ("light", "groove", "full")

Pattern = dict[int, list[tuple[int, int]]]  # drum pitch -> [(16th step in the bar, velocity)]


def _quarters(velocity: int, steps: int = 16) -> list[tuple[int, int]]:
    return [(s, velocity) for s in range(0, steps, 4)]


def _eighths(on: int, off: int) -> list[tuple[int, int]]:
    return [(s, on if s % 4 == 0 else off) for s in range(0, 16, 2)]


def _sixteenths(on: int, off: int) -> list[tuple[int, int]]:
    return [(s, on if s % 4 == 0 else off if s % 2 == 0 else off - 14) for s in range(16)]


#: style -> level -> pattern; a 3/4 bar uses the steps below 12
GROOVES: dict[str, dict[str, Pattern]] = {
    "pop": {
        "light": {KICK: [(0, 104), (8, 92)], HAT: _quarters(72), SIDE_STICK: [(12, 58)]},
        "groove": {KICK: [(0, 112), (8, 100), (10, 70)], SNARE: [(4, 104), (12, 106)], HAT: _eighths(80, 46)},
        "full": {KICK: [(0, 116), (6, 70), (8, 104), (10, 80)], SNARE: [(4, 108), (12, 110), (15, 40)],
                 HAT: _sixteenths(82, 44), OPEN_HAT: [(14, 62)]},
    },
    "dance": {
        "light": {KICK: _quarters(112), HAT: [(2, 56), (6, 56), (10, 56), (14, 56)]},
        "groove": {KICK: _quarters(118), CLAP: [(4, 100), (12, 102)], HAT: [(2, 70), (6, 70), (10, 70), (14, 70)]},
        "full": {KICK: _quarters(120), CLAP: [(4, 104), (12, 106)], OPEN_HAT: [(2, 66), (6, 66), (10, 66), (14, 66)],
                 HAT: [(s, 40) for s in range(1, 16, 2)], SNARE: [(15, 46)]},
    },
    "lofi": {
        "light": {KICK: [(0, 100), (10, 84)], HAT: _quarters(62), SIDE_STICK: [(12, 52)]},
        "groove": {KICK: [(0, 104), (8, 90), (11, 56)], SNARE: [(4, 90), (12, 94)], HAT: _quarters(62)},
        "full": {KICK: [(0, 108), (8, 94), (11, 62)], SNARE: [(4, 94), (12, 98), (15, 34)],
                 HAT: _eighths(66, 30), OPEN_HAT: [(14, 44)]},
    },
    "cinematic": {
        "light": {KICK: [(0, 112), (8, 98)], TOM_LOW: [(4, 62), (12, 66)]},
        "groove": {KICK: [(0, 116), (8, 104)], SNARE: [(4, 96), (12, 100)], TOM_LOW: [(14, 74)],
                   HAT: _quarters(50)},
        "full": {KICK: [(0, 120), (8, 108), (10, 80)], SNARE: [(4, 104), (12, 108)],
                 TOM_LOW: [(6, 70), (14, 86)], TOM_MID: [(13, 72)], HAT: _eighths(58, 30)},
    },
    "documentary": {
        "light": {KICK: [(0, 84), (8, 72)], HAT: _quarters(54)},
        "groove": {KICK: [(0, 88), (8, 78)], SIDE_STICK: [(4, 70), (12, 72)], HAT: _eighths(58, 32)},
        "full": {KICK: [(0, 92), (8, 82), (11, 58)], SNARE: [(4, 74), (12, 76)], HAT: _eighths(62, 36)},
    },
    "ambient": {
        "light": {RIDE: _quarters(46)},
        "groove": {KICK: [(0, 74), (8, 62)], RIDE: _quarters(50)},
        "full": {KICK: [(0, 80), (8, 68)], SIDE_STICK: [(4, 50), (12, 52)], RIDE: _eighths(54, 30)},
    },
}
#: the phrase's fourth bar: one extra figure per style (drum pitch, step, velocity)
VARIATIONS: dict[str, tuple[tuple[int, int, int], ...]] = {
    "pop": ((KICK, 14, 78), (OPEN_HAT, 14, 64), (SNARE, 15, 56)),
    "dance": ((OPEN_HAT, 14, 70), (CLAP, 15, 60), (KICK, 14, 70)),
    "lofi": ((KICK, 14, 70), (SNARE, 15, 44), (OPEN_HAT, 6, 46)),
    "cinematic": ((TOM_MID, 14, 80), (TOM_LOW, 15, 84), (KICK, 14, 84)),
    "documentary": ((KICK, 14, 60), (SIDE_STICK, 15, 50), (HAT, 15, 40)),
    "ambient": ((RIDE, 14, 40), (KICK, 14, 56), (SIDE_STICK, 15, 40)),
}
FILL_PITCHES = (SNARE, TOM_HIGH, TOM_MID, TOM_LOW)


def _velocity(base: float, energy: float) -> float:
    return base * (0.62 + 0.48 * energy)


def _step_beat(bar_start: float, step: int, swing: float) -> float:
    """Beat of a 16th step, odd steps pushed late by ``swing`` (0.5 = straight)."""
    pair = bar_start + (step // 2) * 0.5
    return pair + (0.0 if step % 2 == 0 else swing * 0.5)


def _level(ctx: Context, bar: int, energy: float) -> str:
    """The section's drum level, one lower in very calm bars and one higher in very loud ones."""
    index = LEVELS.index(ctx.texture(bar).drums)
    if energy < 0.22:
        index -= 1
    elif energy > 0.82:
        index += 1
    return LEVELS[min(max(index, 0), len(LEVELS) - 1)]


def _fill(ctx: Context, rng: np.random.Generator, start_beat: float, steps: int, energy: float) -> list[Note]:
    """A 16th-note snare/tom run of ``steps`` ending at ``start_beat + steps/4``, rising in level."""
    notes = []
    toms = energy > 0.5 or ctx.style == "cinematic"
    for i in range(steps):
        pitch = FILL_PITCHES[min(i * len(FILL_PITCHES) // steps, len(FILL_PITCHES) - 1)] if toms else SNARE
        note = ctx.note(rng, pitch, start_beat + i * 0.25, 0.2, _velocity(68 + 40 * i // max(steps - 1, 1), energy),
                        channel=DRUM_CHANNEL)
        if note:
            notes.append(note)
    return notes


def drum_notes(ctx: Context) -> list[Note]:
    """The drum part: the section's groove bar by bar, phrase variations, fills and crashes, the closing hit."""
    rng = ctx.rng("drums")
    grooves = GROOVES.get(ctx.style, GROOVES["pop"])
    variations = VARIATIONS.get(ctx.style, VARIATIONS["pop"])
    steps_per_bar = ctx.numerator * 4
    notes: list[Note] = []
    section_ends = {s.end_bar - 1 for s in ctx.sections[:-1]}
    variation = variations[int(rng.integers(len(variations)))]
    for bar in range(ctx.cadence_bar):
        bar_start = float(bar * ctx.numerator)
        bar_energy = ctx.lifted_energy(bar_start + ctx.numerator / 2)
        level = _level(ctx, bar, bar_energy)
        section = ctx.section(bar)
        position = bar - section.start_bar
        fill_from = steps_per_bar
        if bar in section_ends and level != "light":
            fill_from = steps_per_bar - (8 if bar_energy > 0.7 else 4)
        elif position % 8 == 7 and level == "full":
            fill_from = steps_per_bar - 3
        if fill_from < steps_per_bar:
            notes += _fill(ctx, rng, bar_start + fill_from / 4, steps_per_bar - fill_from, bar_energy)
        opens = position == 0 and bar > 0 and section.name in ("build", "peak") or position % 8 == 0 and level == "full"
        if opens and bar > 0 and bar_energy >= 0.35:
            note = ctx.note(rng, CRASH, bar_start, 1.5, _velocity(96, bar_energy), channel=DRUM_CHANNEL)
            notes += [note] if note else []
        if position % 4 == 0:
            variation = variations[int(rng.integers(len(variations)))]
        pattern = {pitch: list(steps) for pitch, steps in grooves[level].items()}
        if position % 4 == 3 and fill_from == steps_per_bar:
            pitch, step, velocity = variation
            pattern.setdefault(pitch, []).append((step, velocity))
        for pitch, steps in pattern.items():
            for step, base in steps:
                if step >= steps_per_bar or step >= fill_from or (pitch == CRASH and step == 0 and opens):
                    continue
                beat = _step_beat(bar_start, step, ctx.swing)
                accent = 1.06 if step == 0 else 1.0
                note = ctx.note(rng, pitch, beat, 0.25, _velocity(base, ctx.lifted_energy(beat)) * accent,
                                channel=DRUM_CHANNEL, jitter=0.004)
                if note:
                    notes.append(note)
    end_energy = ctx.energy_at(ctx.cadence_time)
    for pitch, velocity in ((KICK, 112), (CRASH, 100)):
        note = ctx.note(rng, pitch, ctx.cadence_beat, 2.0, _velocity(velocity, max(end_energy, 0.4)),
                        channel=DRUM_CHANNEL, exact=True)
        notes += [note] if note else []
    return notes
