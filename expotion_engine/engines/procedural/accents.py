"""The accent pass: after the parts are composed, mark each hit (drum accents, crash, bass and chord stabs).

The parts write only their regular content; every hit accent is placed here, on the
composed notes, so one module decides how a hit sounds in each style.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from expotion_engine.engines.procedural.harmony import nearest_pitch, voice
from expotion_engine.engines.procedural.parts.context import Context
from expotion_engine.engines.procedural.score import Part
from expotion_engine.types import Note

KICK, SNARE, CRASH, TOM_LOW, TOM_MID, TOM_HIGH, STINGER = 36, 38, 49, 45, 47, 50, 55
DRUM_CHANNEL = 9
FILL_PITCHES = (SNARE, TOM_HIGH, TOM_MID, TOM_LOW)
#: hit strength (0..1) from which a hit gets a crash, and from which it also gets the stinger
BIG_HIT, STINGER_HIT = 0.7, 0.9
CRASH_GAP_S, STINGER_GAP_S = 1.5, 4.0
#: hits at least this strong (0..1) get a chord stab (every hit does when there are no drums or bass)
STAB_HIT = 0.6
BASS_LOW, BASS_HIGH = 31, 50
CHORD_LOW, CHORD_HIGH = 50, 79


def cut_at(notes: list[Note], time: float) -> list[Note]:
    """Notes with any that sound at ``time`` ended there (or dropped when too short to keep)."""
    kept = []
    for n in notes:
        if n.start - 0.01 <= time < n.end:
            if time - n.start >= 0.05:
                kept.append(replace(n, end=time))
        else:
            kept.append(n)
    return kept


def accent_pass(ctx: Context, parts: list[Part]) -> list[Part]:
    """The parts with every hit accented: drum lead-ins and accents, bass notes and chord stabs on the hits."""
    by_name = {p.name: list(p.notes) for p in parts}
    if "drums" in by_name:
        by_name["drums"] = _drum_accents(ctx, by_name["drums"])
    if "bass" in by_name:
        by_name["bass"] = _bass_accents(ctx, by_name["bass"])
    if "harmony" in by_name:
        by_name["harmony"] = _chord_stabs(ctx, by_name["harmony"])
    return [replace(p, notes=tuple(by_name[p.name])) for p in parts]


def _velocity(base: float, energy: float) -> float:
    return base * (0.62 + 0.48 * energy)


def _drum_accents(ctx: Context, notes: list[Note]) -> list[Note]:
    """A 16th lead-in before each big hit (replacing the groove there) and the hit's own kick, snare or tom,
    crash (not two within 1.5 s) and, for the biggest, the stinger."""
    rng = ctx.rng("accents")
    for hit in ctx.hits:
        if hit.strength < BIG_HIT:
            continue
        hit_beat = ctx.tempo_map.beat_at(hit.time)
        bar_start = (hit_beat - 1.0) // ctx.numerator * ctx.numerator
        if hit_beat - 1.0 < 0 or hit_beat >= ctx.cadence_beat or ctx.lifted_energy(bar_start + ctx.numerator / 2) < 0.3:
            continue
        start = max(np.floor((hit_beat - 1.0) * 4) / 4, bar_start)
        steps = int(round((hit_beat - start) * 4))
        t0, t1 = ctx.time(start), hit.time
        notes = [n for n in notes if not t0 - 0.01 <= n.start < t1 - 0.01]
        energy = ctx.lifted_energy(start)
        for i in range(steps):
            pitch = FILL_PITCHES[min(i * len(FILL_PITCHES) // steps, len(FILL_PITCHES) - 1)] if energy > 0.55 else SNARE
            note = ctx.note(rng, pitch, start + i * 0.25, 0.2, _velocity(70 + 40 * i // max(steps - 1, 1), energy),
                            channel=DRUM_CHANNEL)
            notes += [note] if note else []
    last_crash = last_stinger = -1e9
    middle = TOM_LOW if ctx.style == "cinematic" else SNARE
    for hit in ctx.hits:
        s = min(hit.strength, 1.0)
        pitches = [KICK]
        if s >= BIG_HIT and hit.time - last_crash >= CRASH_GAP_S:
            pitches.append(CRASH)
            last_crash = hit.time
        elif s >= 0.35:
            pitches.append(middle)
        if s >= STINGER_HIT and hit.time - last_stinger >= STINGER_GAP_S:
            pitches.append(STINGER)
            last_stinger = hit.time
        for pitch in pitches:
            note = ctx.note_seconds(pitch, hit.time, 0.5, 84 + 42 * s, channel=DRUM_CHANNEL)
            notes += [note] if note else []
    return notes


def _sounding(notes: list[Note], time: float, default: int) -> int:
    """Pitch of the lowest note sounding (or last started) at ``time``."""
    before = [n for n in notes if n.start <= time + 1e-6]
    if not before:
        return default
    sounding = [n for n in before if n.end > time]
    return min(sounding, key=lambda n: n.pitch).pitch if sounding else before[-1].pitch


def _bass_accents(ctx: Context, notes: list[Note]) -> list[Note]:
    """The chord root, led from the bass line, on every hit (whatever rings there is cut)."""
    notes = sorted(notes, key=lambda n: n.start)
    for hit in ctx.hits:
        chord = ctx.chord_at(ctx.tempo_map.beat_at(hit.time))
        root = nearest_pitch({chord.root}, _sounding(notes, hit.time, 38), BASS_LOW, BASS_HIGH)
        note = ctx.note_seconds(root, hit.time, 0.6, 88 + 36 * min(hit.strength, 1.0))
        if note:
            notes = sorted(cut_at(notes, hit.time) + [note], key=lambda n: n.start)
    return notes


def _chord_stabs(ctx: Context, notes: list[Note]) -> list[Note]:
    """A stab of the current chord on strong hits (on every hit when harmony plays alone); pads sustain it."""
    alone = not {"drums", "bass"} & ctx.parts
    pad = ctx.style in ("ambient", "cinematic")
    for hit in ctx.hits:
        if hit.strength < STAB_HIT and not alone:
            continue
        chord = ctx.chord_at(ctx.tempo_map.beat_at(hit.time))
        near = [n.pitch for n in notes if n.start - 0.01 <= hit.time < n.end and n.pitch >= CHORD_LOW]
        center = float(np.mean(near)) if near else 64.0
        voicing = voice(chord.tones, tuple(sorted(near)) or None, CHORD_LOW, CHORD_HIGH, 4, center)
        ringing = max((n.end for n in notes if n.start - 0.01 <= hit.time < n.end), default=hit.time)
        notes = cut_at(notes, hit.time)
        for pitch in voicing:
            length = max(0.7, ringing - hit.time) if pad else 0.7
            note = ctx.note_seconds(pitch, hit.time, length, 88 + 36 * min(hit.strength, 1.0))
            notes += [note] if note else []
    return notes
