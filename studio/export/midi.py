"""Standard MIDI File delivery (type 1, 480 ppq) with mido, laid out as composers expect.

Track 0 is the conductor track: the title, an SMPTE offset, the key signature (the take's key;
a modal key is written as its relative major's signature, its name in a text event; repeated at
the head of every pitched part's track, where notation programs such as MuseScore read it: MuseScore 3
guesses a part's key from its notes when its track has none, ignoring the conductor's, so pretty_midi's
warning about keys outside track 0 is the price of the right key in the score), every
time signature and tempo change, sections and user cues as Marker meta events and hit points
as Cue Point meta events (the markers inside the music, as :func:`studio.export.cues.cues`
gives every marker exporter). Then one track per stem that has notes, each with its name, its
own channel and its General MIDI program: the program of the part's instrument from the
sampled voices' table (:data:`GM_VOICES`), else the notes' own; drum kits on channel 10 (index
9), whose GM drum map the drum parts are written in. Within a channel no two notes of one pitch
overlap (the earlier note ends where the next one starts), so every note-off ends its own note.

``ExportSettings.midi_start``: ``zero`` starts the file at the music's first bar, the SMPTE
offset naming the music's timecode; ``timecode`` starts it at 00:00:00:00 (SMPTE offset zero)
with whole bars of bar 1's meter as a pre-roll up to the music, so hosts that ignore SMPTE
offsets still put the notes at the picture's timecode. Ticks come from
:meth:`TempoMap.seconds_to_ticks`, the one conversion every exporter shares, so an event lands
within half a tick of its time.
"""

from __future__ import annotations

import io
import logging
import math
import re
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import mido

from expotion_engine.engines.procedural.harmony import parse_tonic
from expotion_engine.engines.procedural.render.instruments import ALIASES
from expotion_engine.engines.procedural.render.sampled import GM_VOICES
from expotion_engine.types import MeterChange, Stem, TempoMap
from studio.export.cues import cues
from studio.export.job import DeliveryFolder, ExportJob
from studio.timecode import TimecodeRate, choose_rate, format_frames, to_frame

log = logging.getLogger(__name__)

PPQ = 480
DRUM_CHANNEL = 9
MARKER_META = {"section": "marker", "user": "marker", "cue": "marker", "hit": "cue_marker"}
_DRUM_WORDS = ("drum", "perc", "kit")
#: semitones from a mode's tonic up to the tonic of the major key with the same signature
_RELATIVE_MAJOR = {"major": 0, "ionian": 0, "lydian": 7, "mixolydian": 5, "dorian": 10, "minor": 3, "aeolian": 3,
                   "phrygian": 8, "locrian": 1}
_MAJOR_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_MINOR_NAMES = ("Cm", "C#m", "Dm", "Ebm", "Em", "Fm", "F#m", "Gm", "G#m", "Am", "Bbm", "Bm")


@dataclass(frozen=True)
class PartVoice:
    """How one stem plays in the file: its track name, channel (0-15, 9 = drums) and GM program."""

    name: str
    channel: int
    program: int
    drums: bool


def _gm(stem: Stem) -> tuple[int, bool]:
    """(GM program, drum kit?) of a stem: its instrument's GM voice, else its notes' most common program."""
    instrument = str(stem.info.get("instrument", "") or "")
    voice = GM_VOICES.get(ALIASES.get(instrument, instrument))
    if voice is not None:
        return voice.program, voice.drums
    drums = any(word in stem.name.lower() for word in _DRUM_WORDS) or all(n.channel == DRUM_CHANNEL for n in stem.notes)
    program = Counter(n.program for n in stem.notes).most_common(1)[0][0] if stem.notes else 0
    return program, drums


