"""Standard MIDI File delivery (type 1, 480 ppq) with mido.

Track 0 is the conductor track: the title, an SMPTE offset placing music time 0 at the
video's timecode, every time signature and tempo change, sections and user cues as
Marker meta events and hit points as Cue Point meta events (the markers inside the music,
as :func:`studio.export.cues.cues` gives every marker exporter). Then one track per stem
that has notes. Ticks come from :meth:`TempoMap.seconds_to_ticks`, the one conversion
every exporter shares, so an event lands within half a tick of its time.
"""

from __future__ import annotations

import io
import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path

import mido

from expotion_engine.types import Note, Stem, TempoMap
from studio.export.cues import cues
from studio.export.job import DeliveryFolder, ExportJob
from studio.timecode import TimecodeRate, choose_rate, format_frames

log = logging.getLogger(__name__)

PPQ = 480
DRUM_CHANNEL = 9
MARKER_META = {"section": "marker", "user": "marker", "cue": "marker", "hit": "cue_marker"}
_DRUM_WORDS = ("drum", "perc", "kit")
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


def _conductor(job: ExportJob, tempo_map: TempoMap, end_tick: int) -> mido.MidiTrack:
    events: list[tuple[int, int, mido.MetaMessage]] = []
    for meter in tempo_map.meters:
        events.append((tempo_map.seconds_to_ticks(meter.time, PPQ), 0, mido.MetaMessage(
            "time_signature", numerator=meter.numerator, denominator=meter.denominator,
            clocks_per_click=max(1, 96 // meter.denominator), notated_32nd_notes_per_beat=8,
        )))
    for change in tempo_map.tempos:
        events.append((tempo_map.seconds_to_ticks(change.time, PPQ), 1,
                       mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(change.bpm))))
    for cue in cues(job):
        events.append((tempo_map.seconds_to_ticks(cue.start, PPQ), 2,
                       mido.MetaMessage(MARKER_META[cue.marker.kind], text=cue.label)))
    head = [
        mido.MetaMessage("track_name", name=job.title),
        smpte_offset(job.start_seconds, job.tc).message(),
    ]
    return _track(head, events, end_tick)


def _channel(stem: Stem, note: Note) -> int:
    if any(word in stem.name.lower() for word in _DRUM_WORDS):
        return DRUM_CHANNEL
    return note.channel


def _note_track(stem: Stem, tempo_map: TempoMap, end_tick: int) -> mido.MidiTrack:
    events: list[tuple[int, int, mido.Message]] = []
    programs = sorted({(_channel(stem, n), n.program) for n in stem.notes})
    head: list[mido.Message | mido.MetaMessage] = [mido.MetaMessage("track_name", name=stem.name)]
    head += [mido.Message("program_change", channel=c, program=p) for c, p in programs if c != DRUM_CHANNEL]
    for note in stem.notes:
        channel = _channel(stem, note)
        start = tempo_map.seconds_to_ticks(max(note.start, 0.0), PPQ)
        end = max(tempo_map.seconds_to_ticks(note.end, PPQ), start + 1)
        events.append((start, 1, mido.Message("note_on", channel=channel, note=note.pitch, velocity=note.velocity)))
        events.append((end, 0, mido.Message("note_off", channel=channel, note=note.pitch, velocity=0)))
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
    """The job's tempo map, markers and notes as a type-1 :class:`mido.MidiFile`."""
    tempo_map = job.take.tempo_map
    end_tick = tempo_map.seconds_to_ticks(job.take.duration, PPQ)
    out = mido.MidiFile(type=1, ticks_per_beat=PPQ)
    out.tracks.append(_conductor(job, tempo_map, end_tick))
    for stem in job.take.stems:
        if stem.notes:
            out.tracks.append(_note_track(stem, tempo_map, end_tick))
    return out


def midi_files(job: ExportJob) -> list[str]:
    """Relative paths :func:`write_midi` writes."""
    return [job.file(".mid")]


def write_midi(job: ExportJob, folder: DeliveryFolder) -> list[Path]:
    """Write ``<title>.mid``: conductor track with tempo map, meters, SMPTE offset and markers; one track per stem."""
    buffer = io.BytesIO()
    midi_file(job).save(file=buffer)
    return [folder.write_bytes(midi_files(job)[0], buffer.getvalue())]
