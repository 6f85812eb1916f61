"""Bass lines: roots led smoothly from chord to chord, rhythm from sustained notes to driving eighths with energy."""

from __future__ import annotations

from expotion_engine.engines.procedural.harmony import Chord, nearest_pitch
from expotion_engine.engines.procedural.parts.context import Context
from expotion_engine.types import Note

LOW, HIGH = 31, 50

#: energy level -> style -> (onset beat in the bar, length in beats, interval choice: 0 root, 7 fifth, 12 octave)
PATTERNS: dict[int, dict[str, list[tuple[float, float, int]]]] = {
    0: {"default": [(0, 4, 0)]},
    1: {"default": [(0, 2, 0), (2, 2, 0)], "lofi": [(0, 1.5, 0), (1.5, 2.5, 0)], "dance": [(0, 1.5, 0), (2, 1.5, 0)]},
    2: {
        "default": [(0, 1, 0), (1, 1, 0), (2, 1, 7), (3, 1, 0)],
        "lofi": [(0, 1.5, 0), (1.5, 1, 0), (2.5, 0.5, 12), (3, 1, 7)],
        "dance": [(0.5, 0.5, 0), (1.5, 0.5, 0), (2.5, 0.5, 0), (3.5, 0.5, 0)],
        "cinematic": [(0, 2, 0), (2, 1.5, 0), (3.5, 0.5, 7)],
    },
    3: {
        "default": [(b * 0.5, 0.45, 12 if b in (3, 6) else 0) for b in range(8)],
        "dance": [(0.5, 0.4, 0), (1.5, 0.4, 12), (2.5, 0.4, 0), (3.5, 0.4, 12), (3.75, 0.25, 7)],
        "lofi": [(0, 1, 0), (1.5, 0.5, 12), (2, 1, 7), (3, 0.5, 0), (3.5, 0.5, 3)],
        "cinematic": [(b * 0.5, 0.45, 0) for b in range(8)],
    },
}


def _level(energy: float) -> int:
    return 0 if energy < 0.3 else 1 if energy < 0.52 else 2 if energy < 0.74 else 3


def _root(chord: Chord, previous: int | None) -> int:
    return nearest_pitch({chord.root}, previous if previous is not None else 38, LOW, HIGH)


def bass_notes(ctx: Context) -> list[Note]:
    """Bass part: one pattern per bar clipped to each chord, approach notes into chord changes, cadence."""
    rng = ctx.rng("bass")
    notes: list[Note] = []
    previous: int | None = None
    style_key = ctx.style
    for chord in ctx.chords:
        if chord.start_beat >= ctx.cadence_beat:
            break
        root = _root(chord, previous)
        previous = root
        bar_start = (chord.start_beat // ctx.numerator) * ctx.numerator
        energy = ctx.lifted_energy(chord.start_beat)
        level = _level(energy)
        if ctx.section(int(bar_start // ctx.numerator)).name == "intro" and level > 1:
            level -= 1
        table = PATTERNS[level]
        pattern = table.get(style_key, table["default"])
        for onset, length, interval in pattern:
            beat = bar_start + onset
            if onset >= ctx.numerator or not chord.start_beat <= beat < chord.end_beat:
                continue
            length = min(length, chord.end_beat - beat)
            pitch = root + interval if root + interval <= HIGH + 7 else root
            if interval == 3:
                pitch = nearest_pitch(set(chord.tones[1:2]), root + 3, LOW, HIGH + 7)
            velocity = 64 + 46 * energy + (8 if onset == 0 else 0)
            note = ctx.note(rng, pitch, beat, length * 0.96, velocity)
            if note:
                notes.append(note)
        if level >= 2 and chord.end_beat < ctx.cadence_beat and chord.end_beat - chord.start_beat >= 2:
            following = ctx.chord_at(chord.end_beat)
            target = _root(following, root)
            step = [p for p in range(target - 2, target + 3) if p != target and p % 12 in ctx.scale]
            if step:
                approach = min(step, key=lambda p: (abs(p - target), p > target))
                note = ctx.note(rng, approach, chord.end_beat - 0.5, 0.45, 70 + 40 * energy)
                if note:
                    notes = [n for n in notes if n.end <= note.start + 1e-6 or n.start >= note.end] + [note]
    final = nearest_pitch({ctx.tonic}, previous if previous is not None else 38, LOW, HIGH)
    note = ctx.note(rng, final, ctx.cadence_beat, 64.0, 70 + 30 * ctx.energy_at(ctx.cadence_time), exact=True)
    notes += [note] if note else []
    return sorted(notes, key=lambda n: n.start)
