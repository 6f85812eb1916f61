"""Standard MIDI File delivery, read back with miditoolkit and with mido.

Times in the file are converted to seconds by each reader from the file's own tempo
events, never through our TempoMap, so a wrong tick or tempo shows up as a wrong time.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import miditoolkit
import mido
import pytest

from expotion_engine.types import Marker
from studio.export.job import DeliveryFolder, ExportJob
from studio.export.midi import smpte_offset, write_midi

MS = 1e-3


@pytest.fixture
def midi_path(job: ExportJob, tmp_path: Path) -> Path:
    (path,) = write_midi(job, DeliveryFolder(tmp_path))
    return path


def mido_events(path: Path) -> list[tuple[float, mido.Message]]:
    """Every message with its absolute time in seconds, as mido's own playback clock computes it."""
    now, out = 0.0, []
    for message in mido.MidiFile(path):
        now += message.time
        out.append((now, message))
    return out


def test_file_layout(job, midi_path):
    assert midi_path.name == "My_Clip.mid"
    midi = mido.MidiFile(midi_path)
    assert (midi.type, midi.ticks_per_beat) == (1, 480)
    names = [next(m.name for m in track if m.type == "track_name") for track in midi.tracks]
    assert names == ["My Clip", "drums", "bass", "harmony", "melody"]
    assert not any(m.type in ("note_on", "note_off") for m in midi.tracks[0])
    assert abs(midi.length - job.take.duration) < MS


def test_tempo_at_every_change(job, midi_path):
    midi = miditoolkit.MidiFile(str(midi_path))
    seconds = midi.get_tick_to_time_mapping()
    changes = [(seconds[c.time], c.tempo) for c in midi.tempo_changes]
    expected = [(c.time, c.bpm) for c in job.take.tempo_map.tempos]
    assert len(changes) == len(expected) == 2
    for (time, bpm), (want_time, want_bpm) in zip(changes, expected, strict=True):
        assert abs(time - want_time) < MS
        assert bpm == pytest.approx(want_bpm, abs=1e-3)
    tempos = [(t, m.tempo) for t, m in mido_events(midi_path) if m.type == "set_tempo"]
    assert [round(mido.tempo2bpm(tempo), 3) for _, tempo in tempos] == [120.0, 90.0]
    assert abs(tempos[1][0] - 1.0) < MS


def test_time_signatures(job, midi_path):
    midi = miditoolkit.MidiFile(str(midi_path))
    seconds = midi.get_tick_to_time_mapping()
    found = [(seconds[ts.time], ts.numerator, ts.denominator) for ts in midi.time_signature_changes]
    assert [(n, d) for _, n, d in found] == [(4, 4), (3, 4)]
    assert abs(found[1][0] - job.take.tempo_map.meters[1].time) < MS
    assert midi.time_signature_changes[1].time == 4 * 480  # bar 2 of 4/4


def test_markers_and_cue_points_within_a_millisecond(job, midi_path):
    sections = [m for m in job.markers if m.kind != "hit"]
    hits = [m for m in job.markers if m.kind == "hit"]
    midi = miditoolkit.MidiFile(str(midi_path))
    seconds = midi.get_tick_to_time_mapping()
    assert [m.text for m in midi.markers] == [m.name for m in sections]
    for found, want in zip(midi.markers, sections, strict=True):
        assert abs(seconds[found.time] - want.time) < MS
    events = mido_events(midi_path)
    markers = [(t, m.text) for t, m in events if m.type == "marker"]
    cues = [(t, m.text) for t, m in events if m.type == "cue_marker"]
    assert [name for _, name in markers] == [m.name for m in sections]
    assert [name for _, name in cues] == [m.name for m in hits]
    for (time, _), want in zip(markers + cues, sections + hits, strict=True):
        assert abs(time - want.time) < MS
    assert {"section", "user", "cue"} <= {m.kind for m in sections}


def test_smpte_offset_places_music_time_zero_at_the_video_timecode(midi_path):
    (offset,) = [m for m in mido.MidiFile(midi_path).tracks[0] if m.type == "smpte_offset"]
    assert (offset.frame_rate, offset.hours, offset.minutes, offset.seconds, offset.frames, offset.sub_frames) == (
        25, 1, 0, 2, 0, 0)
    assert offset.time == 0


@pytest.mark.parametrize(("seconds", "fps", "fields"), [
    (3602.0, 24.0, (24, 1, 0, 2, 0, 0)),
    (3600.53, 25.0, (25, 1, 0, 0, 13, 25)),
    (60.06, 30.0, (30, 0, 1, 0, 1, 80)),
    (60.06, 29.97, (29.97, 0, 1, 0, 2, 0)),  # 00:01:00;00 and ;01 are dropped
    (17982 * 1001 / 30000, 29.97, (29.97, 0, 10, 0, 0, 0)),  # every tenth minute keeps its frames
    (86400.0 + 61.0, 25.0, (25, 0, 1, 1, 0, 0)),
])
def test_smpte_offset_fields(seconds, fps, fields):
    offset = smpte_offset(seconds, fps)
    assert (offset.frame_rate, offset.hours, offset.minutes, offset.seconds, offset.frames, offset.sub_frames) == fields


