"""Takes, mixer, export and session files in the window, on a session scored by the real pipeline."""

from __future__ import annotations

import csv
from pathlib import Path

import mido
import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from expotion_engine.types import Take
from studio.session import Session, autosave_path
from tests.ui.conftest import activate
from ui.export_dialog import ExportDialog

pytestmark = pytest.mark.slow


def played(window, qtbot, previous: Path | None) -> np.ndarray:
    """The WAV the transport plays once it differs from ``previous``, as ``(channels, samples)``."""
    qtbot.waitUntil(lambda: window.take_audio.current_path not in (None, previous) and not window.take_audio.is_busy(),
                    timeout=20_000)
    audio, _ = sf.read(window.take_audio.current_path, dtype="float32", always_2d=True)
    return audio.T


def test_takes_list_switch_and_ab(loaded, qtbot) -> None:
    window = loaded
    records = window.document.records
    assert [r.id for r in records] == ["take-001", "take-002"]
    assert window.takes_panel.list.count() == 2
    assert window.session.chosen_take == "take-002"
    first = Take.load(records[0].folder)
    before = window.take_audio.current_path
    rect = window.takes_panel.list.visualItemRect(window.takes_panel.list.item(0))
    qtbot.mouseClick(window.takes_panel.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.session.chosen_take == "take-001"
    audio = played(window, qtbot, before)
    np.testing.assert_allclose(audio, first.mix, atol=2.0 / 32768)  # the 16-bit preview of take 1's mix
    assert window.timeline.has_waveform()
    qtbot.keyClick(window, Qt.Key.Key_T)  # A/B: the other take
    assert window.session.chosen_take == "take-002"
    assert "•" in window.windowTitle()


def test_muting_a_stem_removes_it_from_what_plays(loaded, qtbot) -> None:
    window = loaded
    take = window.take_audio.take
    names = [s.name for s in take.stems]
    assert window.takes_panel.mixer.stem_names() == names
    muted = names[0]
    before = window.take_audio.current_path
    qtbot.mouseClick(window.takes_panel.mixer.mute_button(muted), Qt.MouseButton.LeftButton)
    audio = played(window, qtbot, before)
    # least squares: how much of each stem is in what plays now
    basis = np.stack([s.audio.reshape(-1) for s in take.stems], axis=1)
    weights, *_ = np.linalg.lstsq(basis, audio.reshape(-1), rcond=None)
    assert abs(weights[0]) < 0.02
    assert np.all(weights[1:] > 0.2) and np.ptp(weights[1:]) < 0.02  # the others at one common gain
    assert not np.allclose(audio, take.mix, atol=1e-3)


def test_export_dialog_writes_the_chosen_formats(loaded, qtbot, wait_job, tmp_path: Path) -> None:
    window = loaded
    window.open_export_dialog()
    dialog = window.findChild(ExportDialog)
    assert dialog is not None and dialog.isVisible()
    assert set(dialog.format_boxes) >= {"audio", "midi", "markers", "reaper", "dawproject"}
    out = tmp_path / "delivery"
    dialog.folder.setText(str(out))
    for name, box in dialog.format_boxes.items():
        box.setChecked(name in ("audio", "midi", "markers"))
    dialog.bit_depth.setCurrentIndex(dialog.bit_depth.findData(16))
    dialog.open_folder.setChecked(False)
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    worker = window.jobs.worker
    wait_job(worker)
    assert window.jobs.last_error is None
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    wavs = [f for f in files if f.endswith(".wav")]
    take = window.take_audio.take
    assert len(wavs) == 1 + len(take.stems)
    info = sf.info(out / wavs[0])
    assert (info.samplerate, info.subtype) == (48000, "PCM_16")
    midi = mido.MidiFile(out / next(f for f in files if f.endswith(".mid")))
    tempos = [m for m in midi.tracks[0] if m.type == "set_tempo"]
    assert tempos and mido.tempo2bpm(tempos[0].tempo) == pytest.approx(take.tempo_map.bpm_at(0.0), abs=0.01)
    with open(out / next(f for f in files if f.endswith(".csv")), newline="", encoding="utf-8") as handle:
        text = handle.read()
    assert "door" in text and list(csv.reader(text.splitlines()))
    assert window.session.export.bit_depth == 16

    # again into the same folder: nothing happens unless the user agrees to replace the files
    asked: list[Path] = []
    window.ask_overwrite = lambda folder: asked.append(folder) or False
    assert window.export(out, ("midi",), 48000, 16, open_folder=False) is None and asked == [out]
    stamp = (out / next(f for f in files if f.endswith(".mid"))).stat().st_mtime_ns
    window.ask_overwrite = lambda folder: True
    wait_job(window.export(out, ("midi",), 48000, 16, open_folder=False))
    assert window.jobs.last_error is None
    assert (out / next(f for f in files if f.endswith(".mid"))).stat().st_mtime_ns > stamp


def test_midi_clock_that_cannot_start_says_why(loaded, qtbot, monkeypatch) -> None:
    window = loaded
    # a MIDI API python-rtmidi is not built with on Linux: fails the same way on every machine,
    # without touching a JACK server that other tests may be starting or stopping
    monkeypatch.setenv("EXPOTION_MIDI_API", "winmm")
    window.act_clock.trigger()
    qtbot.waitUntil(lambda: not window.clock.running, timeout=10_000)
    box = next(w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible())
    assert "winmm" in box.text() and box.text().endswith(".")
    assert not window.act_clock.isChecked()
    box.close()


def test_save_autosave_and_recover(loaded, qtbot, session_copy: Path) -> None:
    window = loaded
    window.add_marker(2.6)
    window.autosave()
    assert autosave_path(session_copy).is_file()
    assert [m.time for m in Session.load(session_copy).markers] == [1.2]  # the file itself is untouched

    def answer_yes() -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox) and box.objectName() == "recover"
        box.button(QMessageBox.StandardButton.Yes).click()

    QTimer.singleShot(200, answer_yes)
    window.open_session(session_copy)
    assert [m.time for m in window.session.user_markers] == [1.2, 2.6]
    assert window.document.modified
    qtbot.waitUntil(lambda: not window.jobs.busy, timeout=30_000)
    activate(window, qtbot)
    qtbot.keyClick(window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert not autosave_path(session_copy).exists()
    assert [m.time for m in Session.load(session_copy).markers] == [1.2, 2.6]
    assert window.recent_sessions()[0] == str(session_copy.resolve())
    assert window.recent_menu.actions()[0].text() == session_copy.name
