"""The melody: a motif stated, varied and developed in four-bar phrases, shaped for the instrument that plays it.

A take has one motif (a contour of scale steps and a one-bar rhythm per density). Each
four-bar phrase states it, varies it (sequenced a step away, its ending bent), develops it
(inverted, or its head repeated as a rising sequence) and closes on a long chord tone;
the phrase arches to its high point in the third bar. Density follows energy and the
section's texture, aiming at a notes-per-second rate rather than a fixed pattern, so slow
tempos still carry a line; chord tones sit on strong beats; the line is one voice (no
note overlaps the next) and lands on the tonic at the final cadence.
"""

from __future__ import annotations

import numpy as np

from expotion_engine.engines.procedural.harmony import nearest_pitch
from expotion_engine.engines.procedural.parts.context import Context, monophonic
from expotion_engine.types import Note

Cell = tuple[tuple[float, float], ...]  # (onset, length) in beats within one bar

#: one-bar rhythm cells by notes per bar
CELLS: dict[int, tuple[Cell, ...]] = {
    2: (((0, 2), (2, 2)), ((0, 3), (3, 1)), ((0, 1.5), (1.5, 2.5))),
    3: (((0, 1), (1, 1), (2, 2)), ((0, 1.5), (1.5, 0.5), (2, 2)), ((0, 2), (2, 1), (3, 1))),
    4: (((0, 1), (1, 1), (2, 1), (3, 1)), ((0, 1.5), (1.5, 0.5), (2, 1), (3, 1)),
        ((0, 1), (1, 0.5), (1.5, 0.5), (2, 2))),
    5: (((0, 0.5), (0.5, 0.5), (1, 1), (2, 1.5), (3.5, 0.5)), ((0, 1), (1, 0.5), (1.5, 0.5), (2, 1), (3, 1)),
        ((0, 0.75), (0.75, 0.75), (1.5, 0.5), (2, 1), (3, 1)), ((0, 1), (1, 1), (2, 1), (3, 0.5), (3.5, 0.5))),
    6: (((0, 0.5), (0.5, 0.5), (1, 0.5), (1.5, 0.5), (2, 1), (3, 1)),
        ((0, 1), (1, 0.5), (1.5, 0.5), (2, 0.5), (2.5, 0.5), (3, 1)),
        ((0, 0.75), (0.75, 0.25), (1, 1), (2, 0.5), (2.5, 0.5), (3, 1))),
    8: (tuple((k * 0.5, 0.5) for k in range(8)),
        ((0, 0.5), (0.5, 0.25), (0.75, 0.25), (1, 0.5), (1.5, 0.5), (2, 1), (3, 0.5), (3.5, 0.5))),
}
#: last bar of a phrase: the line settles on a long note
CLOSING: dict[int, Cell] = {2: ((0, 4),), 3: ((0, 1), (1, 3)), 4: ((0, 0.5), (0.5, 0.5), (1, 3)),
                            5: ((0, 0.5), (0.5, 0.5), (1, 0.5), (1.5, 2.5)),
                            6: ((0, 0.5), (0.5, 0.5), (1, 0.5), (1.5, 0.5), (2, 2)),
                            8: ((0, 0.5), (0.5, 0.5), (1, 0.5), (1.5, 0.5), (2, 2))}
#: instrument -> (lowest, highest, most notes per second it plays well)
RANGES: dict[str, tuple[int, int, float]] = {
    "bell": (67, 91, 2.0), "brass": (55, 79, 3.2), "strings": (60, 86, 3.5), "pluck": (60, 84, 5.0),
    "saw_lead": (62, 86, 5.0), "square_lead": (62, 86, 5.0), "piano": (60, 86, 5.0), "epiano": (60, 84, 4.5),
    "organ": (60, 84, 4.5), "pad": (60, 84, 2.5),
}
DEFAULT_RANGE = (60, 84, 4.0)
#: scale steps above the phrase's anchor where each bar of the phrase sits (the arch peaks in bar 3)
ARCH = (0, 1, 3, 0)


def _target_density(ctx: Context, bar: int, energy: float, fastest: float) -> int:
    """Notes in this bar: an energy-driven rate in notes per second, thinned in sparse sections."""
    seconds = ctx.time((bar + 1) * ctx.numerator) - ctx.time(bar * ctx.numerator)
    rate = min(1.3 + 1.2 * energy, fastest)
    if ctx.texture(bar).melody == "sparse":
        rate *= 0.8
    wanted = rate * seconds * 4.0 / ctx.numerator
    return min(CELLS, key=lambda k: (abs(k - wanted), k))


def _contour(rng: np.random.Generator, n: int = 8) -> list[int]:
    """Scale-step offsets of the motif from its first note: mostly steps, one leap, inside -3..+4."""
    offsets, current, leapt = [0], 0, False
    for _ in range(n - 1):
        choices = [-2, -1, -1, 1, 1, 2] + ([] if leapt else [3, -3, 4])
        step = int(rng.choice(choices))
        leapt = leapt or abs(step) >= 3
        if not -3 <= current + step <= 4:
            step = -step
        current += step
        offsets.append(current)
    return offsets


