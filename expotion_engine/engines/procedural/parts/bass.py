"""Bass lines: a tonic pedal, a walking line or a driving figure, as the section's texture asks.

Roots are led smoothly from chord to chord, approach notes step into chord changes, and
the line is one voice (no note overlaps the next); it holds the tonic under the intro so
the key is heard before the harmony moves, and in the modes (lydian, mixolydian, dorian,
phrygian) under the mode's characteristic chord, so its colour is heard against the
tonic; it lands on the tonic at the final cadence.
"""

from __future__ import annotations

from expotion_engine.engines.procedural.harmony import Chord, nearest_pitch, over_pedal
from expotion_engine.engines.procedural.parts.context import Context, monophonic
from expotion_engine.types import Note

LOW, HIGH = 31, 50

#: (onset beat in the bar, length in beats, interval: 0 root, 7 fifth, 12 octave)
Figure = list[tuple[float, float, int]]

#: texture figure -> style -> one bar of bass
FIGURES: dict[str, dict[str, Figure]] = {
    "pedal": {"default": [(0, 2, 0), (2, 2, 0)], "ambient": [(0, 4, 0)], "cinematic": [(0, 4, 0)]},
    "line": {
        "default": [(0, 1.5, 0), (1.5, 0.5, 0), (2, 1, 7), (3, 1, 0)],
        "lofi": [(0, 2, 0), (2, 1, 7), (3, 1, 12)],
        "dance": [(0.5, 0.5, 0), (1.5, 0.5, 0), (2.5, 0.5, 0), (3.5, 0.5, 0)],
        "cinematic": [(0, 2, 0), (2, 1.5, 0), (3.5, 0.5, 7)],
        "ambient": [(0, 2, 0), (2, 1, 7), (3, 1, 0)],
        "documentary": [(0, 2, 0), (2, 1, 7), (3, 1, 0)],
    },
    "drive": {
        "default": [(b * 0.5, 0.45, 12 if b in (3, 6) else 0) for b in range(8)],
        "dance": [(0.5, 0.4, 0), (1.5, 0.4, 12), (2.5, 0.4, 0), (3.5, 0.4, 12), (3.75, 0.25, 7)],
        "lofi": [(0, 1, 0), (1, 1, 12), (2, 1, 7), (3, 0.5, 0), (3.5, 0.5, 3)],
        "cinematic": [(b * 0.5, 0.45, 0) for b in range(8)],
        "ambient": [(0, 1, 0), (1, 1, 7), (2, 1, 12), (3, 1, 7)],
        "documentary": [(0, 1, 0), (1, 1, 7), (2, 1, 12), (3, 1, 7)],
    },
}


def _root(chord: Chord, previous: int | None) -> int:
    return nearest_pitch({chord.root}, previous if previous is not None else 38, LOW, HIGH)


def _figure(ctx: Context, bar: int, energy: float) -> str:
    """The section's bass figure, a step calmer in very calm bars."""
    figure = ctx.texture(bar).bass
    if energy < 0.25 and figure == "drive":
        return "line"
    return figure


def bass_notes(ctx: Context) -> list[Note]:
    """Bass part: the section's figure clipped to each chord, approach notes into chord changes, the cadence."""
    rng = ctx.rng("bass")
    notes: list[Note] = []
    previous: int | None = None
    tonic = nearest_pitch({ctx.tonic}, 38, LOW, HIGH)
    for chord in ctx.chords:
        if chord.start_beat >= ctx.cadence_beat:
            break
        bar = int(chord.start_beat // ctx.numerator)
        bar_start = float(bar * ctx.numerator)
        energy = ctx.lifted_energy(chord.start_beat)
        figure = _figure(ctx, bar, energy)
        closing = chord.start_beat >= ctx.cadence_beat - 2 * ctx.numerator
        pedal = figure == "pedal" or over_pedal(ctx.mode, chord) and not closing
        root = tonic if pedal else _root(chord, previous)
        previous = root
        table = FIGURES[figure]
        for onset, length, interval in table.get(ctx.style, table["default"]):
            beat = bar_start + onset
            if onset >= ctx.numerator or not chord.start_beat <= beat < chord.end_beat:
                continue
            length = min(length, chord.end_beat - beat)
            pitch = root + interval if root + interval <= HIGH + 7 else root
            if interval == 3:
                pitch = nearest_pitch(set(chord.tones[1:2]), root + 3, LOW, HIGH + 7)
            velocity = 68 + 34 * energy + (6 if onset == 0 else 0)
            note = ctx.note(rng, pitch, beat, length * 0.96, velocity)
            notes += [note] if note else []
        if figure != "pedal" and energy >= 0.45 and chord.end_beat < ctx.cadence_beat and \
                chord.end_beat - chord.start_beat >= 2:
            target = _root(ctx.chord_at(chord.end_beat), root)
            step = [p for p in range(target - 2, target + 3) if p != target and p % 12 in ctx.scale]
            if step:
                approach = min(step, key=lambda p: (abs(p - target), p > target))
                start = chord.end_beat - 0.5
                notes = [n for n in notes if n.start < ctx.time(start) - 0.06 or n.start >= ctx.time(chord.end_beat)]
                note = ctx.note(rng, approach, start, 0.45, 70 + 40 * energy)
                notes += [note] if note else []
    final = nearest_pitch({ctx.tonic}, previous if previous is not None else 38, LOW, HIGH)
    note = ctx.note(rng, final, ctx.cadence_beat, 64.0, 70 + 30 * ctx.energy_at(ctx.cadence_time), exact=True)
    notes += [note] if note else []
    return monophonic(notes)
