"""The built-in sounds the renderer knows (``Part.instrument``), and how a part's notes become audio.

A pitched note is its voice held down (rendered once per instrument, pitch, velocity bucket and
glide, then reused; never looped: a longer note renders the voice again, longer) times its envelope (one per note length
bucket); a drum hit is rendered whole once per piece, velocity bucket and round-robin variant.
Notes are added into the part's buffer at their start sample. Levels are calibrated per family
(a line at velocity 100 and gain 0: lead -17 LUFS, drums -18, keys -18, bass -19, bells/strings
-20, pads -21), and chord parts are scaled down by their polyphony so they sit like a line.
Noise is seeded from the score seed and the cache key, so a Score always renders the same.
"""

from __future__ import annotations

import zlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from pedalboard import Chorus, Plugin

from expotion_engine.engines.procedural.render import drums, tonal
from expotion_engine.engines.procedural.render.synth import adsr, fade_edges
from expotion_engine.engines.procedural.score import Part
from expotion_engine.errors import EngineError
from expotion_engine.progress import CancelEvent, check_cancel
from expotion_engine.types import Note

_VELOCITY_BUCKETS = 8
_CACHE_BYTES = 256 * 2**20
_TIMBRE_STEP = 4  # sounds change timbre in 2 velocity steps (their level follows every velocity)
_DRUM_VARIANTS = 3
_SUSTAIN_S = 2.0  # sustained voices are rendered at least this long
_GROWTH = 1.5  # a source too short for a note is rendered again at least this much longer
_SOURCE_STEPS = (0.25, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0)


@dataclass(frozen=True)
class Envelope:
    """A note's amplitude envelope: attack (shorter for harder notes by ``attack_vel``), decay to sustain, release."""

    attack: float
    decay: float = 1.0  # seconds to fall 60 dB towards the sustain level
    sustain: float = 1.0
    release: float = 0.1  # seconds to fall 60 dB after note-off
    attack_vel: float = 0.0  # fraction of the attack a full-velocity note saves

    def attack_at(self, vel: float) -> float:
        return self.attack * (1.0 - self.attack_vel * vel)


@dataclass(frozen=True)
class Instrument:
    """One built-in sound: its family, a one-line description and how it renders a note."""

    name: str
    family: str  # drums, bass, pad, keys, strings, lead, bell
    description: str
    voice: Callable[..., np.ndarray] | None = None  # pitched voice (see tonal); None for a drum kit
    envelope: Envelope = Envelope(0.005)
    ring: Callable[[int], float] | None = None  # seconds a held note sounds (decaying sounds); None: sustains
    kit: drums.Kit | None = None
    level_db: float = 0.0  # calibrated balance: a line at velocity 100 and gain_db 0 has its family's loudness
    glide_gap: float | None = None  # a note starting within this gap of the previous one's end glides from it
    voicing: Callable[[], list[Plugin]] | None = None  # the instrument's own effect (e.g. a Rhodes chorus)
    spread: float = 0.0  # how far notes sit apart by pitch (low left, high right, as a piano or section is heard)

    def __post_init__(self) -> None:
        if (self.voice is None) == (self.kit is None):
            raise ValueError(f"Instrument {self.name!r} needs exactly one of voice or kit.")


def _epiano_chorus() -> list[Plugin]:
    return [Chorus(rate_hz=0.9, depth=0.3, centre_delay_ms=6.0, feedback=0.1, mix=0.4)]


def _organ_rotor() -> list[Plugin]:
    """A slow rotary speaker ("chorale"), heard as a chorus whose sides sweep apart."""
    return [Chorus(rate_hz=0.8, depth=0.2, centre_delay_ms=3.0, feedback=0.0, mix=0.35)]