def _develop(contour: list[int], n: int, role: int, variant: int) -> list[int]:
    """The motif's contour for bar ``role`` (0 statement, 1 variation, 2 development, 3 close) of a phrase."""
    base = [contour[i % len(contour)] for i in range(n)]
    if role == 0:
        return base
    if role == 1:  # sequence a step away, the ending bent back toward the start
        shift = (1, -1, 2)[variant % 3]
        out = [o + shift for o in base]
        if n > 2:
            out[-1] = base[-1] - shift
        return out
    if role == 2:
        if variant % 2 == 0:  # inversion around the first note
            return [-o for o in base]
        head = base[: max(2, n // 2)]  # the head, repeated one step higher each time
        return [head[i % len(head)] + i // len(head) for i in range(n)]
    return [base[0] + (1 if i < n - 1 else 0) - i // 2 for i in range(n)]


def melody_notes(ctx: Context) -> list[Note]:
    """Melody part: four-bar phrases developing one motif, a long chord tone closing each, tonic at the cadence."""
    rng = ctx.rng("melody")
    low, high, fastest = RANGES.get(ctx.instruments.get("melody", ""), DEFAULT_RANGE)
    low, high = low + ctx.register_shift, high + ctx.register_shift
    center = (low + high) / 2 - 2
    contour = _contour(rng)
    cells = {k: [c for c in options[int(rng.integers(len(options)))] if c[0] < ctx.numerator]
             for k, options in CELLS.items()}
    off_beats = 2 if ctx.style == "solo" else 1  # a second off-beat only over the solo piano's beat-marking chords
    beats = {k: [c for c in options if sum(o != int(o) for o, _ in c) <= off_beats] or [CELLS[4][0]]
             for k, options in CELLS.items()}
    on_beat = {k: [c for c in v[int(rng.integers(len(v)))] if c[0] < ctx.numerator] for k, v in beats.items()}
    notes: list[Note] = []
    previous = int(center)
    variant = int(rng.integers(6))
    home = {ctx.scale[0], ctx.scale[2], ctx.scale[4]}
    for bar in range(ctx.cadence_bar):
        section = ctx.section(bar)
        start = ctx.phrase_start(bar)
        role = (bar - start) % 4
        if role == 0:
            variant += 1
        following = next((b for b in range(bar + 1, ctx.cadence_bar + 1) if ctx.phrase_start(b) == b), ctx.cadence_bar)
        closing = role == 3 or bar == following - 1
        energy = ctx.lifted_energy(bar * ctx.numerator + 1)
        density = _target_density(ctx, bar, energy, fastest)
        if ctx.slow:  # a slow beat: the line moves on the beats (an off-beat eighth or two), not heard at double time
            density = min(density, 4 + off_beats)
            cell = list(CLOSING[4 if off_beats > 1 and density >= 5 else 3]) if closing else list(on_beat[density])
        else:
            cell = list(CLOSING[density]) if closing else list(cells[density])
        cell = [(o, min(length, ctx.numerator - o)) for o, length in cell if o < ctx.numerator]
        offsets = _develop(contour, len(cell), 3 if closing else role, variant)
        lift = 2 * energy - 1 + (1 if section.name == "peak" else 0)
        chord = ctx.chord_at(bar * ctx.numerator)
        anchor = nearest_pitch(set(chord.tones[:3]), center + 2 * lift, low + 3, high - 5)
        anchor = _scale_step(ctx, anchor, ARCH[role] if not closing else 0)
        for i, ((onset, length), offset) in enumerate(zip(cell, offsets, strict=False)):
            beat = bar * ctx.numerator + onset
            pitch = _scale_step(ctx, anchor, offset)
            strong = onset == int(onset) and (int(onset) % 2 == 0 or length >= 1)
            if closing and i == len(cell) - 1:  # a phrase ends on the tonic triad (over the cadence chord too)
                pitch = _chord_tone(ctx, set(ctx.chord_at(beat).tones[:3]) | home, pitch, home, 4.0)
            elif strong:
                pitch = _chord_tone(ctx, set(ctx.chord_at(beat).tones[:4]), pitch, home, 1.0)
            while pitch > high:
                pitch -= 12
            while pitch < low:
                pitch += 12
            shape = 5 * (1 - abs(role - 2) / 2)
            velocity = 64 + 30 * ctx.lifted_energy(beat) + shape + (4 if onset == 0 else 0)
            note = ctx.note(rng, pitch, beat, length * 0.95, velocity, jitter=0.006)
            if note:
                notes.append(note)
                previous = pitch
    final = nearest_pitch({ctx.tonic}, 0.5 * previous + 0.5 * center, low, high)
    note = ctx.note(rng, final, ctx.cadence_beat, 64.0, 60 + 30 * ctx.energy_at(ctx.cadence_time), exact=True)
    notes += [note] if note else []
    return monophonic(notes)


def _chord_tone(ctx: Context, tones: set[int], pitch: int, home: set[int], pull: float) -> int:
    """The pitch of ``tones`` within a fourth of ``pitch``, nearer ones first, tones of the tonic triad preferred
    by ``pull`` semitones (the tonic itself by one more), so the line keeps the key's centre under every chord."""
    candidates = [p for p in range(pitch - 5, pitch + 6) if p % 12 in tones]
    if not candidates:
        return pitch
    return min(candidates, key=lambda p: (abs(p - pitch) - (pull if p % 12 in home else 0.0)
                                          - (1.0 if p % 12 == ctx.tonic else 0.0), p))


def _scale_step(ctx: Context, pitch: int, steps: int) -> int:
    """``pitch`` moved ``steps`` scale degrees (from the nearest scale tone)."""
    current = nearest_pitch(set(ctx.scale), pitch, 0, 127)
    direction = 1 if steps >= 0 else -1
    for _ in range(abs(steps)):
        current += direction
        while current % 12 not in ctx.scale:
            current += direction
    return current