def test_29_97_job_writes_a_drop_frame_offset(job, tmp_path):
    (path,) = write_midi(replace(job, fps=30000 / 1001, timecode_start=58.06, video_in=2.0), DeliveryFolder(tmp_path))
    (offset,) = [m for m in mido.MidiFile(path).tracks[0] if m.type == "smpte_offset"]
    assert (offset.frame_rate, offset.minutes, offset.seconds, offset.frames) == (29.97, 1, 0, 2)


def test_notes_on_one_track_per_stem(job, midi_path):
    midi = miditoolkit.MidiFile(str(midi_path))
    seconds = midi.get_tick_to_time_mapping()
    assert [i.name for i in midi.instruments] == [s.name for s in job.take.stems]
    for instrument, stem in zip(midi.instruments, job.take.stems, strict=True):
        assert instrument.is_drum == (stem.name == "drums")
        assert instrument.program == stem.notes[0].program
        found = sorted((n.pitch, seconds[n.start], seconds[n.end], n.velocity) for n in instrument.notes)
        want = sorted((n.pitch, n.start, n.end, n.velocity) for n in stem.notes)
        assert len(found) == len(want)
        for (pitch, start, end, velocity), (w_pitch, w_start, w_end, w_velocity) in zip(found, want, strict=True):
            assert (pitch, velocity) == (w_pitch, w_velocity)
            assert abs(start - w_start) < MS and abs(end - w_end) < MS
    channels = {track.name: {m.channel for m in track if m.type == "note_on"}
                for track in mido.MidiFile(midi_path).tracks[1:]}
    assert channels == {"drums": {9}, "bass": {0}, "harmony": {1}, "melody": {2}}  # one channel per part


def test_take_without_notes_writes_only_the_conductor_track(job, tmp_path):
    silent = replace(job.take, stems=tuple(replace(s, notes=()) for s in job.take.stems))
    (path,) = write_midi(replace(job, take=silent), DeliveryFolder(tmp_path))
    assert len(mido.MidiFile(path).tracks) == 1


def test_markers_outside_the_music_are_left_out(job, tmp_path):
    outside = (Marker(-0.5, "pre-roll", "user"), Marker(job.take.duration + 1.0, "after", "section"))
    (path,) = write_midi(replace(job, markers=job.markers + outside), DeliveryFolder(tmp_path))
    texts = [m.text for m in mido.MidiFile(path).tracks[0] if m.type in ("marker", "cue_marker")]
    assert texts == [m.name for m in job.markers]


INSTRUMENTS = {"drums": "drums", "bass": "pluck_bass", "harmony": "strings", "melody": "flute"}
GM_PROGRAMS = {"drums": 0, "bass": 33, "harmony": 48, "melody": 73}  # GM: kit, picked bass, strings, flute


@pytest.fixture
def composer_job(job):
    """The job's take as the procedural engine hands it over: instrument names on the stems, key and mode."""
    stems = tuple(replace(s, notes=tuple(replace(n, channel=0, program=0) for n in s.notes),
                          info={"instrument": INSTRUMENTS[s.name]}) for s in job.take.stems)
    return replace(job, take=replace(job.take, stems=stems, info={"key": "D", "mode": "dorian"}))


# pretty_midi warns about any key signature outside track 0; SMF 1.0 keeps only tempo and meter there, and
# notation programs (MuseScore) read keys from the note tracks, so the parts repeat the key
KEY_IN_PARTS = pytest.mark.filterwarnings("ignore:Tempo, Key or Time signature change events")


@KEY_IN_PARTS
def test_each_part_has_its_own_channel_gm_program_and_name(composer_job, tmp_path):
    import pretty_midi

    (path,) = write_midi(composer_job, DeliveryFolder(tmp_path))
    midi = pretty_midi.PrettyMIDI(str(path))
    found = {i.name: (i.program, i.is_drum) for i in midi.instruments}
    assert found == {name: (program, name == "drums") for name, program in GM_PROGRAMS.items()}
    by_channel: dict[int, set[str]] = {}
    for track in mido.MidiFile(path).tracks[1:]:
        name = next(m.name for m in track if m.type == "track_name")
        for message in track:
            if message.type in ("note_on", "program_change"):
                by_channel.setdefault(message.channel, set()).add(name)
    assert by_channel[9] == {"drums"}
    assert all(len(names) == 1 for names in by_channel.values()) and len(by_channel) == 4
    programs = {m.channel: m.program for track in mido.MidiFile(path).tracks for m in track
                if m.type == "program_change"}
    assert {c: p for c, p in programs.items() if c != 9} == {0: 33, 1: 48, 2: 73}


