"""Key, mode and chords: valence picks the mode, energy the tension and harmonic rhythm.

Pitch classes are 0..11 from C; chords are built from the mode's scale on a degree
(0 = tonic) as stacked thirds, with sevenths, suspensions and added ninths as tension
rises; voicings follow the previous chord by the smallest total movement.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

NOTE_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_ALIASES = {"C#": 1, "D#": 3, "Gb": 6, "G#": 8, "A#": 10, "Cb": 11, "Fb": 4, "E#": 5, "B#": 0}

MODES: dict[str, tuple[int, ...]] = {
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "major": (0, 2, 4, 5, 7, 9, 11),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
}
#: modes from brightest to darkest, with the valence at which each begins
MODE_LADDER: tuple[tuple[str, float], ...] = (
    ("lydian", 0.65), ("major", 0.2), ("mixolydian", 0.05), ("dorian", -0.2), ("minor", -0.6), ("phrygian", -1.01),
)
#: how far a valence may pull the key choice along the circle of fifths (sharp keys for bright, flat for dark)
KEY_SPREAD = 0.45

#: four-bar progressions as scale degrees (0-based) per mode, (calm, tense); each opens on the tonic (or returns to
#: it) and uses the mode's characteristic chord, so the key and its colour are heard
PROGRESSIONS: dict[str, tuple[tuple[tuple[int, ...], ...], tuple[tuple[int, ...], ...]]] = {
    "major": (((0, 5, 3, 4), (0, 3, 0, 4), (0, 2, 3, 4), (0, 4, 5, 3), (0, 3, 1, 4)),
              ((0, 4, 5, 3), (5, 3, 0, 4), (0, 5, 1, 4), (3, 4, 2, 5))),
    "lydian": (((0, 1, 0, 1), (0, 1, 6, 0), (0, 1, 2, 1), (0, 4, 1, 0)),
               ((0, 1, 4, 1), (5, 1, 0, 1), (0, 2, 1, 4), (0, 1, 5, 1))),
    "mixolydian": (((0, 6, 0, 6), (0, 6, 3, 0), (0, 4, 6, 0), (0, 1, 6, 0)),
                   ((0, 6, 4, 0), (0, 4, 6, 6), (0, 6, 1, 4), (5, 6, 0, 6))),
    "dorian": (((0, 6, 0, 3), (0, 2, 6, 0), (0, 3, 0, 6), (0, 6, 2, 0)),
               ((0, 3, 6, 0), (0, 2, 6, 4), (0, 6, 3, 6), (0, 4, 6, 0))),
    "minor": (((0, 5, 2, 6), (0, 3, 5, 6), (0, 5, 3, 4), (0, 6, 5, 3)),
              ((0, 5, 3, 4), (0, 6, 5, 4), (0, 3, 4, 0), (5, 6, 0, 4))),
    "phrygian": (((0, 1, 0, 6), (0, 1, 6, 0), (0, 6, 1, 0), (0, 1, 2, 1)),
                 ((0, 1, 5, 6), (0, 6, 5, 1), (0, 1, 3, 1), (5, 1, 0, 1))),
}
#: modes whose colour is heard against a tonic pedal (their characteristic chord over the tonic in the bass)
MODAL = ("lydian", "mixolydian", "dorian", "phrygian")
#: the degree whose chord carries the mode's colour (lydian II has the #4, dorian IV the natural 6, ...)
CHARACTERISTIC = {"major": 3, "lydian": 1, "mixolydian": 6, "dorian": 3, "minor": 5, "phrygian": 1}
#: degree that leads home in the final cadence
CADENCE_DEGREE = {"major": 4, "lydian": 1, "mixolydian": 6, "dorian": 6, "minor": 4, "phrygian": 1}
#: degrees that prepare that cadence chord in the bar before it (IV or ii before V; dorian returns to i first)
PREDOMINANT = {"major": (3, 1), "lydian": (5,), "mixolydian": (3,), "dorian": (0,), "minor": (3, 5), "phrygian": (6,)}


def parse_tonic(name: str) -> int:
    """Pitch class of a key name such as "D", "Eb" or "F#" (ValueError if it is none)."""
    text = name.strip()
    text = text[:1].upper() + text[1:]
    if text in NOTE_NAMES:
        return NOTE_NAMES.index(text)
    if text in _ALIASES:
        return _ALIASES[text]
    raise ValueError(f"{name!r} is not a key name; use one of {', '.join(NOTE_NAMES)} (or sharps such as F#).")


def mode_for_valence(valence: float, allowed: tuple[str, ...] = tuple(MODES)) -> str:
    """Brightest allowed mode whose threshold ``valence`` reaches (brighter modes for positive expression)."""
    ladder = [(m, v) for m, v in MODE_LADDER if m in allowed] or list(MODE_LADDER)
    for mode, threshold in ladder:
        if valence >= threshold:
            return mode
    return ladder[-1][0]


def fifths_position(pc: int) -> int:
    """Place of a key on the circle of fifths from C (-5 = Db .. +6 = F#)."""
    position = (pc * 7) % 12
    return position - 12 if position > 6 else position


def choose_tonic(valence: float, tonics: tuple[int, ...], rng: np.random.Generator) -> int:
    """One of ``tonics``, drawn with weights that favour sharp keys for a positive valence and flat keys for a
    negative one, so the key follows both the preset's choices and the expression."""
    positions = np.array([np.clip(fifths_position(t) / 4.0, -1.0, 1.0) for t in tonics])
    weights = np.exp(-0.5 * ((positions - np.clip(valence, -1.0, 1.0)) / KEY_SPREAD) ** 2) + 0.05
    return int(tonics[int(rng.choice(len(tonics), p=weights / weights.sum()))])


@dataclass(frozen=True)
class Chord:
    """A chord on a scale degree: root pitch class, chord tones (pitch classes, root first) and its span."""

    degree: int
    root: int
    tones: tuple[int, ...]
    start_beat: float
    end_beat: float
    symbol: str


def scale_pcs(tonic: int, mode: str) -> tuple[int, ...]:
    """Pitch classes of the scale, tonic first."""
    return tuple((tonic + i) % 12 for i in MODES[mode])


def build_chord(tonic: int, mode: str, degree: int, tension: float, start: float, end: float,
                dominant: bool = False) -> Chord:
    """Diatonic chord on ``degree``; tension adds a seventh (>0.45) and a ninth (>0.75), never on the tonic, which
    keeps the key clear."""
    scale = scale_pcs(tonic, mode)
    tones = [scale[(degree + 2 * i) % 7] for i in range(3)]
    if dominant:
        tones[1] = (tones[0] + 4) % 12
    if tension > 0.45 and degree != 0:
        tones.append(scale[(degree + 6) % 7] if not dominant else (tones[0] + 10) % 12)
    if tension > 0.75 and degree != 0:
        tones.append(scale[(degree + 1) % 7])
    third = (tones[1] - tones[0]) % 12
    quality = "" if third == 4 else "m"
    fifth = (tones[2] - tones[0]) % 12
    if fifth == 6:
        quality = "dim"
    seventh = ""
    ninth = ""
    if len(tones) == 5 or (len(tones) == 4 and degree == 0):
        ninth = "add9"
    if len(tones) > 3 and not (degree == 0 and len(tones) == 4):
        seventh = "maj7" if (tones[3] - tones[0]) % 12 == 11 else "7"
    symbol = NOTE_NAMES[tones[0]] + quality + seventh + ninth
    return Chord(degree, tones[0], tuple(tones), start, end, symbol)


def phrase_starts(section_starts: tuple[int, ...], cadence_bar: int) -> list[int]:
    """Bars where phrases restart: bar 0 and each section start at least four bars from the one before and from
    the cadence (shorter sections run on in the phrase before them)."""
    starts = [0]
    for s in sorted(section_starts):
        if s - starts[-1] >= 4 and cadence_bar - s >= 4:
            starts.append(s)
    return starts


def progression(
    tonic: int,
    mode: str,
    tension_at: np.ndarray,
    bar_beats: int,
    n_bars: int,
    cadence_bar: int,
    rng: np.random.Generator,
    section_starts: tuple[int, ...] = (0,),
) -> list[Chord]:
    """Chords bar by bar up to the cadence bar (tonic), in eight-bar periods from each section start.

    A period is a four-bar phrase (drawn by tension, never the previous period's) and its answer, which
    closes on the tonic through the mode's cadence chord; the bar before a new section holds that cadence
    chord; tense bars split into two chords.
    """
    calm, tense = PROGRESSIONS[mode]
    starts = phrase_starts(section_starts, cadence_bar)
    chords: list[Chord] = []
    phrase: tuple[int, ...] = calm[0]
    last_period: tuple[int, ...] | None = None
    for bar in range(n_bars):
        tension = float(tension_at[min(bar, len(tension_at) - 1)])
        section_start = max(s for s in starts if s <= bar)
        section_end = next((s for s in starts if s > bar), cadence_bar)
        position = bar - section_start
        if position % 8 == 0:
            pool = [p for p in (tense if tension > 0.55 else calm) if p != last_period]
            phrase = last_period = pool[int(rng.integers(len(pool)))]
        start = bar * bar_beats
        if bar >= cadence_bar:
            chords.append(build_chord(tonic, mode, 0, 0.0, start, start + bar_beats))
            continue
        if bar == cadence_bar - 1 or (bar == section_end - 1 and position >= 3):
            degree = CADENCE_DEGREE[mode]
            dominant = mode in ("major", "minor") and degree == 4
            chords.append(build_chord(tonic, mode, degree, max(tension, 0.5), start, start + bar_beats, dominant))
            continue
        degree = phrase[position % 4]
        if position % 8 >= 6 and section_end - bar > 2:  # the answer closes: cadence chord, then the tonic
            degree = CADENCE_DEGREE[mode] if position % 8 == 6 else 0
        if bar == cadence_bar - 2 and bar > 0:
            options = PREDOMINANT[mode]
            degree = options[int(rng.integers(len(options)))]
        if tension > 0.72 and bar_beats % 2 == 0 and position % 4 in (1, 3) and degree != 0:
            half = bar_beats / 2
            passing = phrase[(position + 1) % 4]
            passing = CHARACTERISTIC[mode] if passing == degree else passing
            chords.append(build_chord(tonic, mode, degree, tension, start, start + half))
            chords.append(build_chord(tonic, mode, passing, tension, start + half, start + bar_beats))
        else:
            chords.append(build_chord(tonic, mode, degree, tension, start, start + bar_beats))
    return chords


def over_pedal(mode: str, chord: Chord) -> bool:
    """True where the bass holds the tonic under ``chord``: the characteristic chord of a mode (IV over i in
    dorian, II over I in lydian ...), which makes the mode's colour heard against its tonic."""
    return mode in MODAL and chord.degree == CHARACTERISTIC[mode]


def bar_symbols(chords: list[Chord], bar_beats: int, n_bars: int) -> list[str]:
    """The chord symbols of each bar joined by "/" (one entry per bar), for reports and form measures."""
    out = []
    for bar in range(n_bars):
        lo, hi = bar * bar_beats, (bar + 1) * bar_beats
        out.append("/".join(c.symbol for c in chords if c.start_beat < hi and c.end_beat > lo))
    return out


def voice(tones: tuple[int, ...], previous: tuple[int, ...] | None, low: int, high: int, voices: int = 4,
          center: float | None = None, root_position: bool = False) -> tuple[int, ...]:
    """A voicing of ``tones`` in ``low..high`` that moves least from ``previous`` (root, third and seventh kept;
    with ``root_position`` the root lowest, as a tonic chord should stand)."""
    needed = {tones[0], tones[1]} | ({tones[3]} if len(tones) > 3 else set())
    pool = [p for p in range(low, high + 1) if p % 12 in tones]
    center = (low + high) / 2 if center is None else center
    best, best_cost = None, float("inf")
    for combo in itertools.combinations(pool, min(voices, len(pool))):
        if root_position and combo[0] % 12 != tones[0]:
            continue
        pcs = {p % 12 for p in combo}
        if not needed <= pcs or any(b - a < 3 for a, b in zip(combo, combo[1:], strict=False)):
            continue
        if combo[-1] - combo[0] > 19:
            continue
        if previous:
            cost = sum(abs(a - b) for a, b in zip(combo, previous, strict=False)) + 0.3 * abs(np.mean(combo) - center)
        else:
            cost = abs(float(np.mean(combo)) - center)
        if cost < best_cost:
            best, best_cost = combo, cost
    if best is None:
        root = low + (tones[0] - low) % 12
        best = tuple(root + (t - tones[0]) % 12 for t in tones[:voices])
    return tuple(best)


def nearest_pitch(pcs: tuple[int, ...] | set[int], target: float, low: int = 0, high: int = 127) -> int:
    """The pitch of one of ``pcs`` nearest ``target`` inside ``low..high``."""
    candidates = [p for p in range(max(low, 0), min(high, 127) + 1) if p % 12 in pcs]
    return min(candidates, key=lambda p: (abs(p - target), p)) if candidates else int(round(target))
