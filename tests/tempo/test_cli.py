"""``expotion tempo``: the MIDI tempo map read back with mido, and one-sentence errors."""

from __future__ import annotations

import json
from pathlib import Path

import mido
import pytest
import soundfile as sf

from studio.cli import main
from tests.tempo.synth import beat_times, click_track

RATE = 22050


@pytest.fixture(scope="module")
def click_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[float]]:
    """90 BPM for 16 beats then 120 BPM, 4/4, first beat (a downbeat) at 0.7 s."""
    beats = beat_times(((16, 90, 90), (24, 120, 120)), 0.7)
    path = tmp_path_factory.mktemp("audio") / "click.wav"
    sf.write(path, click_track(beats, 4, RATE), RATE)
    return path, list(beats)


def seconds_of(midi: mido.MidiFile) -> list[tuple[float, mido.MetaMessage]]:
    """Absolute time of every event of track 0, integrated with the file's own tempo events."""
    out, seconds, tempo = [], 0.0, 500000
    for message in midi.tracks[0]:
        seconds += mido.tick2second(message.time, midi.ticks_per_beat, tempo)
        if message.type == "set_tempo":
            tempo = message.tempo
        out.append((seconds, message))
    return out


def test_tempo_command_writes_a_type_1_tempo_map(click_file: tuple[Path, list[float]], tmp_path: Path) -> None:
    path, beats = click_file
    midi_path, json_path = tmp_path / "map.mid", tmp_path / "map.json"
    assert main(["tempo", str(path), "-o", str(midi_path), "--json", str(json_path)]) == 0
    midi = mido.MidiFile(midi_path)
    assert midi.type == 1 and len(midi.tracks) == 1
    events = seconds_of(midi)
    tempos = [(t, mido.tempo2bpm(m.tempo)) for t, m in events if m.type == "set_tempo"]
    music = [(t, bpm) for t, bpm in tempos if t > beats[0] - 0.01]
    assert [round(bpm) for _, bpm in music] == [90, 120]
    assert music[1][0] == pytest.approx(beats[16], abs=0.02)
    signatures = [(t, m.numerator, m.denominator) for t, m in events if m.type == "time_signature"]
    assert signatures[-1][1:] == (4, 4)
    marker = [t for t, m in events if m.type == "marker" and m.text == "first downbeat"]
    assert marker[0] == pytest.approx(beats[0], abs=0.02)
    assert events[-1][1].type == "end_of_track"
    assert events[-1][0] == pytest.approx(sf.info(path).duration, abs=0.01)  # the whole audio, not to the last change
    saved = json.loads(json_path.read_text())
    assert len(saved["beats"]) == len(beats) and saved["tempo_map"]["anchor"] == pytest.approx(beats[0], abs=0.02)


def test_tempo_command_errors(click_file: tuple[Path, list[float]], tmp_path: Path,
                              capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["tempo", str(tmp_path / "missing.wav")]) == 2
    assert capfd.readouterr().err.strip() == f"expotion: error: {tmp_path / 'missing.wav'}: file not found."
    assert main(["tempo", str(click_file[0]), "-o", str(tmp_path / "map.txt")]) == 2
    assert "use a .mid name" in capfd.readouterr().err
    assert not (tmp_path / "map.txt").exists()
