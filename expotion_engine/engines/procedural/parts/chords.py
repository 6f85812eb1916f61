"""The harmony part: voice-led chords as pads, comping keys or arpeggios, thicker and higher with energy."""

from __future__ import annotations

import numpy as np

from expotion_engine.engines.procedural.harmony import Chord, nearest_pitch, voice
from expotion_engine.engines.procedural.parts.context import Context
from expotion_engine.types import Note

LOW, HIGH = 50, 79

#: comping rhythms (onset, length) for keys by energy level
COMPING: dict[int, list[tuple[float, float]]] = {
    0: [(0, 4)],
    1: [(0, 2), (2, 2)],
    2: [(0, 1.5), (1.5, 1), (2.5, 1.5)],
    3: [(0, 0.5), (0.75, 0.75), (1.5, 0.5), (2, 0.5), (2.75, 0.75), (3.5, 0.5)],
}
#: which texture each style's harmony part plays
TEXTURE = {"ambient": "pad", "cinematic": "pad", "documentary": "keys", "pop": "keys", "dance": "keys",
           "lofi": "keys", "solo": "arpeggio"}


def _level(energy: float) -> int:
    return 0 if energy < 0.32 else 1 if energy < 0.55 else 2 if energy < 0.76 else 3


def chord_notes(ctx: Context, texture: str | None = None) -> list[Note]:
    """Harmony part over every chord to the cadence, the final tonic chord ringing to the end."""
    rng = ctx.rng("harmony")
    texture = texture or TEXTURE.get(ctx.style, "keys")
    notes: list[Note] = []
    previous: tuple[int, ...] | None = None
    for chord in ctx.chords:
        if chord.start_beat >= ctx.cadence_beat:
            break
        energy = ctx.lifted_energy(chord.start_beat)
        center = 60 + 7 * energy + ctx.register_shift
        voices = 3 if energy < 0.3 else 4
        voicing = voice(chord.tones, previous, LOW + ctx.register_shift, HIGH + ctx.register_shift, voices, center)
        previous = voicing
        notes += _texture(ctx, rng, texture, chord, voicing, energy)
    final = voice(ctx.chords[-1].tones[:3], previous, LOW, HIGH, 4, 62)
    level = 60 + 30 * ctx.energy_at(ctx.cadence_time)
    for i, pitch in enumerate(final):
        note = ctx.note(rng, pitch, ctx.cadence_beat + (0.06 * i if texture == "arpeggio" else 0), 64.0, level,
                        exact=True)
        notes += [note] if note else []
    if texture == "arpeggio":
        bass = nearest_pitch({ctx.tonic}, 40, 33, 47)
        note = ctx.note(rng, bass, ctx.cadence_beat, 64.0, level, exact=True)
        notes += [note] if note else []
    return sorted(notes, key=lambda n: (n.start, n.pitch))


def _texture(ctx: Context, rng: np.random.Generator, texture: str, chord: Chord, voicing: tuple[int, ...],
             energy: float) -> list[Note]:
    """Notes of one chord in the given texture."""
    span = chord.end_beat - chord.start_beat
    velocity = 52 + 50 * energy
    out: list[Note | None] = []
    if texture == "pad":
        for pitch in voicing:
            out.append(ctx.note(rng, pitch, chord.start_beat, span * 0.99, velocity, jitter=0.004))
        if energy >= 0.7:
            top = voicing[-1]
            for k in range(int(span * 2)):
                out.append(ctx.note(rng, top + 12 if k % 2 else top, chord.start_beat + k * 0.5, 0.4,
                                    velocity - 10 + (8 if k % 2 == 0 else 0)))
    elif texture == "arpeggio":
        bass = nearest_pitch({chord.root}, 40, 33, 47)
        out.append(ctx.note(rng, bass, chord.start_beat, span * 0.98, velocity + 4))
        step = 0.5 if energy >= 0.35 else 1.0
        order = list(voicing) + list(voicing[1:-1])[::-1]
        k = 0
        while k * step < span - 1e-9:
            pitch = order[k % len(order)]
            out.append(ctx.note(rng, pitch, chord.start_beat + k * step, min(step * 2.5, span - k * step),
                                velocity - 6 + (6 if k == 0 else 0)))
            k += 1
    else:
        for onset, length in COMPING[_level(energy)]:
            beat = (chord.start_beat // ctx.numerator) * ctx.numerator + onset
            if onset >= ctx.numerator or not chord.start_beat <= beat < chord.end_beat:
                continue
            length = min(length, chord.end_beat - beat)
            accent = 8 if onset == 0 else 0
            for i, pitch in enumerate(voicing):
                out.append(ctx.note(rng, pitch, beat + 0.004 * i, length * 0.92, velocity + accent - 3 * i,
                                    jitter=0.006))
    return [n for n in out if n is not None]
