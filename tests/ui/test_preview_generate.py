"""Score ▸ Preview While Generating: the take's first seconds play (and grow in the takes folder's preview.wav)
while the child process makes the rest; a finished take removes the preview without a word, a stopped one
keeps it whole and the window says so once, in one sentence."""

from __future__ import annotations

import threading

import pytest
import soundfile as sf

from expotion_engine.errors import Cancelled
from studio.preview import PREVIEW_NAME, kept_sentence
from studio.session import Session
from ui import jobs

pytestmark = pytest.mark.slow


def test_a_finished_generation_removes_its_preview_without_a_word(loaded, qtbot, wait_job) -> None:
    window = loaded
    window.act_preview.trigger()
    assert window.act_preview.isChecked() and window.settings.value("score/preview") in (True, "true")
    kept = window.session.takes_dir / PREVIEW_NAME
    kept.write_bytes(b"what a stopped generation kept")  # an earlier preview: this generation drops it
    said: list[str] = []
    window.statusBar().messageChanged.connect(said.append)
    wait_job(window.generate())
    assert window.jobs.last_error is None and len(window.document.records) == 3
    assert not kept.exists()
    assert not any("preview" in m for m in said), said


def test_a_stopped_generation_keeps_the_preview_whole_and_the_window_says_so(loaded, qtbot) -> None:
    """The child is killed as soon as it says the preview started (as Cancel does); the file it kept is whole."""
    window = loaded
    session = window.session
    kept = session.takes_dir / PREVIEW_NAME
    cancel = threading.Event()
    heard: list[str] = []

    def progress(_fraction: float, message: str) -> None:
        if message.startswith("preview: the first"):
            heard.append(message)
            cancel.set()

    with pytest.raises(Cancelled):
        jobs.generate_take(session, window.document.controls, True, progress=progress, cancel=cancel)
    assert heard and str(kept) in heard[0]
    info = sf.info(str(kept))
    assert info.samplerate == session.export.sample_rate and 0 < info.duration <= window.document.controls.duration
    assert Session.load(session.path).takes == session.takes  # no take was added


def test_cancel_says_once_what_the_preview_kept(loaded, qtbot, wait_job) -> None:
    """Cancel pressed once the preview is on disk: the window names it and its seconds, once. (Where the child
    finished the take first, the preview is gone and nothing is said of it.)"""
    window = loaded
    window.act_preview.trigger()
    kept = window.session.takes_dir / PREVIEW_NAME
    said: list[str] = []
    window.statusBar().messageChanged.connect(said.append)
    worker = window.generate()
    qtbot.waitUntil(lambda: kept.exists() or worker.is_finished(), timeout=60_000)
    window.jobs.task.cancel_button.click()
    wait_job(worker)
    sentence = kept_sentence(kept)
    assert [m for m in said if "preview" in m.lower()] == ([sentence[0].upper() + sentence[1:] + "."] if sentence
                                                           else [])
