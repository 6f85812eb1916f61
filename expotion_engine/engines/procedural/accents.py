"""The accent pass: after the parts are composed, mark each hit, clear flams and close the score at the cadence.

The parts write only their regular content; this pass decides how each hit sounds:
- a hit on the grid (fitted, or a 16th up to :data:`SNAP_S` late / :data:`SNAP_EARLY_S`
  early) gets a rhythmic accent exactly on its grid time: in drum styles a kick with a
  snare/tom or crash, a lead-in of three 16ths before big hits, the bass root and a chord
  stab; in ambient and solo styles a voicing change of the harmony with a swell into it;
- a hit off the grid gets a non-rhythmic accent: the stinger (low tom, crash and chord
  stab, an orchestral hit) where there are drums and the hit is strong, otherwise a swell
  (gain rising into the hit);
- then no two percussive onsets (drum kit and accent notes) lie within :data:`FLAM_S`
  of each other (the accent wins; groove notes meant together with it are aligned, the
  others dropped), no note starts in the :data:`CLEAR_BEFORE_S` before a struck accent
  or the :data:`CLEAR_AFTER_S` after it, tonal notes starting within :data:`FLAM_S` of it
  move onto it, and nothing starts after the final cadence except the cadence itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from expotion_engine.engines.procedural.fit import Placement
from expotion_engine.engines.procedural.harmony import nearest_pitch, voice
from expotion_engine.engines.procedural.hits import SOFT_STYLES
from expotion_engine.engines.procedural.parts.context import Context
from expotion_engine.engines.procedural.score import Automation, Part
from expotion_engine.types import Note

KICK, SNARE, CRASH, TOM_LOW, TOM_MID, TOM_HIGH = 36, 38, 49, 45, 47, 50
DRUM_CHANNEL = 9
FILL_PITCHES = (SNARE, TOM_HIGH, TOM_MID, TOM_LOW)
#: hit strength (0..1) from which a hit gets a crash and a lead-in; least time (s) between two accent crashes
#: (rhythmic, stinger or the cadence's): a cymbal struck again while it still rings has a weak attack, and its
#: sample's later swell is then heard as a second onset (a flam), so the later accent gets its drum body instead
BIG_HIT, CRASH_GAP_S = 0.7, 1.5
#: a struck accent less than this (s) after another is part of a flurry: one drum marks it, no crash or lead-in
FLURRY_S = 0.5
#: hits at least this strong (0..1) get a chord stab (every hit does when there are no drums or bass)
STAB_HIT = 0.6
#: accent kinds struck with notes on the hit (a swell has no onset of its own; the cadence has its own notes)
STRUCK = ("rhythmic", "soft", "stinger")
#: an unfitted hit at least this strong gets the stinger (where there are drums) rather than only a swell
OFF_GRID_STINGER = 0.5
#: an unfitted hit gets its accent on a 16th of the map up to this late (s), or this early (sound before picture
#: is what viewers notice most); off the grid, a strong hit's stinger comes as close to the grid as these allow
SNAP_S, SNAP_EARLY_S = 0.03, 0.01
#: percussive onsets closer than this (s) are a flam; onsets closer than ALIGN_S were meant together; no note
#: starts in the CLEAR_BEFORE_S before an accent nor in the CLEAR_AFTER_S after it (more than a flam's width, so
#: the hit stands clear even as a listener, or an onset detector a frame or two early, hears it)
FLAM_S, ALIGN_S, CLEAR_BEFORE_S, CLEAR_AFTER_S = 0.09, 0.03, 0.15, 0.12
#: loudest velocity of an accent in the soft styles
SOFT_VELOCITY = 96
#: swell: rise before the hit (s, at least one beat), peak gain (dB at full strength), fall after it (s)
SWELL_RISE_S, SWELL_DB, SWELL_FALL_S = 0.6, 5.0, 0.8
SWELL_RATE = 50.0
BASS_LOW, BASS_HIGH = 31, 50
CHORD_LOW, CHORD_HIGH = 50, 79


@dataclass(frozen=True)
class Accent:
    """How one hit was marked: the accent's onset (s, None when it has none), its kind and the hit's grid offset.

    Kinds: "rhythmic" (drums, bass and chord stab on the grid), "soft" (voicing change and
    swell on the grid, ambient and solo styles), "stinger" and "swell" (off the grid),
    "cadence" (the hit is the final cadence), "merged" (just before the cadence) and
    "after cadence" (left unmarked).
    """

    placement: Placement
    time: float | None
    kind: str
    grid_offset: float


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


def grid_time(ctx: Context, time: float) -> float:
    """The nearest 16th of the tempo map to ``time``."""
    return ctx.time(round(ctx.tempo_map.beat_at(time) * 4) / 4)


def plan_accents(ctx: Context, placements: Sequence[Placement]) -> list[Accent]:
    """The onset and kind of every hit's accent: rhythmic on the grid, stinger or swell off it, none after the
    cadence (a hit on the cadence is marked by the cadence)."""
    drums = "drums" in ctx.parts and ctx.style not in SOFT_STYLES
    on_grid = "soft" if ctx.style in SOFT_STYLES else "rhythmic"
    cadence = ctx.cadence_time
    out = []
    for p in placements:
        hit = p.hit
        offset = grid_time(ctx, hit.event_time) - hit.event_time
        if p.fitted and abs(ctx.time(p.beat) - cadence) < 1e-6 or abs(hit.accent_time - cadence) <= SNAP_S:
            out.append(Accent(p, cadence, "cadence", offset))
            continue
        if hit.accent_time > cadence - FLAM_S:
            out.append(Accent(p, None, "after cadence" if hit.accent_time > cadence else "merged", offset))
            continue
        if p.fitted:
            out.append(Accent(p, ctx.time(p.beat), on_grid, offset))
            continue
        snapped = grid_time(ctx, hit.accent_time)
        nearest = min(max(snapped, hit.accent_time - SNAP_EARLY_S), hit.accent_time + SNAP_S, cadence - FLAM_S)
        if abs(nearest - snapped) < 1e-9:
            out.append(Accent(p, snapped, on_grid, offset))
        elif hit.strong or (drums and hit.strength >= OFF_GRID_STINGER):
            out.append(Accent(p, nearest, "stinger" if drums or ctx.style not in SOFT_STYLES else "soft", offset))
        else:
            out.append(Accent(p, hit.accent_time, "swell", offset))
    return out


def accent_pass(ctx: Context, parts: list[Part], placements: Sequence[Placement]) -> tuple[list[Part], dict]:
    """The parts with every hit accented, flams cleared and nothing after the cadence; and the hit report."""
    accents = plan_accents(ctx, placements)
    notes = {p.name: list(p.notes) for p in parts}
    added: dict[str, list[Note]] = {name: [] for name in notes}
    swells: list[tuple[float, float]] = []
    last_crash, last_struck = -1e9, -1e9
    for accent in accents:
        if accent.time is None:
            continue
        t, s = accent.time, min(accent.placement.hit.strength, 1.0)
        crash_free = t - last_crash >= CRASH_GAP_S
        if accent.kind == "cadence":
            if "drums" in notes and ctx.style not in SOFT_STYLES:
                added["drums"] += _drum_accent(ctx, t, s, crash=crash_free)
            continue
        flurry, last_struck = t - last_struck < FLURRY_S, t if accent.kind in STRUCK else last_struck
        if accent.kind == "rhythmic":
            if "drums" in notes:
                crash = s >= BIG_HIT and crash_free and not flurry
                last_crash = t if crash else last_crash
                if not flurry:
                    notes["drums"] = _lead_in(ctx, notes["drums"], accent)
                added["drums"] += _drum_accent(ctx, t, s, crash, alone=flurry)
            if "bass" in notes:
                notes["bass"], stab = _bass_accent(ctx, notes["bass"], t, s)
                added["bass"] += stab
            if "harmony" in notes and (s >= STAB_HIT or not {"drums", "bass"} & set(notes)):
                notes["harmony"], stab = _chord_stab(ctx, notes["harmony"], t, s)
                added["harmony"] += stab
        elif accent.kind == "soft":
            if "harmony" in notes:
                notes["harmony"], change = _voicing_change(ctx, notes["harmony"], t, s)
                added["harmony"] += change
            swells.append((t, s))
        elif accent.kind == "stinger":
            if "drums" in notes:
                added["drums"] += _stinger(ctx, t, s, crash=crash_free)
                last_crash = t if crash_free else last_crash
            elif "bass" in notes:
                notes["bass"], stab = _bass_accent(ctx, notes["bass"], t, s)
                added["bass"] += stab
            if "harmony" in notes:
                notes["harmony"], stab = _chord_stab(ctx, notes["harmony"], t, s)
                added["harmony"] += stab
        else:
            swells.append((t, s))
    if "drums" in notes:
        notes["drums"] = _one_crash(notes["drums"], added["drums"])
    onsets = sorted({round(a.time, 6) for a in accents if a.kind in STRUCK})
    final = {name: _clear_near(notes[name], onsets, name) + added[name] for name in notes}
    if "melody" in final and "drums" in notes and ctx.style not in SOFT_STYLES:
        final["melody"] = _answer_after(ctx, final["melody"], onsets)
    final = {name: _unique(ns) for name, ns in final.items()}
    final = _no_flams(final, added, ctx.cadence_time)
    final = {name: _close_at_cadence(ctx, ns) for name, ns in final.items()}
    target = next((name for name in ("harmony", "melody", "bass", "drums") if name in notes), None)
    out = []
    for part in parts:
        automation = dict(part.automation)
        if swells and part.name == target:
            automation["gain_db"] = _swell_curve(ctx, swells, part.automation.get("gain_db"))
        out.append(replace(part, notes=tuple(final[part.name]), automation=automation))
    return out, hit_report(ctx, accents, out)


def _velocity(base: float, energy: float) -> float:
    return base * (0.62 + 0.48 * energy)


def _lead_in(ctx: Context, notes: list[Note], accent: Accent) -> list[Note]:
    """Three 16ths of snare or toms on the beat before a big fitted hit, then a 16th rest so the hit stands clear;
    they replace the groove there."""
    p = accent.placement
    if not p.fitted or p.hit.strength < BIG_HIT or p.beat < 1.0:
        return notes
    start = p.beat - 1.0
    energy = ctx.lifted_energy(start)
    if energy < 0.3:
        return notes
    t0 = ctx.time(start)
    kept = [n for n in notes if not t0 - 0.01 <= n.start < accent.time - 0.01]
    for i in range(3):
        pitch = FILL_PITCHES[i + 1] if energy > 0.55 else SNARE
        note = ctx.note_seconds(pitch, ctx.time(start + i * 0.25), 0.15, _velocity(76 + 16 * i, energy),
                                channel=DRUM_CHANNEL)
        kept += [note] if note else []
    return kept


def _drum_accent(ctx: Context, t: float, s: float, crash: bool, alone: bool = False) -> list[Note]:
    """The hit's drums: a kick, with a crash for a big hit or a snare (a low tom in cinematic styles) for a middling
    one; in a flurry of hits (``alone``) the snare (low tom) alone, the sharpest attack of the kit."""
    body = TOM_LOW if ctx.style == "cinematic" else SNARE
    if alone:
        return [n for n in (ctx.note_seconds(body, t, 0.5, 84 + 42 * s, channel=DRUM_CHANNEL),) if n is not None]
    pitches = [KICK] + ([CRASH] if crash else [body] if s >= 0.35 else [])
    notes = [ctx.note_seconds(pitch, t, 0.5, 84 + 42 * s, channel=DRUM_CHANNEL) for pitch in pitches]
    return [n for n in notes if n is not None]


def _stinger(ctx: Context, t: float, s: float, crash: bool = True) -> list[Note]:
    """The off-grid accent where there are drums, an orchestral hit: a low tom (the timpani's place) and a crash on
    the hit (the tom alone while an earlier crash still rings), with nothing swelling into it so that its attack is
    the clear onset."""
    pitches = (TOM_LOW, CRASH) if crash else (TOM_LOW,)
    notes = [ctx.note_seconds(pitch, t, 1.0, 84 + 42 * s, channel=DRUM_CHANNEL) for pitch in pitches]
    return [n for n in notes if n is not None]


def _one_crash(groove: list[Note], accents: list[Note]) -> list[Note]:
    """The groove's crashes (section openings, the closing hit) less any within :data:`CRASH_GAP_S` of an accent's
    crash: the hit's cymbal is still ringing there, and struck again it is heard twice rather than louder."""
    crashes = np.array([n.start for n in accents if n.pitch == CRASH])
    if not crashes.size:
        return groove
    return [n for n in groove if n.pitch != CRASH or not np.any(
        (np.abs(crashes - n.start) < CRASH_GAP_S) & (np.abs(crashes - n.start) > 1e-6))]


def _sounding(notes: list[Note], time: float, default: int) -> int:
    """Pitch of the lowest note sounding (or last started) at ``time``."""
    before = [n for n in notes if n.start <= time + 1e-6]
    if not before:
        return default
    sounding = [n for n in before if n.end > time]
    return min(sounding, key=lambda n: n.pitch).pitch if sounding else max(before, key=lambda n: n.start).pitch


def _bass_accent(ctx: Context, notes: list[Note], t: float, s: float) -> tuple[list[Note], list[Note]]:
    """The chord root, led from the bass line, on the hit (whatever rings there is cut)."""
    chord = ctx.chord_at(ctx.tempo_map.beat_at(t))
    root = nearest_pitch({chord.root}, _sounding(notes, t, 38), BASS_LOW, BASS_HIGH)
    note = ctx.note_seconds(root, t, 0.6, 88 + 36 * s)
    return cut_at(notes, t), [note] if note else []


def _chord_stab(ctx: Context, notes: list[Note], t: float, s: float) -> tuple[list[Note], list[Note]]:
    """A stab of the current chord on the hit; pads and strings sustain it as long as the chord rang."""
    chord = ctx.chord_at(ctx.tempo_map.beat_at(t))
    near = sorted(n.pitch for n in notes if n.start - 0.01 <= t < n.end and n.pitch >= CHORD_LOW)
    center = float(np.mean(near)) if near else 64.0
    voicing = voice(chord.tones, tuple(near) or None, CHORD_LOW, CHORD_HIGH, 4, center)
    ringing = max((n.end for n in notes if n.start - 0.01 <= t < n.end), default=t)
    length = max(0.7, ringing - t) if ctx.style in ("ambient", "cinematic") else 0.7
    stab = [ctx.note_seconds(pitch, t, length, 88 + 36 * s) for pitch in voicing]
    return cut_at(notes, t), [n for n in stab if n is not None]


def _voicing_change(ctx: Context, notes: list[Note], t: float, s: float) -> tuple[list[Note], list[Note]]:
    """The soft styles' accent: the ringing chord re-voiced wider and higher on the hit (a low root under it in the
    solo style), no louder than :data:`SOFT_VELOCITY`."""
    chord = ctx.chord_at(ctx.tempo_map.beat_at(t))
    ringing = [n for n in notes if n.start - 0.01 <= t < n.end]
    end = max((n.end for n in ringing), default=min(ctx.time(chord.end_beat), ctx.end_time))
    level = max((n.velocity for n in ringing), default=64)
    velocity = min(level + 10 + 12 * s, SOFT_VELOCITY)
    near = tuple(sorted(n.pitch for n in ringing if n.pitch >= CHORD_LOW))
    center = (float(np.mean(near)) if near else 64.0) + 4.0
    voicing = voice(chord.tones, None, CHORD_LOW, CHORD_HIGH + 5, 5, center)
    pitches = list(voicing) + ([nearest_pitch({chord.root}, 36, 28, 43)] if ctx.style == "solo" else [])
    length = max(end - t, 0.6)
    change = [ctx.note_seconds(pitch, t, length, velocity) for pitch in pitches]
    return cut_at(notes, t), [n for n in change if n is not None]


def _clear_near(notes: list[Note], onsets: list[float], part: str) -> list[Note]:
    """Regular notes near an accent: within :data:`FLAM_S` drums are dropped and tonal notes move onto it; any other
    note starting in the :data:`CLEAR_BEFORE_S` before it or the :data:`CLEAR_AFTER_S` after it is dropped, so the
    hit stands clear."""
    if not onsets:
        return notes
    times = np.array(onsets)
    out = []
    for n in notes:
        k = int(np.argmin(np.abs(times - n.start)))
        gap = n.start - times[k]
        if abs(gap) < 1e-6 or gap >= CLEAR_AFTER_S or gap <= -CLEAR_BEFORE_S:
            out.append(n)
        elif abs(gap) < FLAM_S and part != "drums" and n.end - times[k] >= 0.05:
            out.append(replace(n, start=float(times[k])))
    if part in ("bass", "melody"):
        out = _one_line(out)
    return out


def _answer_after(ctx: Context, notes: list[Note], onsets: list[float]) -> list[Note]:
    """The melody's notes that would start on a struck accent start on the first 16th clear of every accent (at
    least :data:`CLEAR_AFTER_S` after and :data:`CLEAR_BEFORE_S` before one) instead, or go when too short: the line
    answers the hit rather than blur it, a lead's softer attack peaking tens of ms after the drums' being heard as
    a second onset."""
    struck = set(onsets)
    times = np.array(onsets)
    out = []
    for n in notes:
        if round(n.start, 6) not in struck:
            out.append(n)
            continue
        sixteenth = np.ceil(ctx.tempo_map.beat_at(n.start + CLEAR_AFTER_S) * 4 - 1e-6) / 4
        later = ctx.time(sixteenth)
        while n.end - later >= 0.1 and np.any((times > later - CLEAR_AFTER_S) & (times < later + CLEAR_BEFORE_S)):
            sixteenth += 0.25
            later = ctx.time(sixteenth)
        if n.end - later >= 0.1:
            out.append(replace(n, start=round(later, 6)))
    return _one_line(out)


def _unique(notes: Iterable[Note]) -> list[Note]:
    """One note per pitch and onset: of notes struck together on one pitch the loudest (then longest) stays."""
    best: dict[tuple[int, float], Note] = {}
    for n in notes:
        key = (n.pitch, round(n.start, 5))
        if key not in best or (n.velocity, n.end) > (best[key].velocity, best[key].end):
            best[key] = n
    return list(best.values())


def _one_line(notes: Iterable[Note]) -> list[Note]:
    """A monophonic line: each note ends where the next begins; of two starting together the louder stays."""
    out: list[Note] = []
    for n in sorted(notes, key=lambda n: (n.start, -n.velocity)):
        if out and n.start - out[-1].start < 1e-6:
            continue
        if out and out[-1].end > n.start:
            if n.start - out[-1].start < 0.05:
                out.pop()
            else:
                out[-1] = replace(out[-1], end=n.start)
        out.append(n)
    return out


def _no_flams(parts: dict[str, list[Note]], added: dict[str, list[Note]], cadence: float) -> dict[str, list[Note]]:
    """Percussive onsets (the drum kit and every accent note) at least :data:`FLAM_S` apart: accents first, then the
    cadence, then the loudest; a note within :data:`ALIGN_S` of a kept onset joins it, a further one is dropped."""
    accent_ids = {id(n) for ns in added.values() for n in ns}
    events = [(name, n) for name, ns in parts.items() for n in ns if name == "drums" or id(n) in accent_ids]

    def priority(event: tuple[str, Note]) -> tuple[int, float]:
        note = event[1]
        rank = 2 if id(note) in accent_ids else 1 if abs(note.start - cadence) < 1e-4 else 0
        return rank, note.velocity

    kept_onsets: list[float] = []
    struck: set[tuple[str, int, float]] = set()
    moved: dict[int, Note | None] = {}
    for name, note in sorted(events, key=priority, reverse=True):
        near = min(kept_onsets, key=lambda o: abs(o - note.start), default=None)
        if near is None or abs(near - note.start) >= FLAM_S:
            kept_onsets.append(note.start)
            near = note.start
        elif abs(near - note.start) < 1e-6:
            pass
        elif abs(near - note.start) < ALIGN_S and note.end - near >= 0.03 and id(note) not in accent_ids:
            moved[id(note)] = replace(note, start=near)
        else:
            moved[id(note)] = None
            continue
        key = (name, note.pitch, round(near, 6))
        if key in struck:
            moved[id(note)] = None  # the same drum struck twice at one onset
        struck.add(key)
    out = {}
    for name, ns in parts.items():
        result = [moved.get(id(n), n) for n in ns]
        out[name] = [n for n in result if n is not None]
    return out


def _close_at_cadence(ctx: Context, notes: list[Note]) -> list[Note]:
    """Nothing starts after the final cadence except the cadence itself (notes from it that ring to the end)."""
    cadence = ctx.cadence_time
    roll = ctx.time(ctx.cadence_beat + 0.25) - cadence
    return [n for n in notes if n.start <= cadence + 1e-3
            or (n.start <= cadence + roll and n.end >= ctx.end_time - 1e-3)]


def _swell_curve(ctx: Context, swells: list[tuple[float, float]], existing: Automation | None) -> Automation:
    """Gain automation (dB) rising into each swell's hit and settling after it, on top of any existing gain curve."""
    n = int(np.ceil(ctx.duration * SWELL_RATE)) + 1
    times = np.arange(n) / SWELL_RATE
    gain = np.zeros(n)
    if existing is not None:
        src = np.arange(len(existing.values)) / existing.rate
        gain += np.interp(times, src, np.asarray(existing.values, dtype=np.float64))
    for t, s in swells:
        rise = max(SWELL_RISE_S, ctx.time(ctx.tempo_map.beat_at(t)) - ctx.time(ctx.tempo_map.beat_at(t) - 1.0))
        peak = SWELL_DB * (0.4 + 0.6 * s)
        up = (times >= t - rise) & (times < t)
        gain[up] += peak * ((times[up] - (t - rise)) / rise) ** 2
        down = (times >= t) & (times < t + SWELL_FALL_S)
        gain[down] += peak * (1.0 - (times[down] - t) / SWELL_FALL_S)
    return Automation(SWELL_RATE, tuple(np.round(gain, 3)))


def hit_report(ctx: Context, accents: Sequence[Accent], parts: Sequence[Part]) -> dict:
    """Per take: how many hits landed within 30/60 ms of the 16th grid, how each was accented, and per hit the event,
    accent onset, grid offset and accent kind."""
    onsets = np.array(sorted({n.start for p in parts for n in p.notes}))
    kinds: dict[str, int] = {}
    per_hit = []
    for a in accents:
        hit = a.placement.hit
        kinds[a.kind] = kinds.get(a.kind, 0) + 1
        sounded = a.time is not None and onsets.size > 0 and float(np.min(np.abs(onsets - a.time))) < 1e-4
        per_hit.append({
            "event": round(hit.event_time, 4), "accent": None if a.time is None else round(a.time, 4),
            "cause": hit.cause, "strength": round(hit.strength, 3), "fitted": a.placement.fitted,
            "grid_offset_s": round(a.grid_offset, 4), "kind": a.kind, "note_at_accent": bool(sounded),
        })
    return {
        "selected": len(accents),
        "landed_30ms": int(sum(abs(round(a.grid_offset, 4)) <= 0.03 for a in accents)),
        "landed_60ms": int(sum(abs(round(a.grid_offset, 4)) <= 0.06 for a in accents)),
        "accented": int(sum(a.time is not None for a in accents)),
        "accent_kinds": kinds,
        "grid": "16th",
        "per_hit": per_hit,
    }