def part_voices(stems: tuple[Stem, ...] | list[Stem]) -> list[PartVoice]:
    """A channel and GM program for every stem with notes, in order: melodic parts on channels 1-16 but 10."""
    melodic = iter([c for c in range(16) if c != DRUM_CHANNEL])
    voices = []
    for stem in stems:
        if not stem.notes:
            continue
        program, drums = _gm(stem)
        channel = DRUM_CHANNEL if drums else next(melodic, None)
        if channel is None:
            log.warning("more than 15 melodic parts; %r shares channel 16", stem.name)
            channel = 15
        voices.append(PartVoice(stem.name, channel, program, drums))
    return voices


def key_signature(key: str, mode: str) -> str | None:
    """The MIDI key-signature name (``"Eb"``, ``"F#m"``) of ``key`` in ``mode``; modes use their relative major."""
    try:
        tonic = parse_tonic(key)
    except ValueError:
        return None
    mode = mode.lower()
    if mode in ("minor", "aeolian"):
        return _MINOR_NAMES[tonic]
    if mode not in _RELATIVE_MAJOR:
        return None
    return _MAJOR_NAMES[(tonic + _RELATIVE_MAJOR[mode]) % 12]


@dataclass(frozen=True)
class SmpteOffset:
    """The fields of an SMPTE offset meta event; ``frame_rate`` is one of 24, 25, 29.97 (drop frame), 30."""

    frame_rate: float
    hours: int
    minutes: int
    seconds: int
    frames: int
    sub_frames: int

    def message(self) -> mido.MetaMessage:
        return mido.MetaMessage(
            "smpte_offset", frame_rate=self.frame_rate, hours=self.hours, minutes=self.minutes,
            seconds=self.seconds, frames=self.frames, sub_frames=self.sub_frames,
        )


def _midi_rate(rate: TimecodeRate) -> tuple[float, TimecodeRate]:
    """(SMPTE-offset rate code, the rate frames are counted at) for a timecode ``rate``.

    MIDI knows 24, 25, 29.97 (drop frame) and 30; 48, 50 and 60 count at half rate
    (23.976 and 47.952 count real 23.976 frames under code 24; 59.94 DF as 29.97 DF).
    """
    nominal = rate.nominal // 2 if rate.nominal > 30 else rate.nominal
    counted = TimecodeRate(nominal, ntsc=rate.ntsc, drop_frame=rate.drop_frame)
    return (29.97 if counted.drop_frame else float(nominal)), counted


def smpte_offset(seconds: float, rate: TimecodeRate | float) -> SmpteOffset:
    """The SMPTE offset of ``seconds`` of timecode (since midnight) at timecode ``rate`` (or a video fps).

    Frames are whole frames counted down (the remainder goes in hundredths, sub-frames);
    labels come from :mod:`studio.timecode`, the same as every other format's.
    """
    if not isinstance(rate, TimecodeRate):
        rate = choose_rate(rate).rate
    code, counted = _midi_rate(rate)
    exact = (seconds % 86400.0) * counted.fps
    whole = math.floor(exact + 1e-6)
    sub = min(99, max(0, int(round((exact - whole) * 100))))
    hours, minutes, secs, frames = (int(part) for part in re.split("[:;]", format_frames(whole, counted)))
    return SmpteOffset(code, hours % 24, minutes, secs, frames, sub)


def preroll(job: ExportJob) -> tuple[int, list[tuple[int, int]]]:
    """Ticks before the music and the pre-roll's tempo events ``(tick, microseconds per quarter)``.

    ``midi_start="zero"``: none. ``timecode``: whole bars of :func:`preroll_meter` lasting the
    music's start timecode to the microsecond (the last quarter note absorbs the rounding), as many
    as fit at bar 1's tempo (not a lead-in's before it, up to twice as fast), so the count-in plays near it.
    """
    start_us = round(job.start_seconds * 1e6)
    if job.settings.midi_start != "timecode" or start_us <= 0:
        return 0, []
    tempo_map = job.take.tempo_map
    meter = preroll_meter(tempo_map)
    bar_ticks = meter.numerator * PPQ * 4 // meter.denominator
    bar_us = bar_ticks / PPQ * mido.bpm2tempo(tempo_map.bpm_at(tempo_map.anchor))
    ticks = max(1, round(start_us / bar_us)) * bar_ticks
    if ticks <= PPQ:
        return ticks, [(0, round(start_us * PPQ / ticks))]
    tempo = start_us * PPQ // ticks
    rest = start_us - Fraction(tempo * (ticks - PPQ), PPQ)
    return ticks, [(0, tempo), (ticks - PPQ, round(rest))]