@pytest.mark.parametrize(("key", "mode", "signature"), [
    ("D", "dorian", "C"), ("A", "minor", "Am"), ("Eb", "major", "Eb"), ("F#", "minor", "F#m"), ("F", "lydian", "C"),
    ("E", "phrygian", "C"), ("G", "mixolydian", "C"),
])
def test_key_signature_from_the_takes_key(composer_job, tmp_path, key, mode, signature):
    take = replace(composer_job.take, info={"key": key, "mode": mode})
    (path,) = write_midi(replace(composer_job, take=take), DeliveryFolder(tmp_path))
    (found,) = [m.key for m in mido.MidiFile(path).tracks[0] if m.type == "key_signature"]
    assert found == signature
    in_parts = {next(m.name for m in t if m.type == "track_name"): [m.key for m in t if m.type == "key_signature"]
                for t in mido.MidiFile(path).tracks[1:]}
    assert in_parts == {"drums": [], "bass": [signature], "harmony": [signature], "melody": [signature]}
    texts = [m.text for m in mido.MidiFile(path).tracks[0] if m.type == "text"]
    assert f"Key: {key} {mode}" in texts


@KEY_IN_PARTS
def test_no_same_pitch_notes_overlap_within_a_channel(composer_job, tmp_path):
    from expotion_engine.types import Note

    melody = composer_job.take.stems[3]
    crowded = melody.notes + (Note(72, 0.3, 0.9, 80), Note(72, 0.25, 0.4, 60), Note(74, 0.75, 1.2, 70))
    stems = (*composer_job.take.stems[:3], replace(melody, notes=crowded))
    (path,) = write_midi(replace(composer_job, take=replace(composer_job.take, stems=stems)), DeliveryFolder(tmp_path))
    for track in mido.MidiFile(path).tracks[1:]:
        sounding: dict[tuple[int, int], int] = {}
        for message in track:
            key = (getattr(message, "channel", -1), getattr(message, "note", -1))
            if message.type == "note_on" and message.velocity > 0:
                assert sounding.get(key, 0) == 0, f"{key} starts while it is still sounding"
                sounding[key] = 1
            elif message.type in ("note_off", "note_on"):
                sounding[key] = 0
    import pretty_midi

    (lead,) = [i for i in pretty_midi.PrettyMIDI(str(path)).instruments if i.name == "melody"]
    starts = sorted(n.start for n in lead.notes if n.pitch == 72)
    assert starts[0] == pytest.approx(0.25, abs=MS) and starts[1] == pytest.approx(0.3, abs=MS)


def test_midi_start_timecode_puts_the_music_at_its_timecode_from_file_start(composer_job, tmp_path):
    from studio.export.job import ExportSettings

    timed = replace(composer_job, settings=ExportSettings(midi_start="timecode"))
    (path,) = write_midi(timed, DeliveryFolder(tmp_path))
    events = mido_events(path)
    (offset,) = [m for _, m in events if m.type == "smpte_offset"]
    assert (offset.hours, offset.minutes, offset.seconds, offset.frames) == (0, 0, 0, 0)
    first_kick = min(t for t, m in events if m.type == "note_on" and m.channel == 9)
    assert first_kick == pytest.approx(timed.start_seconds + 0.0, abs=MS)  # 3602 s: the music's timecode
    markers = [(t, m.text) for t, m in events if m.type == "marker"]
    assert markers[0] == (pytest.approx(timed.start_seconds, abs=MS), "Intro")
    tempos = [(t, m) for t, m in events if m.type == "set_tempo"]
    assert abs(tempos[-1][0] - (timed.start_seconds + 1.0)) < MS and round(mido.tempo2bpm(tempos[-1][1].tempo)) == 90
    (music_tick,) = [m.time for m in miditoolkit.MidiFile(str(path)).markers if m.text == "Intro"]
    assert music_tick > 0 and music_tick % (4 * 480) == 0  # whole 4/4 bars of pre-roll: the music starts on a downbeat
    zero = write_midi(composer_job, DeliveryFolder(tmp_path / "zero"))[0]
    assert min(t for t, m in mido_events(zero) if m.type == "note_on") == pytest.approx(0.0, abs=MS)


@pytest.mark.parametrize(("numerator", "denominator", "start"),
                         [(7, 8, 3602.0), (3, 4, 0.52), (6, 8, 3600.0 + 1001 / 30000)])
