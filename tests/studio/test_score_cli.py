"""``expotion score`` and ``expotion export`` in-process: the files, their length to the sample,
the session file, refusing to overwrite, and re-exporting without generating."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import mido
import pytest
import soundfile as sf

from studio.cli import main
from studio.demo.scenarios import Clip
from studio.session import Session

START, END = 0.4, 2.9
RATE = 44100
SAMPLES = round((END - START) * RATE)


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip() and not line.startswith(("score", "export"))]
    assert "Traceback" not in stderr
    assert len(lines) == 1 and lines[0].startswith("expotion: error: "), stderr
    return lines[0]


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory, face_clip: Clip) -> Iterator[Path]:
    """``expotion score`` of the face clip's 0.4-2.9 s at 44.1 kHz into an output folder."""
    folder = tmp_path_factory.mktemp("score_cli")
    out = folder / "out"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EXPOTION_CACHE_DIR", str(folder / "cache"))
        code = main(["score", str(face_clip.path), "-o", str(out), "--start", str(START), "--end", str(END),
                     "--seed", "11", "--preset", "lo-fi", "--prompt", "no drums, piano", "--sample-rate",
                     str(RATE), "--timecode-start", "01:00:00:00", "--format", "audio", "midi", "markers"])
        assert code == 0
        yield out


def test_score_writes_the_take_session_and_delivery(scored: Path, face_clip: Clip) -> None:
    mix, rate = sf.read(scored / "mix.wav", always_2d=True)
    assert rate == RATE
    assert mix.shape[0] == SAMPLES
    take = json.loads((scored / "take.json").read_text())
    assert take["seed"] == 11 and take["n_samples"] == SAMPLES
    for stem in take["stems"]:
        assert sf.info(scored / stem["file"]).frames == SAMPLES
    assert take["request"]["prompt"] == "no drums, piano"
    assert take["request"]["controls"]["source"]["start"] == pytest.approx(START)

    title = Path(face_clip.path).stem
    session = Session.load(scored / f"{title}.expotion")
    assert session.video == Path(face_clip.path).resolve() and session.video_found
    assert (session.video_in, session.video_out) == (START, END)
    assert (session.preset, session.seed, session.export.sample_rate) == ("lo-fi", 11, RATE)
    assert session.timecode_start == 3600.0
    assert session.chosen_take_folder() == scored.resolve()

    delivery = scored / "delivery"
    assert sf.info(delivery / f"{title}_mix.wav").frames == SAMPLES
    midi = mido.MidiFile(delivery / f"{title}.mid")
    assert any(msg.type == "set_tempo" for msg in midi.tracks[0])
    assert (delivery / f"{title}_markers.csv").is_file()


def test_score_refuses_a_non_empty_folder(scored: Path, face_clip: Clip, capsys: pytest.CaptureFixture[str]) -> None:
    before = (scored / "mix.wav").read_bytes()
    assert main(["score", str(face_clip.path), "-o", str(scored)]) == 2
    assert "is not empty" in one_error_line(capsys.readouterr().err)
    assert (scored / "mix.wav").read_bytes() == before


def test_score_rejects_an_unknown_preset_before_working(tmp_path: Path, face_clip: Clip,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", str(face_clip.path), "-o", str(tmp_path / "o"), "--preset", "polka-metal"]) == 2
    assert "Unknown preset 'polka-metal'" in one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_musicgen_options_are_refused_for_another_engine(tmp_path: Path, face_clip: Clip,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", str(face_clip.path), "-o", str(tmp_path / "o"), "--model", "musicgen-small"]) == 2
    assert "only apply to --engine musicgen" in one_error_line(capsys.readouterr().err)


def test_export_re_exports_without_generating(scored: Path, face_clip: Clip, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    session_file = scored / f"{Path(face_clip.path).stem}.expotion"
    saved = session_file.read_bytes()
    take_before = (scored / "mix.wav").read_bytes()
    out = tmp_path / "again"
    args = ["export", str(session_file), "-o", str(out), "--format", "audio", "--sample-rate", "96000",
            "--bit-depth", "16"]
    assert main(args) == 0
    info = sf.info(out / f"{Path(face_clip.path).stem}_mix.wav")
    assert (info.samplerate, info.subtype) == (96000, "PCM_16")
    assert info.frames == round((END - START) * 96000)
    assert session_file.read_bytes() == saved
    assert (scored / "mix.wav").read_bytes() == take_before
    capsys.readouterr()

    assert main(args) == 2
    assert "already exists" in one_error_line(capsys.readouterr().err)
    assert main([*args, "--force"]) == 0
    assert main(["export", str(session_file), "-o", str(out), "--take", "take-404"]) == 2
    assert "no take 'take-404'" in one_error_line(capsys.readouterr().err)


def test_export_of_a_damaged_session_is_one_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.expotion"
    bad.write_text('{"format": "expotion.session", "version": 2, "title": ')
    assert main(["export", str(bad), "-o", str(tmp_path / "o")]) == 2
    assert "corrupted" in one_error_line(capsys.readouterr().err)
