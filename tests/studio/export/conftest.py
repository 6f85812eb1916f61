"""Fixtures for the delivery exporters: a realistic Take and an ExportJob placing it on a video.

``take`` (session-scoped, 48 kHz stereo float32, 3.0 s): stems ``drums``, ``bass``,
``harmony`` and ``melody`` rendered from their own notes (drums on MIDI channel 9,
program 0; bass program 33 on channel 1; harmony program 0 on channel 2; melody
program 73 on channel 3), the mix is their sum. Its tempo map starts at 120 BPM,
changes to 90 BPM at 1.0 s (beat 2), and changes meter from 4/4 to 3/4 at bar 2
(beat 4, 1.0 + 2 * 60 / 90 s). Markers of every kind: hits, sections, a cue and a user
marker, some with colours.

``job`` (per test): that Take titled ``"My Clip"`` on the 5 s ``face_clip`` video
(25 fps) from ``video_in=2.0`` with ``timecode_start=3600.0`` (01:00:00:00), so music
time 0 is at 01:00:02:00; its markers are the Take's plus one session user cue.
"""

from __future__ import annotations

import numpy as np
import pytest

from expotion_engine.types import Marker, MeterChange, Note, Stem, Take, TempoChange, TempoMap
from studio.demo.scenarios import Clip
from studio.export.job import ExportJob, ExportSettings

RATE = 48000
DURATION = 3.0
TEMPO_MAP = TempoMap(
    tempos=(TempoChange(0.0, 120.0), TempoChange(1.0, 90.0)),
    meters=(MeterChange(0.0, 4, 4), MeterChange(1.0 + 2 * 60 / 90, 3, 4)),
)
TAKE_MARKERS = (
    Marker(0.0, "Intro", "section", color="#3366ff"),
    Marker(0.52, "hit 1", "hit", strength=0.8),
    Marker(1.25, "hit 2", "hit"),
    Marker(1.0 + 2 * 60 / 90, "Verse", "section", color="#ff9900"),
    Marker(2.1, "swell", "cue"),
    Marker(2.71, "hit 3", "hit", strength=0.5),
)
SESSION_CUES = (Marker(1.8, "client note", "user", color="#00cc66"),)


def _notes() -> dict[str, tuple[Note, ...]]:
    beats = TEMPO_MAP.beat_times(DURATION)
    drums = tuple(
        Note(36 if i % 2 == 0 else 38, float(t), float(t) + 0.1, 110 if i % 2 == 0 else 90, channel=9)
        for i, t in enumerate(beats) if t + 0.1 <= DURATION
    )
    bass = tuple(
        Note(pitch, float(beats[i]), float(beats[i + 1]) - 0.02, 100, channel=1, program=33)
        for i, pitch in zip(range(len(beats) - 1), (36, 36, 43, 41, 36, 43), strict=False)
    )
    harmony = tuple(
        Note(pitch, start, end, 70, channel=2)
        for start, end, chord in ((0.0, 1.0, (60, 64, 67)), (1.0, 2.3, (57, 60, 64)), (2.3, 3.0, (55, 59, 62)))
        for pitch in chord
    )
    melody = tuple(
        Note(pitch, start, start + 0.3, 96, channel=3, program=73)
        for start, pitch in ((0.25, 72), (0.75, 74), (1.3, 76), (1.9, 79), (2.45, 77))
    )
    return {"drums": drums, "bass": bass, "harmony": harmony, "melody": melody}


def _render(notes: tuple[Note, ...], drum: bool, rng: np.random.Generator) -> np.ndarray:
    n = int(round(DURATION * RATE))
    out = np.zeros((2, n), np.float64)
    for note in notes:
        a, b = int(note.start * RATE), min(int(note.end * RATE), n)
        t = np.arange(b - a) / RATE
        env = np.exp(-t * (30.0 if drum else 3.0)) * note.velocity / 127
        if drum:
            tone = rng.standard_normal(b - a) if note.pitch == 38 else np.sin(2 * np.pi * 60 * t)
        else:
            tone = np.sin(2 * np.pi * 440.0 * 2 ** ((note.pitch - 69) / 12) * t)
        pan = (note.pitch % 12) / 11
        out[0, a:b] += 0.2 * env * tone * (1 - pan)
        out[1, a:b] += 0.2 * env * tone * pan
    return out.astype(np.float32)


@pytest.fixture(scope="session")
def take() -> Take:
    """A 3 s, 48 kHz stereo Take with four note-carrying stems, a tempo and a meter change, markers of every kind."""
    rng = np.random.default_rng(7)
    notes = _notes()
    stems = tuple(Stem(name, _render(part, name == "drums", rng), notes=part) for name, part in notes.items())
    mix = np.sum([s.audio for s in stems], axis=0)
    return Take(
        engine="procedural", sample_rate=RATE, mix=mix, stems=stems, tempo_map=TEMPO_MAP, markers=TAKE_MARKERS,
        request={"prompt": "test"}, seed=7,
    )


@pytest.fixture
def job(take: Take, face_clip: Clip) -> ExportJob:
    """``take`` titled "My Clip" on the 25 fps face clip from 2.0 s in, timecode starting at 01:00:00:00."""
    return ExportJob(
        take=take, title="My Clip", video=face_clip.path, video_in=2.0, timecode_start=3600.0, fps=25.0,
        markers=tuple(sorted(TAKE_MARKERS + SESSION_CUES, key=lambda m: m.time)), settings=ExportSettings(),
    )
