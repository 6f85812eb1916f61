"""``expotion stems`` and ``expotion models``: files read back with soundfile, mido and json."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import mido
import numpy as np
import pytest
import soundfile as sf

from studio.cli import main
from tests.stems.test_demucs import music
from tests.stems.test_transcribe import MELODY, REASON, render


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip() and "%|" not in line]
    assert "Traceback" not in stderr and len(lines) == 1, stderr
    assert lines[0].startswith("expotion: error: ")
    return lines[0]


def test_stems_command_writes_wavs_at_the_inputs_rate_and_length(
        tiny_repo: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "mix.wav"
    sf.write(source, music(48000, 1.3).T, 48000, subtype="PCM_24")
    out = tmp_path / "stems"
    assert main(["stems", str(source), "-o", str(out), "--repo", str(tiny_repo), "--device", "cpu"]) == 0
    report = json.loads((out / "stems.json").read_text())
    assert [s["name"] for s in report["stems"]] == ["drums", "bass", "other", "vocals"]
    for stem in report["stems"]:
        info = sf.info(out / stem["file"])
        assert (info.samplerate, info.frames, info.channels, info.subtype) == (48000, 62400, 2, "FLOAT")
        assert stem["origin"] == "separated" and "residual_db" in stem["info"]
    assert "residual of their sum" in capfd.readouterr().err


def test_stems_command_errors_are_one_sentence(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["stems", str(tmp_path / "nope.wav"), "-o", str(tmp_path / "o")]) == 2
    assert "nope.wav: file not found." in one_error_line(capfd.readouterr().err)
    assert main(["stems", str(tmp_path), "-o", str(tmp_path / "o")]) == 2
    assert f"{tmp_path}: is a folder; give an audio file." in one_error_line(capfd.readouterr().err)
    junk = tmp_path / "junk.wav"
    junk.write_text("not audio")
    assert main(["stems", str(junk), "-o", str(tmp_path / "o")]) == 2
    assert "junk.wav: cannot read audio" in one_error_line(capfd.readouterr().err)
    source = tmp_path / "mix.wav"
    sf.write(source, music(44100, 0.5).T, 44100)
    assert main(["stems", str(source), "-o", str(tmp_path / "o")]) == 2
    assert "fetch it with `expotion models pull htdemucs`" in one_error_line(capfd.readouterr().err)
    assert not (tmp_path / "o").exists()


@pytest.mark.skipif(REASON is not None, reason=f"basic-pitch cannot run here: {REASON}")
def test_fallback_with_notes_writes_a_midi_of_the_melody(tmp_path: Path,
                                                        capfd: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "melody.wav"
    sf.write(source, render(MELODY), 32000)
    out = tmp_path / "stems"
    assert main(["stems", str(source), "-o", str(out), "--fallback", "--notes"]) == 0
    assert "DSP fallback used" in capfd.readouterr().err
    report = json.loads((out / "stems.json").read_text())
    assert {s["name"]: s["origin"] for s in report["stems"]} == {"drums": "dsp", "bass": "dsp", "other": "dsp"}
    midi = mido.MidiFile(out / "notes.mid")
    assert midi.type == 1
    pitches = {m.note for track in midi.tracks[1:] for m in track if m.type == "note_on" and m.velocity > 0}
    assert {p for p, _ in MELODY} <= pitches


def test_models_list_shows_where_weights_are(tiny_repo: Path, empty_model_caches: Path,
                                             capfd: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(tiny_repo, empty_model_caches / "models" / "demucs")
    assert main(["models", "list", "--family", "demucs"]) == 0
    lines = capfd.readouterr().out.splitlines()
    installed = {line.split()[0]: line for line in lines if line and not line.startswith(" ")}
    assert str(empty_model_caches / "models" / "demucs") in installed["htdemucs"]
    assert installed["htdemucs_ft"].endswith("not installed") and set(installed) >= {"htdemucs_6s", "mdx_extra"}
    assert main(["models", "pull", "nonexistent"]) == 2
    assert "Unknown model 'nonexistent'" in one_error_line(capfd.readouterr().err)


def test_separated_stems_sum_like_the_report_says(tiny_repo: Path, tmp_path: Path) -> None:
    source = tmp_path / "mix.wav"
    mix = music(44100, 1.0)
    sf.write(source, mix.T, 44100, subtype="FLOAT")
    out = tmp_path / "stems"
    assert main(["stems", str(source), "-o", str(out), "--repo", str(tiny_repo)]) == 0
    report = json.loads((out / "stems.json").read_text())
    total = sum(sf.read(out / s["file"], dtype="float64")[0] for s in report["stems"])
    residual = 10 * np.log10(np.sum((mix.T - total) ** 2) / np.sum(mix.astype(np.float64) ** 2))
    assert report["stems"][0]["info"]["residual_db"] == pytest.approx(residual, abs=0.01)


def test_stems_of_a_six_channel_file_is_one_sentence_naming_the_file(tmp_path: Path,
                                                                   capfd: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "surround.wav"
    sf.write(source, np.tile(music(32000, 0.5)[:1].T, (1, 6)), 32000, subtype="PCM_16")
    assert main(["stems", str(source), "-o", str(tmp_path / "o"), "--fallback"]) == 2
    line = one_error_line(capfd.readouterr().err)
    assert "surround.wav: the file has 6 channels; stems takes mono or stereo audio" in line
    assert not (tmp_path / "o").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only (chmod 555) folder anyway")
def test_stems_into_a_read_only_folder_fails_before_the_work_naming_the_folder(
        tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "mix.wav"
    sf.write(source, music(32000, 0.5).T, 32000)
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(0o555)
    try:
        assert main(["stems", str(source), "-o", str(out), "--model", "dsp"]) == 2
    finally:
        out.chmod(0o755)
    line = one_error_line(capfd.readouterr().err)
    assert f"{out}: the output folder is not writable" in line and ".part" not in line
    assert list(out.iterdir()) == []


def test_a_second_run_with_fewer_stems_removes_the_first_runs_others(
        tiny_repo: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "mix.wav"
    mix = music(32000, 1.0)
    sf.write(source, mix.T, 32000, subtype="FLOAT")
    out = tmp_path / "stems"
    assert main(["stems", str(source), "-o", str(out), "--repo", str(tiny_repo), "--device", "cpu"]) == 0
    (out / "mine.wav").write_bytes((out / "vocals.wav").read_bytes())  # the user's own file, never removed
    assert main(["stems", str(source), "-o", str(out), "--model", "dsp"]) == 0
    capfd.readouterr()
    assert sorted(p.name for p in out.iterdir()) == ["bass.wav", "drums.wav", "mine.wav", "other.wav", "stems.json"]
    total = sum(sf.read(out / f"{name}.wav", always_2d=True)[0] for name in ("drums", "bass", "other"))
    assert np.abs(total.T - mix).max() < 1e-5
