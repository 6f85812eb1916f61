"""Issue 13 item 6: a full, read-only or impossible output is one sentence before the expensive work.

``score`` checks the folder, the free space against the take's estimated size, the timecode and the
formats before analysing a frame (the analysis cache stays untouched); ``analyze``, ``stems``,
``tempo`` and ``train`` check their output paths before reading any media."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from expotion_engine.errors import ExportError
from studio.cli import main
from studio.demo.scenarios import Clip
from studio.fsutil import os_error_sentence
from studio.preflight import check_output_path, estimate_space
from studio.session import DeliveryPrefs, Session


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("expotion:")]
    assert "Traceback" not in stderr and len(lines) == 1, stderr
    return lines[0]


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("EXPOTION_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def blocker(tmp_path: Path) -> Path:
    """A plain file: any output path under it fails with ENOTDIR, even for root."""
    path = tmp_path / "a_file"
    path.write_text("not a folder")
    return path


def test_a_full_disk_stops_score_before_the_analysis(face_clip: Clip, tmp_path: Path, cache: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    real = shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage", lambda path: real(path)._replace(free=3 * 2**20))
    out = tmp_path / "out"
    assert main(["score", str(face_clip.path), "-o", str(out), "--end", "2.2"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "free" in line and "MB" in line and str(out) in line
    assert not cache.exists()  # nothing was analysed
    assert not out.exists()  # no lock, no staging, no take, not even the folder left behind


def test_the_estimate_grows_with_the_range_and_covers_the_re_muxed_video(face_clip: Clip) -> None:
    def estimate(end: float, formats: tuple[str, ...]) -> int:
        session = Session.for_video(face_clip.path, video_out=end, export=DeliveryPrefs(48000, 24, formats))
        return estimate_space(session, list(formats) or None, delivery=True).total

    assert estimate(4.0, ("audio",)) > 1.9 * estimate(2.0, ("audio",)) - 16 * 2**20
    assert estimate(4.0, ()) > estimate(4.0, ("audio",)) + 0.7 * os.path.getsize(face_clip.path)


def test_score_under_a_file_is_one_sentence_before_any_work(face_clip: Clip, blocker: Path, cache: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", str(face_clip.path), "-o", str(blocker / "out"), "--end", "2.2"]) == 2
    assert "is a file" in one_error_line(capsys.readouterr().err)
    assert not cache.exists()


@pytest.fixture
def click(tmp_path: Path) -> Path:
    path = tmp_path / "click.wav"
    t = np.arange(48000 * 2) / 48000
    sf.write(path, np.where((t % 0.5) < 0.01, 0.5, 0.0), 48000)
    return path


@pytest.mark.parametrize("command", ["analyze", "stems", "tempo", "train"])
def test_other_commands_check_their_output_first(command: str, face_clip: Clip, click: Path, blocker: Path,
                                                 cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = {
        "analyze": ["analyze", str(face_clip.path), "-o", str(blocker / "sub" / "controls.npz")],
        "stems": ["stems", str(click), "--fallback", "-o", str(blocker / "stems")],
        "tempo": ["tempo", str(click), "-o", str(blocker / "tempo.mid")],
        "train": ["train", str(click.parent), "-o", str(blocker / "run")],
    }[command]
    assert main(argv) == 2
    line = one_error_line(capsys.readouterr().err)
    assert str(blocker) in line and "is a file" in line
    assert not cache.exists()


@pytest.mark.parametrize(("code", "words"), [(errno.ENOSPC, "the disk is full"), (errno.EROFS, "read-only")])
def test_full_and_read_only_disks_read_as_one_sentence(code: int, words: str) -> None:
    sentence = os_error_sentence(OSError(code, os.strerror(code), "/media/card/out/mix.wav"))
    assert sentence is not None and sentence.startswith("/media/card/out/mix.wav: ") and words in sentence


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only (chmod 555) folder anyway")
def test_a_read_only_folder_is_refused_before_the_analysis(face_clip: Clip, tmp_path: Path, cache: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o555)
    try:
        assert main(["score", str(face_clip.path), "-o", str(out), "--end", "2.2"]) == 2
    finally:
        out.chmod(0o755)
    line = one_error_line(capsys.readouterr().err)
    assert f"{out}: the output folder is not writable" in line and ".expotion.lock" not in line
    assert not cache.exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only (chmod 555) folder anyway")
def test_an_existing_read_only_output_folder_is_refused_naming_it(tmp_path: Path) -> None:
    out = tmp_path / "stems"
    out.mkdir()
    out.chmod(0o555)
    try:
        with pytest.raises(ExportError, match="the output folder is not writable") as caught:
            check_output_path(out, folder=True)
    finally:
        out.chmod(0o755)
    assert str(out) in str(caught.value)


@pytest.mark.parametrize(("command", "name"), [("score", "y.mp4"), ("export", "x.WAV"), ("stems", "s.mid"),
                                               ("train", "run.mov"), ("conform", "c.expotion"),
                                               ("batch", "b.mp4"), ("demo", "demo.mkv")])
def test_a_new_output_folder_named_like_a_file_is_refused(command: str, name: str, face_clip: Clip, click: Path,
                                                          tmp_path: Path, cache: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """``-o clip.mp4`` means a file to the user; every command with an output folder says -o names a folder."""
    session = Session.for_video(face_clip.path).save(tmp_path / "face.expotion")
    out = tmp_path / name
    argv = {
        "score": ["score", str(face_clip.path), "-o", str(out), "--end", "2.2"],
        "export": ["export", str(session), "-o", str(out), "--format", "midi"],
        "stems": ["stems", str(click), "--fallback", "-o", str(out)],
        "train": ["train", str(click.parent), "-o", str(out)],
        "conform": ["conform", str(session), str(click), "-o", str(out)],
        "batch": ["batch", str(face_clip.path.parent), "-o", str(out)],
        "demo": ["demo", "-o", str(out)],
    }[command]
    assert main(argv) == 2
    line = one_error_line(capsys.readouterr().err)
    assert line == (f"expotion: error: {out}: -o names the output folder, not a file; give a folder name without "
                    f"{Path(name).suffix} (the files inside are named from the title).")
    assert not out.exists() and not cache.exists()


def test_an_existing_folder_named_like_a_file_is_used(click: Path, tmp_path: Path) -> None:
    out = tmp_path / "stems.wav"
    out.mkdir()
    assert main(["stems", str(click), "--fallback", "-o", str(out)]) == 0
    assert list(out.glob("*.wav")), list(out.iterdir())