_LEGATO = 0.005
_OVERLAP = -0.001
INSTRUMENTS: dict[str, Instrument] = {
    i.name: i
    for i in (
        Instrument("drums", "drums", "Synthesised acoustic-style kit on GM drum pitches", kit=drums.ACOUSTIC,
                   level_db=0.2),
        Instrument("electronic_drums", "drums", "808-style kit: long boomy kick, tight snare", kit=drums.ELECTRONIC,
                   level_db=-1.7),
        Instrument("sub_bass", "bass", "Sine sub bass with a little saturation", tonal.sub_bass,
                   Envelope(0.006, 0.4, 0.85, 0.12), level_db=-6.9, glide_gap=_OVERLAP),
        Instrument("pluck_bass", "bass", "Picked bass whose upper harmonics die away", tonal.pluck_bass,
                   Envelope(0.002, release=0.1), ring=lambda p: 3.5, level_db=-6.3),
        Instrument("synth_bass", "bass", "Saw + sub square through an enveloped low-pass", tonal.synth_bass,
                   Envelope(0.004, 0.6, 0.8, 0.1), level_db=-4.6, glide_gap=_OVERLAP),
        Instrument("pad", "pad", "Warm detuned-saw pad, slow attack, stereo", tonal.pad,
                   Envelope(0.7, 2.0, 0.75, 1.4), level_db=-8.5, spread=0.4),
        Instrument("strings", "strings", "String ensemble: detuned saws, vibrato, slow bow, stereo", tonal.strings,
                   Envelope(0.35, 1.5, 0.9, 0.9, attack_vel=0.55), level_db=-9.4, spread=0.5),
        Instrument("brass", "strings", "Brass section: saws with a breath-swell filter", tonal.brass,
                   Envelope(0.05, 1.0, 0.85, 0.25), level_db=-8.3, spread=0.3),
        Instrument("piano", "keys", "Piano-like stiff-string partials with hammer and damper", tonal.piano,
                   Envelope(0.001, release=0.25), ring=tonal.piano_ring, level_db=-3.7, spread=0.6),
        Instrument("epiano", "keys", "Rhodes-like FM electric piano with chorus", tonal.epiano,
                   Envelope(0.002, release=0.3), ring=lambda p: 6.0, level_db=-9.7, voicing=_epiano_chorus, spread=0.5),
        Instrument("pluck", "keys", "Karplus-Strong plucked string", tonal.pluck, Envelope(0.0005, release=0.12),
                   ring=tonal.pluck_ring, level_db=-1.5, spread=0.3),
        Instrument("organ", "keys", "Drawbar organ through a slow rotary speaker", tonal.organ,
                   Envelope(0.005, release=0.08), level_db=-7.7, voicing=_organ_rotor, spread=0.4),
        Instrument("saw_lead", "lead", "Saw lead with glide and delayed vibrato", tonal.saw_lead,
                   Envelope(0.008, 0.4, 0.8, 0.15), level_db=-3.7, glide_gap=_LEGATO),
        Instrument("square_lead", "lead", "Square lead with glide and delayed vibrato", tonal.square_lead,
                   Envelope(0.008, 0.4, 0.8, 0.15), level_db=-8.4, glide_gap=_LEGATO),
        Instrument("bell", "bell", "Glockenspiel-like bell with inharmonic partials", tonal.bell,
                   Envelope(0.0005, release=2.0), ring=tonal.bell_ring, level_db=-9.2, spread=0.5),
    )
}
ALIASES = {"bass": "synth_bass", "lead": "saw_lead", "keys": "epiano", "kit": "drums", "percussion": "drums"}


def instrument(part: Part) -> Instrument:
    """The built-in instrument of ``part`` (EngineError naming the sounds there are)."""
    name = ALIASES.get(part.instrument, part.instrument)
    if name not in INSTRUMENTS:
        raise EngineError(f"Part {part.name!r} asks for instrument {part.instrument!r}; the built-in sounds are: "
                          f"{', '.join(sorted(INSTRUMENTS) + sorted(ALIASES))}.")
    return INSTRUMENTS[name]


