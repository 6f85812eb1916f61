"""The harmony part: voice-led chords as pads, comping keys or arpeggios, thicker and higher with energy.

Each section plays its texture's figure and register, the voicing is re-centred every eight
bars, and a slow guide-tone countermelody joins where the section's texture asks for one.
"""

from __future__ import annotations

import numpy as np

from expotion_engine.engines.procedural.harmony import MODAL, Chord, nearest_pitch, over_pedal, voice
from expotion_engine.engines.procedural.parts.context import Context, monophonic
from expotion_engine.types import Note

LOW, HIGH = 50, 79
COUNTER_LOW, COUNTER_HIGH = 57, 71

#: comping rhythms (onset, length) for keys by energy level
COMPING: dict[int, list[tuple[float, float]]] = {
    0: [(0, 4)],
    1: [(0, 2), (2, 2)],
    2: [(0, 1.5), (1.5, 1), (2.5, 1.5)],
    3: [(0, 0.5), (0.75, 0.75), (1.5, 0.5), (2, 0.5), (2.75, 0.75), (3.5, 0.5)],
}
#: comping at a slow beat: the chords stay on the beats (one off-beat push at most)
SLOW_COMPING: dict[int, list[tuple[float, float]]] = {
    0: [(0, 4)],
    1: [(0, 2), (2, 2)],
    2: [(0, 2), (2, 1), (3, 1)],
    3: [(0, 1), (1, 1), (2, 1), (3, 0.5), (3.5, 0.5)],
}
#: which texture each style's harmony part plays
TEXTURE = {"ambient": "pad", "cinematic": "pad", "documentary": "keys", "pop": "keys", "dance": "keys",
           "lofi": "keys", "solo": "ballad"}


def _level(energy: float) -> int:
    return 0 if energy < 0.32 else 1 if energy < 0.55 else 2 if energy < 0.76 else 3


def _figure(ctx: Context, bar: int, own: str) -> str:
    """The harmony figure of ``bar``: the section's texture, "style" meaning the part's own figure."""
    figure = ctx.texture(bar).harmony
    if figure == "style" and own == "ballad":  # the solo piano breaks its chords until the peaks
        return "ballad" if ctx.texture(bar).drums == "full" else "arpeggio"
    if figure == "style":
        return own
    if figure == "pad" and ctx.style == "solo":
        return "keys"
    return figure


