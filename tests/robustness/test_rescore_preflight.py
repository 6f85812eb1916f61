"""A ``score --force`` whose delivery cannot be written stops before it replaces anything (QA 4, finding 5).

The preflight checks every folder the run writes into (the output, ``stems/``, an existing ``delivery/`` and
its stems folder) before the analysis, and the delivery's own checks run on the new take before it is
written, so the previous take, session and delivery stay as they were. Root ignores permissions, so the
read-only case runs as ``nobody`` (``runuser``) where the tests run as root; the other cases use a file or
folder in the way, which stops root too."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from studio.cli import main
from studio.demo.scenarios import Clip

ARGS = ["--end", "2.2", "--format", "audio", "midi"]


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("expotion:")]
    assert "Traceback" not in stderr and len(lines) == 1, stderr
    return lines[0]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def scored(face_clip: Clip) -> Iterator[Path]:
    """A folder anyone may enter holding the face clip and its score (``out``): take, session and delivery."""
    home = Path(tempfile.mkdtemp(prefix="expotion-rescore-"))
    home.chmod(0o755)
    video = home / "face.mp4"
    shutil.copy(face_clip.path, video)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EXPOTION_CACHE_DIR", str(home / "cache"))
        assert main(["score", str(video), "-o", str(home / "out"), *ARGS]) == 0
    yield home
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def out(scored: Path, tmp_path: Path) -> Iterator[Path]:
    """A fresh copy of the scored folder for one test, beside the video."""
    copy = scored / tmp_path.name
    shutil.copytree(scored / "out", copy)
    yield copy
    for folder in [copy, *copy.rglob("*")]:
        if folder.is_dir() and not folder.is_symlink():
            folder.chmod(0o755)
    shutil.rmtree(copy, ignore_errors=True)


def rescore(scored: Path, out: Path, *extra: str) -> list[str]:
    return ["score", str(scored / "face.mp4"), "-o", str(out), "--force", *ARGS, *extra]


def test_a_file_where_the_delivery_stems_folder_goes_stops_before_the_analysis(
        scored: Path, out: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    stems = out / "delivery" / "face_stems"
    shutil.rmtree(stems)
    stems.write_text("in the way")
    before = snapshot(out)
    monkeypatch.setenv("EXPOTION_CACHE_DIR", str(scored / "cache-unused"))
    assert main(rescore(scored, out, "--preset", "dance")) == 2
    assert f"{stems} is a file; the output needs a folder there" in one_error_line(capsys.readouterr().err)
    assert snapshot(out) == before
    assert not (scored / "cache-unused").exists()  # stopped before analysing a frame


def test_a_folder_where_a_delivery_stem_goes_stops_before_the_new_take_is_written(
        scored: Path, out: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = out / "delivery" / "face_stems" / "face_drums.wav"
    blocker.unlink()
    blocker.mkdir()
    before = snapshot(out)
    monkeypatch.setenv("EXPOTION_CACHE_DIR", str(scored / "cache"))
    assert main(rescore(scored, out, "--seed", "5")) == 2
    assert f"{blocker} is a folder; the delivery needs a file there" in one_error_line(capsys.readouterr().err)
    assert snapshot(out) == before  # the take, the session and the delivery as they were
    assert not [p for p in out.rglob(".*") if p.name != ".expotion-delivery.json"]


def as_user(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the CLI as an unprivileged user: ``nobody`` through ``runuser`` when this is root, else as is."""
    command = [sys.executable, "-m", "studio", *argv]
    if os.geteuid() == 0:
        command = ["runuser", "-u", "nobody", "--", *command]
    return subprocess.run(command, capture_output=True, text=True, env={**os.environ, **env}, timeout=300,
                          cwd=Path(__file__).resolve().parents[2])


unprivileged = pytest.mark.skipif(os.geteuid() == 0 and shutil.which("runuser") is None,
                                  reason="root ignores permissions and runuser is not installed")


@unprivileged
def test_a_read_only_delivery_stops_a_forced_re_score_before_any_work(scored: Path, out: Path) -> None:
    if os.geteuid() == 0:
        for path in [scored, *scored.rglob("*")]:
            os.chown(path, 65534, -1, follow_symlinks=False)
    (out / "delivery").chmod(0o555)
    before = snapshot(out)
    cache = scored / f"cache-{out.name}"
    done = as_user(rescore(scored, out, "--preset", "dance"), {"EXPOTION_CACHE_DIR": str(cache)})
    assert done.returncode == 2, done.stderr
    line = one_error_line(done.stderr)
    assert f"{out / 'delivery'}: the output folder is not writable" in line
    assert snapshot(out) == before
    assert not cache.exists()  # stopped before analysing a frame


@unprivileged
def test_a_read_only_output_folder_is_named_not_its_lock_file(scored: Path, out: Path) -> None:
    if os.geteuid() == 0:
        os.chown(out, 65534, -1)
    out.chmod(0o555)
    done = as_user(rescore(scored, out), {"EXPOTION_CACHE_DIR": str(scored / "cache")})
    assert done.returncode == 2, done.stderr
    line = one_error_line(done.stderr)
    assert line == f"expotion: error: {out}: the output folder is not writable (permission denied); choose another " \
                   "folder.", line