def preroll_meter(tempo_map: TempoMap) -> MeterChange:
    """The pre-roll's meter: bar 1's, not a short pickup bar's before it (whose one-beat bars a DAW
    would show all through the pre-roll)."""
    return tempo_map.meter_at(tempo_map.anchor)


def marker_tick(job: ExportJob, seconds: float) -> int:
    """The tick of a marker at music time ``seconds``: the nearest tick whose time lies on the marker's
    timecode frame, so a marker near a frame boundary reads back on the frame every other format has."""
    tempo_map = job.take.tempo_map
    tick = tempo_map.seconds_to_ticks(seconds, PPQ)
    frame = to_frame(job.start_seconds + seconds, job.tc)
    for candidate in (tick, tick + 1, tick - 1):
        if candidate >= 0 and to_frame(job.start_seconds + tempo_map.ticks_to_seconds(candidate, PPQ), job.tc) == frame:
            return candidate
    return tick


def _key(job: ExportJob) -> tuple[str, str]:
    """The take's key and mode names (empty when the engine gave none)."""
    return str(job.take.info.get("key", "") or ""), str(job.take.info.get("mode", "") or "")


def _conductor(job: ExportJob, tempo_map: TempoMap, end_tick: int, shift: int,
               pre: list[tuple[int, int]]) -> mido.MidiTrack:
    events: list[tuple[int, int, mido.MetaMessage]] = []
    first = preroll_meter(tempo_map)
    if shift:
        events.append((0, 0, mido.MetaMessage(
            "time_signature", numerator=first.numerator, denominator=first.denominator,
            clocks_per_click=max(1, 96 // first.denominator), notated_32nd_notes_per_beat=8)))
        events += [(tick, 1, mido.MetaMessage("set_tempo", tempo=tempo)) for tick, tempo in pre]
    inside = job.take.duration  # a change the map holds past the music's end would make the file outlast it
    for meter in (m for m in tempo_map.meters if m.time == 0.0 or m.time < inside):
        events.append((shift + tempo_map.seconds_to_ticks(meter.time, PPQ), 0, mido.MetaMessage(
            "time_signature", numerator=meter.numerator, denominator=meter.denominator,
            clocks_per_click=max(1, 96 // meter.denominator), notated_32nd_notes_per_beat=8,
        )))
    for change in (c for c in tempo_map.tempos if c.time == 0.0 or c.time < inside):
        events.append((shift + tempo_map.seconds_to_ticks(change.time, PPQ), 1,
                       mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(change.bpm))))
    for cue in cues(job):
        events.append((shift + marker_tick(job, cue.start), 2,
                       mido.MetaMessage(MARKER_META[cue.marker.kind], text=cue.label)))
    offset = 0.0 if job.settings.midi_start == "timecode" else job.start_seconds
    head: list[mido.MetaMessage] = [
        mido.MetaMessage("track_name", name=job.title),
        smpte_offset(offset, job.tc).message(),
    ]
    key, mode = _key(job)
    signature = key_signature(key, mode) if key else None
    if signature is not None:
        head.append(mido.MetaMessage("key_signature", key=signature))
        head.append(mido.MetaMessage("text", text=f"Key: {key} {mode}"))
    if job.settings.midi_start == "timecode" and shift:
        label = format_frames(to_frame(job.start_seconds, job.tc), job.tc)
        head.append(mido.MetaMessage("text", text=f"Music starts at {label}"))
    return _track(head, events, end_tick)


def note_spans(stem: Stem, tempo_map: TempoMap, shift: int = 0) -> list[tuple[int, int, int, int]]:
    """``(start tick, end tick, pitch, velocity)`` of a stem's notes, no two of one pitch overlapping.

    An earlier note ends where the next note of its pitch starts; of two starting on one tick
    the louder (then longer) one is kept.
    """
    by_pitch: dict[int, list[tuple[int, int, int]]] = {}
    for note in stem.notes:
        start = shift + tempo_map.seconds_to_ticks(max(note.start, 0.0), PPQ)
        end = max(shift + tempo_map.seconds_to_ticks(note.end, PPQ), start + 1)
        by_pitch.setdefault(note.pitch, []).append((start, end, note.velocity))
    spans = []
    for pitch, notes in by_pitch.items():
        notes.sort(key=lambda n: (n[0], -n[2], -n[1]))
        kept: list[tuple[int, int, int]] = []
        for start, end, velocity in notes:
            if kept and kept[-1][0] == start:
                continue
            if kept and kept[-1][1] > start:
                kept[-1] = (kept[-1][0], start, kept[-1][2])
            kept.append((start, end, velocity))
        spans += [(start, end, pitch, velocity) for start, end, velocity in kept]
    return sorted(spans)


def _note_track(stem: Stem, voice: PartVoice, tempo_map: TempoMap, end_tick: int, shift: int,
                signature: str | None) -> mido.MidiTrack:
    events: list[tuple[int, int, mido.Message]] = []
    channel = voice.channel
    head: list[mido.Message | mido.MetaMessage] = [
        mido.MetaMessage("track_name", name=voice.name),
        mido.MetaMessage("instrument_name", name=str(stem.info.get("instrument") or voice.name)),
    ]
    if signature is not None and not voice.drums:  # notation importers (MuseScore) read keys from note tracks
        head.append(mido.MetaMessage("key_signature", key=signature))
    head.append(mido.Message("program_change", channel=channel, program=voice.program))
    for start, end, pitch, velocity in note_spans(stem, tempo_map, shift):
        events.append((start, 1, mido.Message("note_on", channel=channel, note=pitch, velocity=velocity)))
        events.append((end, 0, mido.Message("note_off", channel=channel, note=pitch, velocity=0)))
    return _track(head, events, end_tick)


def _track(head: list, events: list[tuple[int, int, object]], end_tick: int) -> mido.MidiTrack:
    """A track of ``head`` at tick 0, then ``events`` (absolute tick, order at that tick, message) as deltas."""
    track = mido.MidiTrack(head)
    now = 0
    for tick, _, message in sorted(events, key=lambda e: (e[0], e[1])):
        track.append(message.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=max(end_tick - now, 0)))
    return track


def midi_file(job: ExportJob) -> mido.MidiFile:
    """The job's tempo map, key, markers and notes as a type-1 :class:`mido.MidiFile`."""
    tempo_map = job.take.tempo_map
    shift, pre = preroll(job)
    end_tick = shift + tempo_map.seconds_to_ticks(job.take.duration, PPQ)
    out = mido.MidiFile(type=1, ticks_per_beat=PPQ, charset="utf-8")
    out.tracks.append(_conductor(job, tempo_map, end_tick, shift, pre))
    stems = {stem.name: stem for stem in job.take.stems}
    key, mode = _key(job)
    signature = key_signature(key, mode) if key else None
    for voice in part_voices(job.take.stems):
        out.tracks.append(_note_track(stems[voice.name], voice, tempo_map, end_tick, shift, signature))
    return out


def midi_files(job: ExportJob) -> list[str]:
    """Relative paths :func:`write_midi` writes."""
    return [job.file(".mid")]


def write_midi(job: ExportJob, folder: DeliveryFolder) -> list[Path]:
    """Write ``<title>.mid``: a conductor track (tempo map, meters, key, SMPTE offset, markers), one track per part."""
    buffer = io.BytesIO()
    midi_file(job).save(file=buffer)
    return [folder.write_bytes(midi_files(job)[0], buffer.getvalue())]
