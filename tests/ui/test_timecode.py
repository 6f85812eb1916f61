"""The source's start timecode and rate set in the Session panel reach every delivery; go to a timecode."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from studio.export.readback import read_bwf, read_edl, read_midi
from studio.session import Session
from studio.timecode import TimecodeRate, to_frame

pytestmark = pytest.mark.slow

RATE = TimecodeRate(25)


def test_start_timecode_typed_in_the_panel_reaches_bwf_edl_and_midi(loaded, qtbot, wait_job, session_copy: Path,
                                                                   tmp_path: Path) -> None:
    window = loaded
    panel = window.timecode_panel
    window.side.setCurrentWidget(panel)
    panel.rate.setCurrentIndex(panel.rate.findData("25"))
    assert window.session.timecode_rate == "25"
    panel.start.setFocus()
    qtbot.waitUntil(panel.start.hasFocus, timeout=5_000)
    panel.start.selectAll()
    qtbot.keyClicks(panel.start, "01:00:00:00")
    qtbot.keyClick(panel.start, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)  # saving commits the field
    saved = Session.load(session_copy)
    assert (saved.timecode_start, saved.timecode_rate) == (3600.0, "25")
    assert window.transport_bar.timecode.text().startswith("01:00:00:")

    out = tmp_path / "delivery"
    wait_job(window.export(out, ("audio", "edl", "midi"), 48000, 24, open_folder=False))
    assert window.jobs.last_error is None
    start = 3600.0 + window.session.video_in
    mix = read_bwf(next(p for p in out.rglob("*.wav") if "mix" in p.name.lower()))
    assert mix.start_seconds == pytest.approx(start, abs=1 / 48000)
    assert read_edl(next(out.rglob("*.edl")), RATE).start_frame == to_frame(start, RATE)
    assert read_midi(next(out.rglob("*.mid")), RATE).start_frame == to_frame(start, RATE)


def test_a_timecode_that_is_not_one_is_refused_and_the_field_restored(loaded, qtbot, monkeypatch) -> None:
    window = loaded
    errors: list[str] = []
    monkeypatch.setattr(window, "error", lambda title, exc: errors.append(str(exc)))
    panel = window.timecode_panel
    panel.start.setText("01:00:00:99")
    panel.start.setModified(True)
    window.commit_edits()
    assert errors and errors[0].endswith(".") and "out of range" in errors[0]
    assert panel.start.text() == "00:00:00:00" and window.session.timecode_start == 0.0


def test_go_to_timecode(loaded, qtbot, monkeypatch) -> None:
    window = loaded
    window.change_setting("timecode_start", 3600.0)
    assert window.go_to_timecode("01:00:02:10")
    assert window.transport.position == pytest.approx(2.4, abs=1e-6)
    errors: list[str] = []
    monkeypatch.setattr(window, "error", lambda title, exc: errors.append(str(exc)))
    assert not window.go_to_timecode("00:59:00:00")
    assert "outside the video" in errors[0] and window.transport.position == pytest.approx(2.4, abs=1e-6)
    monkeypatch.setattr("ui.main_window.QInputDialog.getText", lambda *a, **k: ("01:00:01:00", True))
    qtbot.keyClick(window, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    assert window.transport.position == pytest.approx(1.0, abs=1e-6)
