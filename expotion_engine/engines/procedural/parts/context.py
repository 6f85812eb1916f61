"""What every part generator reads: the time grid, energy, chords, sections, hits and the seeded randomness."""

from __future__ import annotations

import bisect
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from expotion_engine.engines.procedural.harmony import Chord, phrase_starts
from expotion_engine.engines.procedural.sections import SECTION_LIFT, Section, Texture, section_of_bar, texture
from expotion_engine.engines.procedural.tempo import Hit
from expotion_engine.types import Note, TempoMap

#: notes end this long before the end of the range so every release and tail dies away in time
END_MARGIN_S = 0.45
#: beats at least this long (100 BPM and slower) make a slow take
SLOW_BEAT_S = 0.6


@dataclass(frozen=True, eq=False)
class Context:
    """The composition plan shared by the part generators (music time in quarter-note beats)."""

    tempo_map: TempoMap
    duration: float
    numerator: int
    n_bars: int
    cadence_bar: int
    energy: np.ndarray
    rate: float
    chords: tuple[Chord, ...]
    sections: tuple[Section, ...]
    tonic: int
    mode: str
    scale: tuple[int, ...]
    style: str
    seed: int
    hits: tuple[Hit, ...] = ()
    swing: float = 0.5
    humanize: float = 1.0
    register_shift: int = 0
    parts: frozenset[str] = frozenset({"drums", "bass", "harmony", "melody"})
    stream: int = 0
    instruments: Mapping[str, str] = field(default_factory=dict)
    _chord_starts: list[float] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._chord_starts.extend(c.start_beat for c in self.chords)

    @property
    def bar_beats(self) -> int:
        return self.numerator

    @property
    def slow(self) -> bool:
        """True for a slow beat (100 BPM or slower at the start), where the parts keep off-beats few and soft so
        the music is not heard at double time."""
        return self.time(self.numerator) / self.numerator >= SLOW_BEAT_S

    @property
    def cadence_beat(self) -> float:
        return float(self.cadence_bar * self.numerator)

    @property
    def cadence_time(self) -> float:
        return self.tempo_map.time_at(self.cadence_beat)

    @property
    def end_time(self) -> float:
        """Latest note end: the range end less the release margin."""
        return self.duration - END_MARGIN_S

    def time(self, beat: float) -> float:
        return self.tempo_map.time_at(beat)

    def energy_at(self, time: float) -> float:
        """Smoothed energy 0..1 at ``time`` seconds."""
        k = int(round(time * self.rate))
        return float(self.energy[min(max(k, 0), len(self.energy) - 1)])

    def lifted_energy(self, beat: float) -> float:
        """Energy at ``beat`` scaled by the section's lift: what density and register follow."""
        bar = int(beat // self.numerator)
        lift = SECTION_LIFT[section_of_bar(list(self.sections), bar).name]
        return float(min(max(self.energy_at(self.time(beat)) * lift, 0.0), 1.0))

    def section(self, bar: int) -> Section:
        return section_of_bar(list(self.sections), bar)

    def phrase_start(self, bar: int) -> int:
        """The bar where the phrase holding ``bar`` counts from (the harmony's periods count from the same bars)."""
        starts = phrase_starts(tuple(s.start_bar for s in self.sections), self.cadence_bar)
        return max(s for s in starts if s <= bar)

    def texture(self, bar: int) -> Texture:
        """The arrangement of the section that holds ``bar``."""
        return texture(self.section(bar))

    def chord_at(self, beat: float) -> Chord:
        i = max(bisect.bisect_right(self._chord_starts, beat + 1e-9) - 1, 0)
        return self.chords[i]

    def rng(self, part: str) -> np.random.Generator:
        """A generator seeded by the request seed, the preset's stream and the part's name, so parts do not disturb
        each other and one seed gives different notes in different presets."""
        return np.random.default_rng([self.seed & 0xFFFFFFFF, self.stream, zlib.crc32(part.encode())])

    def note(self, rng: np.random.Generator, pitch: int, start_beat: float, length_beats: float, velocity: float,
             *, channel: int = 0, program: int = 0, jitter: float = 0.008, exact: bool = False,
             min_length_s: float = 0.05) -> Note | None:
        """A humanised note on the beat grid, cut to end before :attr:`end_time` (None if nothing is left)."""
        start = self.time(start_beat)
        end = self.time(start_beat + length_beats)
        if not exact and self.humanize > 0:
            start += float(rng.normal(0.0, jitter * self.humanize))
            velocity += float(rng.normal(0.0, 4.0 * self.humanize))
        start = max(start, 0.0)
        end = min(end, self.end_time)
        if end - start < min_length_s:
            return None
        return Note(int(np.clip(pitch, 0, 127)), round(start, 6), round(end, 6), int(np.clip(round(velocity), 1, 127)),
                    channel, program)

    def note_seconds(self, pitch: int, start: float, length: float, velocity: float, *, channel: int = 0,
                     program: int = 0) -> Note | None:
        """An exact (unhumanised) note at ``start`` seconds, for accents that must sit on a hit."""
        end = min(start + length, self.end_time)
        if end - max(start, 0.0) < 0.03:
            return None
        return Note(int(np.clip(pitch, 0, 127)), round(max(start, 0.0), 6), round(end, 6),
                    int(np.clip(round(velocity), 1, 127)), channel, program)


def monophonic(notes: Iterable[Note], gap_s: float = 0.01, min_length_s: float = 0.05) -> list[Note]:
    """``notes`` as one line: each note ends ``gap_s`` before the next begins (a note starting within
    ``min_length_s`` of the one before is dropped)."""
    ordered = sorted(notes, key=lambda n: (n.start, -n.velocity))
    out: list[Note] = []
    for note in ordered:
        if out and note.start - out[-1].start < min_length_s:
            continue
        if out and out[-1].end > note.start - gap_s:
            out[-1] = replace(out[-1], end=round(max(note.start - gap_s, out[-1].start + 0.01), 6))
        out.append(note)
    return out
