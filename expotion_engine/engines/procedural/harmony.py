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
#: keys that sit well for every part's register, in order of preference
COMFORTABLE_TONICS = (2, 0, 7, 9, 5, 4, 10, 3)

#: progressions as scale degrees (0-based) per mode, (calm, tense)
PROGRESSIONS: dict[str, tuple[tuple[tuple[int, ...], ...], tuple[tuple[int, ...], ...]]] = {
    "major": (((0, 3, 0, 4), (0, 5, 3, 4), (0, 3, 5, 4), (0, 4, 5, 3)), ((0, 4, 5, 3), (5, 3, 0, 4), (0, 5, 1, 4))),
    "lydian": (((0, 1, 0, 4), (0, 1, 6, 0)), ((0, 1, 4, 5), (0, 1, 5, 4))),
    "mixolydian": (((0, 6, 3, 0), (0, 3, 6, 0)), ((0, 6, 3, 4), (0, 4, 6, 3))),
    "dorian": (((0, 3, 0, 3), (0, 3, 6, 0)), ((0, 3, 6, 4), (0, 2, 3, 4))),
    "minor": (((0, 5, 2, 6), (0, 3, 5, 6)), ((0, 5, 3, 4), (0, 6, 5, 4), (0, 3, 4, 0))),
    "phrygian": (((0, 1, 0, 6), (0, 1, 6, 0)), ((0, 1, 5, 6), (0, 6, 5, 1))),
}
#: degree that leads home in the final cadence
CADENCE_DEGREE = {"major": 4, "lydian": 1, "mixolydian": 6, "dorian": 3, "minor": 4, "phrygian": 1}
#: degrees that prepare that cadence chord in the bar before it (e.g. IV or ii before V)
PREDOMINANT = {"major": (3, 1), "lydian": (5,), "mixolydian": (3,), "dorian": (6,), "minor": (3, 5), "phrygian": (6,)}


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
    """Diatonic chord on ``degree``; tension adds a seventh (>0.45, not on the tonic, which keeps the key clear)
    and a ninth (>0.75)."""
    scale = scale_pcs(tonic, mode)
    tones = [scale[(degree + 2 * i) % 7] for i in range(3)]
    if dominant:
        tones[1] = (tones[0] + 4) % 12
    if tension > 0.45 and degree != 0:
        tones.append(scale[(degree + 6) % 7] if not dominant else (tones[0] + 10) % 12)
    if tension > 0.75 and (degree != 0 or tension > 0.85):
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


def progression(
    tonic: int,
    mode: str,
    tension_at: np.ndarray,
    bar_beats: int,
    n_bars: int,
    cadence_bar: int,
    rng: np.random.Generator,
) -> list[Chord]:
    """Chords bar by bar up to the cadence bar (tonic); tense bars split into two chords."""
    calm, tense = PROGRESSIONS[mode]
    chords: list[Chord] = []
    phrase: tuple[int, ...] = calm[int(rng.integers(len(calm)))]
    for bar in range(n_bars):
        tension = float(tension_at[min(bar, len(tension_at) - 1)])
        if bar % 4 == 0:
            pool = tense if tension > 0.55 else calm
            phrase = pool[int(rng.integers(len(pool)))]
        start = bar * bar_beats
        if bar >= cadence_bar:
            chords.append(build_chord(tonic, mode, 0, 0.0, start, start + bar_beats))
            continue
        if bar == cadence_bar - 1:
            degree = CADENCE_DEGREE[mode]
            dominant = mode in ("major", "minor") and degree == 4
            chords.append(build_chord(tonic, mode, degree, max(tension, 0.5), start, start + bar_beats, dominant))
            continue
        degree = phrase[bar % 4]
        if bar == cadence_bar - 2 and bar > 0:
            options = PREDOMINANT[mode]
            degree = options[int(rng.integers(len(options)))]
        if tension > 0.72 and bar_beats % 2 == 0 and bar % 4 in (1, 3):
            half = bar_beats / 2
            passing = phrase[(bar + 1) % 4]
            chords.append(build_chord(tonic, mode, degree, tension, start, start + half))
            chords.append(build_chord(tonic, mode, passing, tension, start + half, start + bar_beats))
        else:
            chords.append(build_chord(tonic, mode, degree, tension, start, start + bar_beats))
    return chords


def voice(tones: tuple[int, ...], previous: tuple[int, ...] | None, low: int, high: int, voices: int = 4,
          center: float | None = None) -> tuple[int, ...]:
    """A voicing of ``tones`` in ``low..high`` that moves least from ``previous`` (root, third and seventh kept)."""
    needed = {tones[0], tones[1]} | ({tones[3]} if len(tones) > 3 else set())
    pool = [p for p in range(low, high + 1) if p % 12 in tones]
    center = (low + high) / 2 if center is None else center
    best, best_cost = None, float("inf")
    for combo in itertools.combinations(pool, min(voices, len(pool))):
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