def chord_notes(ctx: Context) -> list[Note]:
    """Harmony part over every chord to the cadence in each section's figure and register (revoiced every eight
    bars), a guide-tone countermelody where the section asks for one, the final tonic chord ringing to the end."""
    rng = ctx.rng("harmony")
    own = TEXTURE.get(ctx.style, "keys")
    notes: list[Note] = []
    previous: tuple[int, ...] | None = None
    period = None
    for chord in ctx.chords:
        if chord.start_beat >= ctx.cadence_beat:
            break
        bar = int(chord.start_beat // ctx.numerator)
        section = ctx.section(bar)
        here = (section.start_bar, (bar - section.start_bar) // 8)
        if here != period:
            period, previous = here, None
        energy = ctx.lifted_energy(chord.start_beat)
        shift = ctx.register_shift + ctx.texture(bar).register + (3 if here[1] % 2 else 0)
        center = 60 + 7 * energy + shift
        voices = 3 if energy < 0.3 else 4
        voicing = voice(chord.tones, previous, LOW + shift, HIGH + shift, voices, center, chord.degree == 0)
        previous = voicing
        if ctx.mode in MODAL and ctx.tonic not in chord.tones:  # an inner tonic pedal keeps the mode's centre
            inner = nearest_pitch({ctx.tonic}, float(np.mean(voicing)), voicing[0] + 1, voicing[-1] + 2)
            voicing = tuple(sorted({*voicing, inner}))
        if over_pedal(ctx.mode, chord) and voicing[0] % 12 != ctx.tonic:  # the modal chord over its tonic
            voicing = (nearest_pitch({ctx.tonic}, voicing[0] - 6, voicing[0] - 11, voicing[0] - 1), *voicing)
        notes += _texture(ctx, rng, _figure(ctx, bar, own), chord, voicing, energy)
    notes += [n for n in _counter(ctx, rng)  # the line, where it does not double a chord note struck with it
              if not any(m.pitch == n.pitch and abs(m.start - n.start) < 0.05 for m in notes)]
    final = voice(ctx.chords[-1].tones[:3], previous, LOW, HIGH, 4, 62, root_position=True)
    level = 60 + 30 * ctx.energy_at(ctx.cadence_time)
    for i, pitch in enumerate(final):
        note = ctx.note(rng, pitch, ctx.cadence_beat + (0.06 * i if own != "pad" else 0), 64.0, level,
                        exact=True)
        notes += [note] if note else []
    if "bass" not in ctx.parts:
        bass = nearest_pitch({ctx.tonic}, 40, 33, 47)
        note = ctx.note(rng, bass, ctx.cadence_beat, 64.0, level, exact=True)
        notes += [note] if note else []
    return sorted(notes, key=lambda n: (n.start, n.pitch))


def _counter(ctx: Context, rng: np.random.Generator) -> list[Note]:
    """A slow countermelody on the chords' guide tones (third and seventh, the nearest to the last note), with a
    passing scale tone halfway through each chord toward the next one, in sections whose texture asks for it."""
    notes: list[Note] = []
    previous = 64 + ctx.register_shift
    low, high = COUNTER_LOW + ctx.register_shift, COUNTER_HIGH + ctx.register_shift
    for chord in ctx.chords:
        if chord.start_beat >= ctx.cadence_beat:
            break
        bar = int(chord.start_beat // ctx.numerator)
        if not ctx.texture(bar).counter:
            continue
        guides = set(chord.tones[1:2]) | set(chord.tones[3:4]) or set(chord.tones)
        options = [p for p in range(low, high + 1) if p % 12 in guides]
        pitch = min(options, key=lambda p: (abs(p - previous) + (3 if p == previous else 0), p)) if options \
            else previous  # the line moves: holding the same note costs more than a step
        span = chord.end_beat - chord.start_beat
        energy = ctx.lifted_energy(chord.start_beat)
        velocity = 50 + 34 * energy
        halves = [(0.0, span / 2), (span / 2, span / 2)] if span >= 2 else [(0.0, span)]
        target = nearest_pitch(set(ctx.chord_at(chord.end_beat).tones[1:2]), pitch, low, high)
        for k, (onset, length) in enumerate(halves):
            if k == 1:
                direction = 1 if target > pitch else -1 if target < pitch else (1 if rng.random() < 0.5 else -1)
                pitch = next(p for p in range(pitch + direction, pitch + 12 * direction, direction)
                             if p % 12 in ctx.scale)
            note = ctx.note(rng, pitch, chord.start_beat + onset, length * 0.97, velocity + (4 if k == 0 else 0),
                            jitter=0.004)
            notes += [note] if note else []
        previous = pitch
    return monophonic(notes)


def _texture(ctx: Context, rng: np.random.Generator, texture: str, chord: Chord, voicing: tuple[int, ...],
             energy: float) -> list[Note]:
    """Notes of one chord in the given texture."""
    span = chord.end_beat - chord.start_beat
    velocity = 56 + 38 * energy
    out: list[Note | None] = []
    if texture == "pad":
        for pitch in voicing:
            out.append(ctx.note(rng, pitch, chord.start_beat, span * 0.99, velocity, jitter=0.004))
        if ctx.mode in MODAL and "bass" not in ctx.parts or ctx.style == "ambient":  # a tonic drone under the pad
            drone = nearest_pitch({ctx.tonic}, voicing[0] - 7, LOW - 12, voicing[0] - 3)
            out.append(ctx.note(rng, drone, chord.start_beat, span * 0.99, velocity - 8, jitter=0.0))
        if energy >= 0.7:  # a pulse on the beats an octave above the top voice
            top = voicing[-1] + 12
            for k in range(int(span)):
                out.append(ctx.note(rng, top, chord.start_beat + k, 0.45, velocity - 14 + (8 if k == 0 else 0)))
    elif texture == "arpeggio":
        if "bass" not in ctx.parts:
            bass = nearest_pitch({ctx.tonic if over_pedal(ctx.mode, chord) else chord.root}, 40, 33, 47)
            out.append(ctx.note(rng, bass, chord.start_beat, span * 0.98, velocity + 4))
        step = 0.5 if energy >= 0.35 and "drums" in ctx.parts else 1.0
        order = list(voicing) + list(voicing[1:-1])[::-1]
        k = 0
        while k * step < span - 1e-9:
            pitch = order[k % len(order)]
            on_beat = (k * step) % 1 == 0
            out.append(ctx.note(rng, pitch, chord.start_beat + k * step, min(step * 2.5, span - k * step),
                                velocity - 4 + (6 if k == 0 else 0) - (0 if on_beat else 12)))
            k += 1
    elif texture == "ballad":  # the chord struck on every beat, root and fifth in the bass every other beat
        bass = nearest_pitch({ctx.tonic if over_pedal(ctx.mode, chord) else chord.root}, 40, 33, 47)
        for k in range(int(round(span))):
            beat = chord.start_beat + k
            if k % 2 == 0 and "bass" not in ctx.parts:
                out.append(ctx.note(rng, bass if k == 0 else bass + 7, beat, 1.9 if span - k >= 2 else 0.95,
                                    velocity + 2))
            for i, pitch in enumerate(voicing):
                out.append(ctx.note(rng, pitch, beat + 0.005 * i, 0.9, velocity - (4 if k % 2 else 0) - 2 * i,
                                    jitter=0.005))
    else:
        for onset, length in (SLOW_COMPING if ctx.slow else COMPING)[_level(energy)]:
            beat = (chord.start_beat // ctx.numerator) * ctx.numerator + onset
            if onset >= ctx.numerator or not chord.start_beat <= beat < chord.end_beat:
                continue
            length = min(length, chord.end_beat - beat)
            accent = 8 if onset == 0 else 0
            for i, pitch in enumerate(voicing):
                out.append(ctx.note(rng, pitch, beat + 0.004 * i, length * 0.92, velocity + accent - 3 * i,
                                    jitter=0.006))
    return [n for n in out if n is not None]