def test_the_timecode_preroll_is_whole_bars_to_the_microsecond(composer_job, tmp_path, numerator, denominator, start):
    from expotion_engine.types import MeterChange, TempoChange, TempoMap
    from studio.export.job import ExportSettings

    tempo_map = TempoMap(tempos=(TempoChange(0.0, 97.0),), meters=(MeterChange(0.0, numerator, denominator),))
    take = replace(composer_job.take, tempo_map=tempo_map)
    timed = replace(composer_job, take=take, timecode_start=start, video_in=0.0,
                    settings=ExportSettings(midi_start="timecode"))
    (path,) = write_midi(timed, DeliveryFolder(tmp_path))
    (intro,) = [m.time for m in miditoolkit.MidiFile(str(path)).markers if m.text == "Intro"]
    assert intro > 0 and intro % (numerator * 480 * 4 // denominator) == 0
    (at,) = [t for t, m in mido_events(path) if m.type == "marker" and m.text == "Intro"]
    assert at == pytest.approx(start, abs=1e-6)


def test_the_timecode_preroll_counts_in_bar_ones_meter_not_a_pickup_bars(composer_job, tmp_path):
    """A map opening with a one-beat pickup bar: the pre-roll is whole 4/4 bars, as bar 1 is, and the
    pickup's 1/4 starts where the music does."""
    from expotion_engine.types import MeterChange, TempoChange, TempoMap
    from studio.export.job import ExportSettings

    beat = 60.0 / 120.0
    tempo_map = TempoMap(tempos=(TempoChange(0.0, 120.0),),
                         meters=(MeterChange(0.0, 1, 4), MeterChange(beat, 4, 4)), anchor=beat)
    take = replace(composer_job.take, tempo_map=tempo_map)
    timed = replace(composer_job, take=take, timecode_start=3602.0, video_in=0.0,
                    settings=ExportSettings(midi_start="timecode"))
    (path,) = write_midi(timed, DeliveryFolder(tmp_path))
    signatures = [(m.time, m.numerator, m.denominator) for m in miditoolkit.MidiFile(str(path)).time_signature_changes]
    (intro,) = [m.time for m in miditoolkit.MidiFile(str(path)).markers if m.text == "Intro"]
    assert signatures[0] == (0, 4, 4)
    assert intro > 0 and intro % (4 * 480) == 0
    assert (intro, 1, 4) in signatures and (intro + 480, 4, 4) in signatures


def test_the_timecode_preroll_plays_near_bar_ones_tempo_not_the_lead_ins(composer_job, tmp_path):
    """A map whose 0.3 s lead-in beat runs at 200 BPM before 110 BPM music (``expotion tempo`` of clicks
    starting at 0.3 s): ten seconds of pre-roll count in near 110 BPM, not at the lead-in's 192."""
    from expotion_engine.types import MeterChange, TempoChange, TempoMap
    from studio.export.job import ExportSettings

    tempo_map = TempoMap(tempos=(TempoChange(0.0, 200.0), TempoChange(0.3, 110.0)),
                         meters=(MeterChange(0.0, 1, 4), MeterChange(0.3, 4, 4)), anchor=0.3)
    take = replace(composer_job.take, tempo_map=tempo_map)
    timed = replace(composer_job, take=take, timecode_start=10.0, video_in=0.0,
                    settings=ExportSettings(midi_start="timecode"))
    (path,) = write_midi(timed, DeliveryFolder(tmp_path))
    first = next(m.tempo for m in mido.MidiFile(str(path)).tracks[0] if m.type == "set_tempo")
    assert abs(math.log2(mido.tempo2bpm(first) / 110.0)) < math.log2(1.15), mido.tempo2bpm(first)


def test_tempo_changes_past_the_music_are_left_out(composer_job, tmp_path):
    """A map holding changes after the take's end (a cadence planned past a short range): the file ends with the
    music, as the other formats do, and carries no tempo from after it."""
    from expotion_engine.types import MeterChange, TempoChange, TempoMap

    end = composer_job.take.duration
    tempo_map = TempoMap(tempos=(TempoChange(0.0, 100.0), TempoChange(end + 0.25, 80.0), TempoChange(end + 0.9, 60.0)),
                         meters=(MeterChange(0.0, 4, 4), MeterChange(end + 0.5, 3, 4)))
    take = replace(composer_job.take, tempo_map=tempo_map)
    (path,) = write_midi(replace(composer_job, take=take), DeliveryFolder(tmp_path))
    tempos = [m for _, m in mido_events(path) if m.type == "set_tempo"]
    meters = [m for _, m in mido_events(path) if m.type == "time_signature"]
    assert [round(mido.tempo2bpm(m.tempo)) for m in tempos] == [100]
    assert [(m.numerator, m.denominator) for m in meters] == [(4, 4)]
    assert mido.MidiFile(str(path)).length == pytest.approx(end, abs=0.01)
