"""The MIDI file's key reaches a notation program (MuseScore 3) and an analysis library (pretty_midi).

MuseScore 3 reads a key signature per track: a pitched track without one of its own gets a key
guessed from its notes, and the conductor track's is not used (its MIDI import's
``recognizeMainKeySig``). So the writer repeats track 0's key at the head of every pitched
part, which pretty_midi (reading keys, tempos and meters from track 0 only) warns about.
The take's notes here are C major chords, so a guessed key has no accidentals and three
flats can only be the file's E-flat major.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import warnings
from dataclasses import replace
from pathlib import Path

import mido
import pytest

from studio.export.job import DeliveryFolder, ExportJob
from studio.export.midi import write_midi

MUSESCORE = shutil.which("musescore3") or shutil.which("mscore3")
INSTRUMENTS = {"drums": "drums", "bass": "pluck_bass", "harmony": "strings", "melody": "flute"}


@pytest.fixture
def e_flat(job: ExportJob, tmp_path: Path) -> Path:
    """The job's take in E-flat major, with its instruments, written as MIDI."""
    stems = tuple(replace(s, info={"instrument": INSTRUMENTS[s.name]}) for s in job.take.stems)
    take = replace(job.take, stems=stems, info={"key": "Eb", "mode": "major"})
    (path,) = write_midi(replace(job, take=take), DeliveryFolder(tmp_path))
    return path


def _staff_keys(midi: Path, out: Path) -> list[int | None]:
    """The key (sharps > 0, flats < 0) MuseScore's import gives each staff, None where it writes none."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(out.parent)}
    subprocess.run([MUSESCORE, "-o", str(out), str(midi)], check=True, env=env, capture_output=True, timeout=120)
    staves = [part for part in out.read_text().split('<Staff id="')[1:] if "<Measure" in part]
    keys = [re.search(r"<KeySig>\s*<accidental>(-?\d+)</accidental>", staff) for staff in staves]
    return [int(k.group(1)) if k else None for k in keys]


@pytest.mark.skipif(MUSESCORE is None, reason="MuseScore 3 is not installed")
def test_musescore_reads_the_key_of_every_pitched_part(e_flat: Path, tmp_path: Path) -> None:
    assert sorted(_staff_keys(e_flat, tmp_path / "parts.mscx"), key=str) == [-3, -3, -3, None]  # drums: none
    conductor_only = mido.MidiFile(e_flat)  # the same file with the key on track 0 only
    for track in conductor_only.tracks[1:]:
        for index, message in enumerate(track):
            if message.type == "key_signature":
                del track[index]
                break
    conductor_only.save(tmp_path / "conductor_only.mid")
    assert -3 not in _staff_keys(tmp_path / "conductor_only.mid", tmp_path / "conductor_only.mscx")


def test_pretty_midi_reads_the_key_once_from_the_conductor_track(e_flat: Path) -> None:
    import pretty_midi

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        midi = pretty_midi.PrettyMIDI(str(e_flat))
    assert [(k.key_number, k.time) for k in midi.key_signature_changes] == [(pretty_midi.key_name_to_key_number(
        "Eb Major"), 0.0)]
    assert [str(w.message).split(".")[0] for w in caught] == [
        "Tempo, Key or Time signature change events found on non-zero tracks"]  # the parts' repeated keys only
    tracks = mido.MidiFile(e_flat).tracks
    assert [m.key for m in tracks[0] if m.type == "key_signature"] == ["Eb"]
    assert all(m.type != "set_tempo" and m.type != "time_signature" for t in tracks[1:] for m in t)
