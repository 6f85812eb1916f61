"""Editor conventions: re-opening shows the picture, the timeline follows and zooms, markers land on frames
and hits, next/previous marker keys, recovery that discards on No, the shortcut list, focus-aware Delete."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from studio.demo.scenarios import Clip
from studio.session import Session, autosave_path, find_autosave
from tests.ui.conftest import activate
from tests.ui.test_main_window import as_rgb
from ui.shortcuts_dialog import ShortcutsDialog

pytestmark = pytest.mark.slow

SHIFT = Qt.KeyboardModifier.ShiftModifier
CTRL = Qt.KeyboardModifier.ControlModifier


def test_reopening_the_loaded_video_shows_its_picture(opened, qtbot, face_clip: Clip) -> None:
    window = opened
    loads: list[float] = []
    window.transport.videoLoaded.connect(loads.append)
    frames: list[float] = []
    sink = window.video_view.video_item.videoSink()
    sink.videoFrameChanged.connect(lambda f: frames.append(f.startTime()) if f.isValid() else None)
    window.open_path(face_clip.path)  # the same file again (drop, Open Video or Open Recent)
    qtbot.waitUntil(lambda: bool(loads) and bool(frames), timeout=20_000)
    assert loads[0] == pytest.approx(face_clip.duration, abs=0.05)
    # a picture, not black: waited for, since on a loaded machine the frame is painted a while after it arrives
    # (the bug this guards against left the picture black until Play, however long one waited)
    qtbot.waitUntil(lambda: as_rgb(window.video_view.grab().toImage()).std() > 20, timeout=10_000)


def test_timeline_zoom_keys_follow_the_playhead_and_timecode_ruler(opened, qtbot) -> None:
    window = opened
    activate(window, qtbot)
    timeline = window.timeline
    duration = timeline.duration
    window.transport.seek(0.0)
    qtbot.keyClick(window, Qt.Key.Key_Equal)
    qtbot.keyClick(window, Qt.Key.Key_Equal)
    t0, t1 = timeline.view
    assert t1 - t0 == pytest.approx(duration / 4, rel=1e-6) and t0 == 0.0
    scroll = window.timeline_scroll
    assert scroll.isVisibleTo(window) and scroll.maximum() == round((duration - (t1 - t0)) * 1000)
    window.transport.seek(duration * 0.8)  # outside the view: it pages along, and the scrollbar with it
    t0, t1 = timeline.view
    assert t0 <= duration * 0.8 <= t1 and scroll.value() == round(t0 * 1000)
    scroll.setValue(0)  # dragging the scrollbar moves the view
    assert timeline.view[0] == 0.0 and timeline.view[1] == pytest.approx(duration / 4, rel=1e-6)
    qtbot.keyClick(window, Qt.Key.Key_Minus)
    assert timeline.view[1] - timeline.view[0] == pytest.approx(duration / 2, rel=1e-6)
    qtbot.keyClick(window, Qt.Key.Key_Backslash)
    assert timeline.view == (0.0, pytest.approx(duration))
    assert not scroll.isVisibleTo(window)  # everything shown: nothing to scroll
    assert timeline.ruler_label(2.0) == "00:00:02:00"
    window.change_setting("timecode_start", 3600.0)
    assert timeline.ruler_label(2.0) == "01:00:02:00"


def test_markers_land_on_frames_and_snap_to_hits(loaded, qtbot) -> None:
    window = loaded
    fps = window.session.frame_rate
    window.add_marker(1.2345)
    added = window.session.user_markers[-1].time
    assert added * fps == pytest.approx(round(added * fps), abs=1e-6) and added == pytest.approx(1.24)
    timeline = window.timeline
    hits = [m.time + window.document.controls.source.start for m in window.document.controls.markers]
    assert hits
    per_px = (timeline.view[1] - timeline.view[0]) / (timeline.width() - 78)
    near = hits[0] + 3 * per_px
    assert timeline.snap(near) == pytest.approx(hits[0], abs=1e-9)
    window.act_snap.trigger()  # off: only the frame grid
    assert not timeline.snap_to_hits
    assert timeline.snap(near) == pytest.approx(int(near * fps + 0.5) / fps)
    window.move_marker(0, 6.549084858569052 - window.session.video_in)
    assert window.session.user_markers[0].time * fps == pytest.approx(round(window.session.user_markers[0].time * fps))


def test_next_and_previous_marker_keys(loaded, qtbot) -> None:
    window = loaded
    window.add_marker(3.0)
    window.transport.seek(0.0)
    qtbot.keyClick(window, Qt.Key.Key_M, SHIFT)
    assert window.transport.position == pytest.approx(1.2, abs=1e-6)
    qtbot.keyClick(window, Qt.Key.Key_M, SHIFT)
    assert window.transport.position == pytest.approx(3.0, abs=1e-6)
    assert not window.go_to_marker(1)
    qtbot.keyClick(window, Qt.Key.Key_M, CTRL | SHIFT)
    assert window.transport.position == pytest.approx(1.2, abs=1e-6)


def test_no_to_recovery_discards_the_autosave(window, qtbot, session_copy: Path, monkeypatch) -> None:
    session = Session.load(session_copy)
    session.add_marker(3.0, "unsaved")
    session.autosave()
    assert find_autosave(session_copy) is not None
    asked: list[Path] = []
    monkeypatch.setattr(window, "ask_recover", lambda path: asked.append(path) or False)
    window.open_session(session_copy)
    assert asked == [session_copy]
    assert [m.name for m in window.session.user_markers] == ["door"]
    assert not autosave_path(session_copy).exists()
    qtbot.waitUntil(lambda: not window.jobs.busy, timeout=30_000)
    window.open_session(session_copy)
    assert asked == [session_copy]  # not asked again


def test_help_lists_every_shortcut(window, qtbot) -> None:
    activate(window, qtbot)
    window.change_setting("seed", 9)  # the undo action's text now names the edit; the list does not
    qtbot.keyClick(window, Qt.Key.Key_F1)
    dialog = window.findChild(ShortcutsDialog)
    assert dialog is not None and dialog.isVisible()
    rows = {dialog.table.item(r, 0).text(): dialog.table.item(r, 1).text() for r in range(dialog.table.rowCount())}
    assert rows["Redo"] == "Ctrl+Shift+Z, Ctrl+Y"
    assert rows["Generate Take"] == "Ctrl+G" and rows["Next Marker"] == "Shift+M"
    assert rows["Keyboard Shortcuts"] == "F1" and rows["Undo"] == "Ctrl+Z"
    dialog.close()


def test_delete_in_the_takes_list_keeps_the_marker(loaded, qtbot) -> None:
    window = loaded
    window.timeline.select_marker(0)
    window.side.setCurrentWidget(window.takes_panel)
    window.takes_panel.list.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.takes_panel.list, timeout=5_000)
    qtbot.keyClick(window.takes_panel.list, Qt.Key.Key_Delete)
    assert [m.name for m in window.session.user_markers] == ["door"]
    window.timeline.setFocus()
    qtbot.waitUntil(window.timeline.hasFocus, timeout=5_000)
    qtbot.keyClick(window.timeline, Qt.Key.Key_Delete)
    assert window.session.user_markers == ()
    assert np.isfinite(window.transport.position)


def test_window_layout_is_remembered_and_missing_audio_is_said(qapp, qtbot, tmp_path: Path) -> None:
    from PySide6.QtCore import QSettings
    from PySide6.QtMultimedia import QMediaDevices

    from ui.main_window import MainWindow

    settings = QSettings(str(tmp_path / "layout.ini"), QSettings.Format.IniFormat)
    first = MainWindow(settings, autosave_ms=3_600_000)
    qtbot.addWidget(first)
    first.show()
    first.resize(1100, 900)
    qtbot.wait(20)
    first._splitters["main"].setSizes([500, 400])
    qtbot.wait(20)
    state = first._splitters["main"].saveState()
    geometry = first.saveGeometry()
    first.close()
    second = MainWindow(settings, autosave_ms=3_600_000)
    qtbot.addWidget(second)
    second.show()
    # offscreen, restoreGeometry fits the window into a small virtual screen, so sizes are not compared:
    # what closing stored is what the next window was given
    assert settings.value("window/geometry") == geometry and settings.value("window/main") == state
    assert second.audio_warning.isVisibleTo(second) == (not QMediaDevices.audioOutputs())
    second.close()


def test_curve_tooltips_name_each_curve_its_value_and_scale(loaded) -> None:
    window = loaded
    timeline = window.timeline
    track = window.document.controls
    lane_y = timeline._lane_top(0) + 5
    assert timeline.value_text(10, lane_y) == "Face: smile, mouth open (each curve scaled to its own range)"
    x = timeline.time_to_x(track.source.start + 2.0)
    seconds = timeline.x_to_time(x)
    i = int(np.clip(np.searchsorted(track.times + track.source.start, seconds), 0, len(track.times) - 1))
    text = timeline.value_text(x, lane_y)
    assert text.startswith("Face at 00:00:0")
    smile = f"smile {track.channel('face_smile')[i]:.2f}" if track.valid("face_smile")[i] else "smile: nobody seen"
    assert smile in text
    energy = timeline.value_text(x, timeline._lane_top(2) + 5)
    assert f"energy {track.channel('energy')[i]:.2f}" in energy and "scale 0 to 1" in energy
    assert timeline.value_text(x, 2) is None  # the ruler has no curve tooltip
