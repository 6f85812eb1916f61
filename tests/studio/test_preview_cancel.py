"""Ctrl-C (once or twice) or SIGTERM on ``expotion score --preview`` once the preview has started: the run
says once, in one sentence, that OUT/preview.wav stays and how many seconds it holds; a finished run
removes its preview and says nothing about it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf

from studio.demo.scenarios import Clip
from studio.preview import PREVIEW_NAME

ROOT = Path(__file__).resolve().parents[2]
STARTED = "preview: the first"


def _as_from_a_terminal() -> None:
    """In the child: Ctrl-C handled by default and not blocked, as in a shell (not inherited from this test run)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _score(clip: Clip, out: Path, stops: tuple[signal.Signals, ...]) -> tuple[int, list[str]]:
    """Run ``expotion score --preview`` on 2 s of ``clip``; send ``stops`` once the preview has started."""
    child = subprocess.Popen([sys.executable, "-m", "studio", "score", str(clip.path), "-o", str(out), "--start",
                              "1.0", "--end", "3.0", "--preview"], cwd=ROOT, stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": str(ROOT)}, preexec_fn=_as_from_a_terminal)
    assert child.stderr is not None
    lines = []
    for line in child.stderr:
        lines.append(line.rstrip("\n").split("\r")[-1])
        if line.startswith(STARTED):
            for stop in stops:
                child.send_signal(stop)
    return child.wait(timeout=120), lines


@pytest.mark.slow
@pytest.mark.parametrize("stops", [(signal.SIGINT,), (signal.SIGINT, signal.SIGINT), (signal.SIGTERM,)],
                         ids=["ctrl-c", "ctrl-c-twice", "sigterm"])
def test_a_cancelled_preview_run_says_once_that_the_preview_stays(face_clip: Clip, tmp_path: Path,
                                                                   stops: tuple[signal.Signals, ...]) -> None:
    out = tmp_path / "out"
    code, lines = _score(face_clip, out, stops)
    assert code == 130, lines
    said = [line for line in lines if PREVIEW_NAME in line and not line.startswith(STARTED)]
    held = sf.info(str(out / PREVIEW_NAME)).duration
    assert said == [f"preview: {out / PREVIEW_NAME} stays, with the first {held:.1f} s of the take "
                    "(the next run into this folder replaces it)"], lines
    assert lines[-1] == "expotion: cancelled."


def test_a_finished_preview_run_removes_its_preview_without_a_word(face_clip: Clip, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, lines = _score(face_clip, out, ())
    assert code == 0, lines
    assert not (out / PREVIEW_NAME).exists() and (out / "mix.wav").is_file()
    assert [line for line in lines if re.search(r"preview\b", line)] == [
        line for line in lines if line.startswith(STARTED)]