def is_bass(part: Part) -> bool:
    """Whether ``part`` is a bass line (named so, or a bass sound): it stays mono in the centre, out of the room."""
    inst = INSTRUMENTS.get(ALIASES.get(part.instrument, part.instrument))
    return part.name == "bass" or (inst is not None and inst.family == "bass")


def velocity_gain(velocity: int) -> float:
    """Amplitude for a MIDI velocity: a power curve, about -9 dB at 64 and 0 dB at 127."""
    return (velocity / 127.0) ** 1.5


def _bucket(velocity: int) -> int:
    return min(_VELOCITY_BUCKETS - 1, (velocity - 1) * _VELOCITY_BUCKETS // 127)


def _bucket_vel(bucket: float) -> float:
    return (bucket + 0.5) / _VELOCITY_BUCKETS


def _length_bucket(seconds: float) -> float:
    step = 0.01 if seconds < 1.0 else 0.05
    return max(step, round(seconds / step) * step)


class NoteCache:
    """Least-recently-used store of rendered note waveforms, bounded in bytes."""

    def __init__(self, limit: int = _CACHE_BYTES) -> None:
        self._items: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._bytes = 0
        self._limit = limit

    def get(self, key: tuple, make: Callable[[], np.ndarray]) -> np.ndarray:
        """The stored waveform for ``key``, made (and stored) the first time."""
        wave = self.peek(key)
        if wave is None:
            wave = make()
            self.put(key, wave)
        return wave

    def peek(self, key: tuple) -> np.ndarray | None:
        """The stored waveform for ``key``, or None."""
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        return None

    def put(self, key: tuple, wave: np.ndarray) -> None:
        """Store ``wave`` for ``key`` (replacing what was there), dropping the least recently used beyond the limit."""
        old = self._items.pop(key, None)
        if old is not None:
            self._bytes -= old.nbytes
        self._items[key] = wave
        self._bytes += wave.nbytes
        while self._bytes > self._limit and len(self._items) > 1:
            _, dropped = self._items.popitem(last=False)
            self._bytes -= dropped.nbytes


def _rng(seed: int, key: tuple) -> np.random.Generator:
    words = [seed & 0xFFFFFFFF, zlib.crc32(repr(key).encode())]
    return np.random.default_rng(words)


def _drum_wave(inst: Instrument, part: Part, note: Note, index: int, sample_rate: int, seed: int,
               cache: NoteCache, width: float = 1.0) -> np.ndarray:
    if note.pitch not in drums.PIECES:
        check_notes(part, inst)  # raises, naming the pitch
    piece = drums.PIECES[note.pitch]
    bucket = _bucket(note.velocity) // _TIMBRE_STEP
    length = _length_bucket(note.end - note.start) if piece.follows_length else 0.0
    key = (inst.name, note.pitch, bucket, length, index % _DRUM_VARIANTS, sample_rate)
    place = float(np.clip(piece.pan * width, -1.0, 1.0))

    def make() -> np.ndarray:
        vel = _bucket_vel(bucket * _TIMBRE_STEP + (_TIMBRE_STEP - 1) / 2)
        mono = piece.render(vel, sample_rate, _rng(seed, key), inst.kit, length).astype(np.float32)
        angle = (place + 1.0) * np.pi / 4.0
        return np.stack([mono * np.cos(angle), mono * np.sin(angle)]) * np.float32(np.sqrt(2.0))

    return cache.get((*key, place), make)


def _source_seconds(inst: Instrument, pitch: int, needed: float) -> tuple[float, float]:
    """How long a voice rendering to make for a note needing ``needed`` s, and the longest it can usefully be."""
    if inst.ring is None:
        return max(_SUSTAIN_S, needed), float("inf")  # sustained: rendered whole for the note, never looped
    full = inst.ring(pitch) + 0.05
    step = next((s for s in _SOURCE_STEPS if s >= needed), _SOURCE_STEPS[-1])
    return min(full, step), full


def _tonal_wave(inst: Instrument, note: Note, glide_from: int | None, sample_rate: int, seed: int,
                cache: NoteCache) -> tuple[np.ndarray, np.ndarray]:
    """The note as the voice held down (rendered once per pitch and velocity bucket) and its envelope."""
    bucket = _bucket(note.velocity) // _TIMBRE_STEP
    vel = _bucket_vel(bucket * _TIMBRE_STEP + (_TIMBRE_STEP - 1) / 2)
    length = _length_bucket(note.end - note.start)
    env = inst.envelope
    shape = cache.get(("envelope", inst.name, bucket, length, sample_rate), lambda: adsr(
        max(1, int(round((length + env.release) * sample_rate))), sample_rate, length, env.attack_at(vel),
        env.decay, env.sustain, env.release))
    n = shape.size
    key = (inst.name, note.pitch, bucket, glide_from, sample_rate)
    want, full = _source_seconds(inst, note.pitch, n / sample_rate)
    full_n = int(round(full * sample_rate)) if np.isfinite(full) else None
    source = cache.peek(key)
    if source is None or (source.shape[-1] < n and (full_n is None or source.shape[-1] < full_n)):
        size = max(int(round(want * sample_rate)), 0 if source is None else int(_GROWTH * source.shape[-1]))
        if full_n is not None:
            size = min(size, full_n)
        source = inst.voice(note.pitch, vel, size, sample_rate, _rng(seed, key), glide_from).astype(np.float32)
        if full_n is not None and size >= full_n:
            source = fade_edges(source, sample_rate, 0.02)
        cache.put(key, source)
    if source.shape[-1] < n:  # a decaying voice has died away by then
        source = np.pad(source, [(0, 0)] * (source.ndim - 1) + [(0, n - source.shape[-1])])
    return source[..., :n], shape


def polyphony(notes: tuple[Note, ...]) -> float:
    """Mean number of notes held at once, over the time any note is held (1 for a line, 3 for triads)."""
    if not notes:
        return 1.0
    edges = sorted([(n.start, 1) for n in notes] + [(n.end, -1) for n in notes])
    held, depth, busy, last = 0.0, 0, 0.0, edges[0][0]
    for time, step in edges:
        if depth > 0:
            held += depth * (time - last)
            busy += time - last
        depth += step
        last = time
    return max(1.0, held / busy) if busy > 0 else 1.0


def note_place(inst: Instrument, pitch: int, width: float = 1.0) -> np.ndarray:
    """Left/right gains (constant power, unity in the centre) of a note at ``pitch``: its instrument's spread by
    pitch around middle C (two octaves either side reach the edge of the spread) times ``width``."""
    place = float(np.clip(inst.spread * width * (pitch - 60) / 24.0, -1.0, 1.0))
    angle = (place + 1.0) * np.pi / 4.0
    return np.array([[np.cos(angle)], [np.sin(angle)]], dtype=np.float32) * np.float32(np.sqrt(2.0))


class NoteStream:
    """A part's notes through ``inst``, rendered window by window in time order (:meth:`render`).

    Each note is rendered when the first window it sounds in is asked for and kept until it has
    ended, so a note (or a tail) crossing a window boundary continues exactly; the windows laid
    end to end are the same samples as one rendering of the whole length (:func:`render_notes`).
    """

    def __init__(self, part: Part, inst: Instrument, sample_rate: int, n_samples: int, seed: int,
                 cache: NoteCache, width: float = 1.0) -> None:
        self.part, self.inst, self.sample_rate, self.n_samples = part, inst, sample_rate, n_samples
        self.seed, self.cache, self.width = seed, cache, width
        voices = 1.0 if inst.kit is not None else polyphony(part.notes)
        self.level = np.float32(10.0 ** (inst.level_db / 20.0) / np.sqrt(voices))
        self.ahead = 0  # samples a drum note may sound before its note-on (a reverse cymbal)
        if inst.kit is not None:
            self.ahead = max((int(round(drums.pre_roll(_length_bucket(n.end - n.start)) * sample_rate)) + 1
                              for n in part.notes if n.pitch in drums.PIECES and drums.PIECES[n.pitch].follows_length),
                             default=0)
        self._next = 0
        self._previous: Note | None = None
        self._sounding: list[tuple[int, np.ndarray, np.ndarray, np.ndarray | None]] = []

    def _admit(self, index: int, note: Note, start: int) -> None:
        inst = self.inst
        gain = self.level * np.float32(velocity_gain(note.velocity))
        if inst.kit is not None:
            wave = _drum_wave(inst, self.part, note, index, self.sample_rate, self.seed, self.cache, self.width)
            shape = np.full(wave.shape[-1], gain, dtype=np.float32)
            if drums.PIECES[note.pitch].follows_length:
                start -= int(round(drums.pre_roll(_length_bucket(note.end - note.start)) * self.sample_rate))
            place = None
        else:
            previous = self._previous
            legato = (inst.glide_gap is not None and previous is not None
                      and previous.end >= note.start - inst.glide_gap and previous.start < note.start)
            wave, shape = _tonal_wave(inst, note, previous.pitch if legato else None, self.sample_rate, self.seed,
                                      self.cache)
            shape = shape * gain
            self._previous = note
            place = note_place(inst, note.pitch, self.width) if inst.spread else None
        self._sounding.append((start, wave, shape, place))

    def render(self, a: int, b: int, cancel: CancelEvent | None = None) -> np.ndarray:
        """Samples ``a`` .. ``b`` (stereo float32); windows must be asked for in order, each from where the last
        ended."""
        notes = self.part.notes
        stop_at = min(b + self.ahead, self.n_samples)
        while self._next < len(notes):
            index, note = self._next, notes[self._next]
            start = int(round(note.start * self.sample_rate))
            if start >= stop_at:
                break  # notes are in start order
            if index % 64 == 0:
                check_cancel(cancel)
            self._admit(index, note, start)
            self._next += 1
        out = np.zeros((2, b - a), dtype=np.float32)
        keep = []
        for entry in self._sounding:
            start, wave, shape, place = entry
            skip = max(0, -start, a - start)
            stop = min(self.n_samples, b, start + wave.shape[-1])
            if stop > start + skip:
                sound = wave[..., skip: stop - start] * shape[skip: stop - start]
                if place is not None:
                    sound = sound * place
                out[:, start + skip - a: stop - a] += sound
            if start + wave.shape[-1] > b and start < self.n_samples:
                keep.append(entry)
        self._sounding = keep
        return out


def render_notes(part: Part, inst: Instrument, sample_rate: int, n_samples: int, seed: int, cache: NoteCache,
                 cancel: CancelEvent | None = None, width: float = 1.0) -> np.ndarray:
    """The part's notes through ``inst`` as a stereo float32 buffer of exactly ``n_samples``.

    Pitched parts are scaled by 1/sqrt(polyphony), so a chord part at gain 0 is as loud as a line;
    their notes are placed across the field by pitch (the instrument's ``spread`` times ``width``),
    drum pieces at their own places times ``width``.
    """
    return NoteStream(part, inst, sample_rate, n_samples, seed, cache, width).render(0, n_samples, cancel)


def check_notes(part: Part, inst: Instrument) -> None:
    """Raise EngineError for notes ``inst`` cannot play (a drum kit plays the GM pitches it has)."""
    if inst.kit is None:
        return
    missing = sorted({n.pitch for n in part.notes} - set(drums.PIECES))
    if missing:
        raise EngineError(f"Part {part.name!r} has drum pitch {missing[0]}, which the {inst.name!r} kit does not "
                          f"play; its pitches are {', '.join(map(str, sorted(drums.PIECES)))}.")
