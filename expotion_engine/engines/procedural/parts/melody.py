"""The melody: a seeded motif repeated and varied over two-bar phrases, chord tones on strong beats, steps between.

Rhythm density and register follow energy; the motif's contour is kept across its
repetitions so the line is heard as a tune, not a walk; phrases breathe at their ends
and the last one lands on the tonic at the cadence.
"""

from __future__ import annotations

import numpy as np

from expotion_engine.engines.procedural.harmony import nearest_pitch
from expotion_engine.engines.procedural.parts.context import Context
from expotion_engine.types import Note

#: one-bar rhythms (onset, length) in beats, by density level
RHYTHMS: dict[int, list[list[tuple[float, float]]]] = {
    0: [[(0, 3), (3, 1)], [(0, 4)], [(0, 2), (2, 2)]],
    1: [[(0, 1), (1, 1), (2, 2)], [(0, 1.5), (1.5, 0.5), (2, 2)], [(0, 2), (2, 1), (3, 1)]],
    2: [[(0, 0.5), (0.5, 0.5), (1, 1), (2, 1.5), (3.5, 0.5)], [(0, 1), (1, 0.5), (1.5, 0.5), (2, 1), (3, 1)],
        [(0, 0.75), (0.75, 0.75), (1.5, 0.5), (2, 2)]],
    3: [[(0, 0.5), (0.5, 0.5), (1, 0.5), (1.5, 0.5), (2, 0.25), (2.25, 0.25), (2.5, 0.5), (3, 1)],
        [(0, 0.5), (0.5, 0.25), (0.75, 0.25), (1, 0.5), (1.5, 0.5), (2, 0.5), (2.5, 0.5), (3, 0.5), (3.5, 0.5)]],
}
#: bar-2 endings of a phrase: the line settles on a long note
CADENCE_RHYTHMS: dict[int, list[tuple[float, float]]] = {
    0: [(0, 3)], 1: [(0, 1), (1, 2.5)], 2: [(0, 0.5), (0.5, 0.5), (1, 2.5)], 3: [(0, 0.5), (0.5, 0.5), (1, 0.5),
                                                                              (1.5, 0.5), (2, 1.5)],
}


def _level(energy: float) -> int:
    return 0 if energy < 0.3 else 1 if energy < 0.52 else 2 if energy < 0.75 else 3


def _motif_steps(rng: np.random.Generator, n: int) -> list[int]:
    """Scale-degree offsets of a motif from its anchor: mostly steps, one leap at most, inside -3..+4."""
    offsets, current, leapt = [], 0, False
    for i in range(n):
        if i == 0:
            offsets.append(0)
            continue
        choices = [-2, -1, -1, 1, 1, 2] + ([] if leapt else [3, -3, 4])
        step = int(rng.choice(choices))
        leapt = leapt or abs(step) >= 3
        if not -3 <= current + step <= 4:
            step = -step
        current += step
        offsets.append(current)
    return offsets


def melody_notes(ctx: Context, *, min_energy: float = 0.0, skip_intro: bool = True) -> list[Note]:
    """Melody part: two-bar phrases from a remembered motif, silent in the intro, tonic at the cadence."""
    rng = ctx.rng("melody")
    notes: list[Note] = []
    motifs: dict[int, tuple[list[tuple[float, float]], list[int], list[int]]] = {}
    previous = 67 + ctx.register_shift
    bar = 0
    phrase_index = 0
    while bar < ctx.cadence_bar:
        section = ctx.section(bar)
        energy = ctx.lifted_energy(bar * ctx.numerator + 1)
        if (skip_intro and section.name == "intro" and ctx.cadence_bar > 3) or energy < min_energy:
            bar += 1
            continue
        level = _level(energy)
        if level not in motifs:
            rhythm = [r for r in RHYTHMS[level][int(rng.integers(len(RHYTHMS[level])))] if r[0] < ctx.numerator]
            answer = [r for r in CADENCE_RHYTHMS[level] if r[0] < ctx.numerator]
            steps = _motif_steps(rng, len(rhythm) + len(answer))
            motifs[level] = (rhythm, answer, steps)
        rhythm, answer, steps = motifs[level]
        center = 67 + 7 * energy + ctx.register_shift
        shift = (0, 0, 2, -1)[phrase_index % 4]
        anchor = nearest_pitch(set(ctx.chord_at(bar * ctx.numerator).tones[:3]), center - 2, 55, 86)
        events = [(bar, r) for r in rhythm] + ([(bar + 1, r) for r in answer] if bar + 1 < ctx.cadence_bar else [])
        for i, (b, (onset, length)) in enumerate(events):
            beat = b * ctx.numerator + onset
            length = min(length, ctx.numerator - onset)
            pitch = _scale_step(ctx, anchor, steps[i] + shift)
            if onset % 2 == 0 or i == len(events) - 1:
                tones = set(ctx.chord_at(beat).tones[:4])
                pitch = nearest_pitch(tones, pitch, pitch - 2, pitch + 2) if any(
                    (pitch + d) % 12 in tones for d in range(-2, 3)) else pitch
            velocity = 62 + 44 * ctx.lifted_energy(beat) + (8 if onset == 0 else 0)
            note = ctx.note(rng, pitch, beat, length * 0.94, velocity, jitter=0.007)
            if note:
                notes.append(note)
                previous = pitch
        bar += 2
        phrase_index += 1
    final = nearest_pitch({ctx.tonic}, 0.5 * previous + 0.5 * (67 + ctx.register_shift), 57, 81)
    note = ctx.note(rng, final, ctx.cadence_beat, 64.0, 60 + 30 * ctx.energy_at(ctx.cadence_time), exact=True)
    notes += [note] if note else []
    return notes


def _scale_step(ctx: Context, pitch: int, steps: int) -> int:
    """``pitch`` moved ``steps`` scale degrees (from the nearest scale tone)."""
    current = nearest_pitch(set(ctx.scale), pitch, 0, 127)
    direction = 1 if steps >= 0 else -1
    for _ in range(abs(steps)):
        current += direction
        while current % 12 not in ctx.scale:
            current += direction
    return current
