"""The main window driven like a user: open a video, analyse, generate, cancel, edit markers, undo.

Everything runs for real: studio's pipeline on worker threads, QtMultimedia decoding the
clip offscreen, the procedural engine. One generation (and one cancelled) per module.
"""

from __future__ import annotations

import resource
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import shiboken6
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QImage
from PySide6.QtWidgets import QApplication, QMessageBox

from studio.demo.scenarios import Clip
from ui.timeline import BEATS_H, RULER_H

pytestmark = pytest.mark.slow


def as_rgb(image: QImage) -> np.ndarray:
    """A QImage as an ``(h, w, 3)`` uint8 array."""
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    h, w = image.height(), image.width()
    data = np.frombuffer(image.constBits(), np.uint8).reshape(h, image.bytesPerLine())
    return data[:, : w * 3].reshape(h, w, 3).copy()


def clip_frame(clip: Clip, seconds: float) -> np.ndarray:
    """The clip's frame at ``seconds`` decoded independently by OpenCV, as RGB."""
    capture = cv2.VideoCapture(str(clip.path))
    capture.set(cv2.CAP_PROP_POS_MSEC, seconds * 1000)
    ok, frame = capture.read()
    capture.release()
    assert ok
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)


def cpu_seconds(usage: resource.struct_rusage) -> float:
    return usage.ru_utime + usage.ru_stime


def frame_time_reached(window, seconds: float, frames: list[float]) -> bool:
    return bool(frames) and abs(frames[-1] - seconds) < 0.05


def test_open_video_shows_its_frame(opened, qtbot, face_clip: Clip) -> None:
    window = opened
    frames: list[float] = []
    window.video_view.video_item.videoSink().videoFrameChanged.connect(lambda f: frames.append(f.startTime() / 1e6))
    window.transport.seek(2.0)
    qtbot.waitUntil(lambda: frame_time_reached(window, 2.0, frames), timeout=10_000)
    reference = clip_frame(face_clip, 2.0)
    rh, rw = reference.shape[:2]
    expected = reference[rh * 2 // 5: rh * 3 // 5, rw * 2 // 5: rw * 3 // 5].reshape(-1, 3).mean(axis=0)

    def centre() -> np.ndarray:
        """The middle of the shown picture (it is letterboxed into the view), as mean RGB."""
        shown = as_rgb(window.video_view.grab().toImage())
        h, w = shown.shape[:2]
        return shown[h * 2 // 5: h * 3 // 5, w * 2 // 5: w * 3 // 5].reshape(-1, 3).mean(axis=0)

    # the frame is painted a while after it arrives (longer on a loaded machine): wait for it, then compare
    qtbot.waitUntil(lambda: np.abs(centre() - expected).max() <= 18, timeout=10_000)
    np.testing.assert_allclose(centre(), expected, atol=18)
    assert as_rgb(window.video_view.grab().toImage()).std() > 20  # a picture, not a blank or black view
    assert window.session.video == face_clip.path.resolve()
    assert window.timeline.duration == pytest.approx(face_clip.duration, abs=0.05)


def test_keyboard_transport_in_out_and_frame_steps(opened, qtbot, face_clip: Clip) -> None:
    window = opened
    window.transport.seek(1.0)
    qtbot.keyClick(window, Qt.Key.Key_Right)
    assert window.transport.position == pytest.approx(1.0 + 1 / face_clip.fps, abs=1e-6)
    qtbot.keyClick(window, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)
    assert window.transport.position == pytest.approx(1.0 + 1 / face_clip.fps - 10 / face_clip.fps, abs=1e-6)
    qtbot.keyClick(window, Qt.Key.Key_I)
    assert window.session.video_in == pytest.approx(window.transport.position, abs=1e-3)
    window.transport.seek(3.0)
    qtbot.keyClick(window, Qt.Key.Key_O)
    assert window.session.video_out == pytest.approx(3.0, abs=1e-3)
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.session.video_out is None
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert window.session.video_out == pytest.approx(3.0, abs=1e-3)
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert window.transport.playing
    qtbot.waitUntil(lambda: window.transport.position > 3.1, timeout=10_000)
    qtbot.keyClick(window, Qt.Key.Key_K)
    assert not window.transport.playing


def test_markers_add_move_rename_delete_and_undo(opened, qtbot, monkeypatch) -> None:
    window = opened
    timeline = window.timeline
    window.transport.seek(1.0)
    qtbot.keyClick(window, Qt.Key.Key_M)
    assert [(m.time, m.kind) for m in window.session.user_markers] == [(pytest.approx(1.0, abs=1e-3), "user")]
    # drag the marker's flag half a second to the right
    y = RULER_H + BEATS_H + 8
    start = QPoint(round(timeline.user_marker_x(0)), y)
    end = QPoint(round(timeline.time_to_x(1.5)), y)
    qtbot.mousePress(timeline, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(timeline, end)
    qtbot.mouseRelease(timeline, Qt.MouseButton.LeftButton, pos=end)
    moved = window.session.user_markers[0].time
    fps = window.session.frame_rate  # a dragged marker lands on the nearest frame
    assert moved == pytest.approx(1.5, abs=0.5 / fps + 2 * (timeline.x_to_time(1) - timeline.x_to_time(0)))
    assert moved * fps == pytest.approx(round(moved * fps), abs=1e-6)
    monkeypatch.setattr("ui.main_window.QInputDialog.getText", lambda *a, **k: ("Door slam", True))
    qtbot.keyClick(window, Qt.Key.Key_F2)
    assert window.session.user_markers[0].name == "Door slam"
    window.undo_stack.undo()  # rename
    window.undo_stack.undo()  # move
    assert window.session.user_markers[0].time == pytest.approx(1.0, abs=1e-3)
    assert window.timeline.user_marker_x(0) == pytest.approx(timeline.time_to_x(1.0), abs=1)
    window.undo_stack.undo()  # add
    assert window.session.user_markers == ()
    window.undo_stack.redo()
    window.undo_stack.redo()
    assert window.session.user_markers[0].time == pytest.approx(moved)
    timeline.select_marker(0)
    qtbot.keyClick(window, Qt.Key.Key_Delete)
    assert window.session.user_markers == ()
    assert "•" in window.windowTitle()  # unsaved changes show in the title


def test_analysis_then_generation_without_blocking_the_gui(opened, qtbot, wait_job, tmp_path: Path) -> None:
    window = opened
    worker = window.analyse()
    task = window.jobs.task
    assert task is not None and task.isVisible() and QApplication.activeModalWidget() is None
    # the analysis runs in the background: playing and marking go on meanwhile
    window.transport.seek(1.0)
    qtbot.keyClick(window, Qt.Key.Key_M)
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert window.transport.playing
    qtbot.keyClick(window, Qt.Key.Key_K)
    assert [m.time for m in window.session.user_markers] == [pytest.approx(1.0)]
    wait_job(worker)
    track = window.document.controls
    assert track is not None and track.has("energy") and len(track.markers) >= 2
    assert window.timeline.curve_count() >= 4
    assert window.score_panel.generate_button.isEnabled()
    assert window.save_to(tmp_path / "gen.expotion")
    window.set_out(3.0)  # the analysis no longer matches the range: generating analyses it again first
    assert window.document.controls_stale()

    # no wall-clock threshold (a loaded machine would fail it): what the GUI thread is asked to do is
    # counted instead. Pressing Generate only starts a worker: nothing is generated before it returns,
    # and the worker reports progress at most every interval/5 s, so the GUI thread's work stays bounded.
    children, own = resource.getrusage(resource.RUSAGE_CHILDREN), resource.getrusage(resource.RUSAGE_SELF)
    worker = window.generate()
    assert worker is not None and not worker.is_finished()
    assert window.document.records == []  # the take is made in the background, not inside generate()
    stages: list[str] = []
    worker.progressed.connect(lambda _f, message: stages.append(message))
    started = time.monotonic()
    wait_job(worker)
    elapsed = time.monotonic() - started
    # the analysis and the engine ran in a child process: it used more CPU than this whole process (GUI
    # thread, worker threads reading the take, Qt's own threads) did meanwhile, so they never held its GIL
    child_cpu = cpu_seconds(resource.getrusage(resource.RUSAGE_CHILDREN)) - cpu_seconds(children)
    own_cpu = cpu_seconds(resource.getrusage(resource.RUSAGE_SELF)) - cpu_seconds(own)
    assert child_cpu > own_cpu, (child_cpu, own_cpu)
    qtbot.waitUntil(lambda: window.take_audio.current_path is not None, timeout=10_000)
    assert window.jobs.last_error is None
    assert 0 < len(stages) <= 5 * elapsed / 0.05 + 2
    assert any(s.startswith("generate") for s in stages)
    records = window.document.records
    assert len(records) == 1 and (records[0].folder / "take.json").is_file()
    assert window.takes_panel.list.count() == 1
    take = window.document.take(records[0].id)
    assert take is not None and window.takes_panel.mixer.stem_names() == [s.name for s in take.stems]
    assert take.duration == pytest.approx(3.0, abs=0.05)
    assert window.document.controls.duration == pytest.approx(3.0, abs=0.05) and not window.document.controls_stale()
    assert window.timeline.has_waveform()


def test_analysis_settings_are_undoable_and_mark_the_analysis_stale(opened, qtbot, wait_job) -> None:
    window = opened
    wait_job(window.analyse())
    spin = window.analysis_panel.spins["smoothing"]
    spin.setValue(0.5)
    assert window.session.analysis.smoothing == 0.5
    assert "Re-analyse" in window.analysis_panel.summary.text()
    window.undo_stack.undo()
    assert window.session.analysis.smoothing == pytest.approx(0.12)
    assert spin.value() == pytest.approx(0.12)
    assert "Re-analyse" not in window.analysis_panel.summary.text()


def test_cancel_generation(opened, qtbot, wait_job, tmp_path: Path) -> None:
    window = opened
    assert window.timeline.take_note == "No take yet: analyse the video, then press Generate"  # Generate is off
    wait_job(window.analyse())
    assert window.timeline.take_note == "No take yet: choose a preset and press Generate"
    assert window.save_to(tmp_path / "cancel.expotion")
    worker = window.generate()
    assert window.timeline.take_note == "Generating a take…"  # not "press Generate" while it is pressed
    task = window.jobs.task
    qtbot.mouseClick(task.cancel_button, Qt.MouseButton.LeftButton)
    assert task.stage_label.text() == "Cancelling…"
    aborted = []
    worker.aborted.connect(lambda: aborted.append(True))
    wait_job(worker)
    assert aborted == [True]
    assert window.jobs.last_error is None
    assert window.document.records == [] and window.session.takes == []
    qtbot.waitUntil(lambda: not shiboken6.isValid(task) or not task.isVisible(), timeout=5_000)
    assert not window.jobs.busy and window.act_generate.isEnabled()
    assert window.timeline.take_note == "No take yet: choose a preset and press Generate"


def test_opening_a_video_says_so_in_one_line_that_fits(window, qtbot, wait_job, face_clip: Clip) -> None:
    said: list[str] = []
    window.statusBar().messageChanged.connect(said.append)
    window.open_path(face_clip.path)
    qtbot.waitUntil(lambda: any(m.startswith("Opened ") for m in said), timeout=20_000)
    message = next(m for m in said if m.startswith("Opened "))
    assert message == (f"Opened {face_clip.path.name}. Starts at timecode 00:00:00:00: the video carries no "
                       "timecode. Press Analyse to read its faces and motion.")  # its name: the path clipped the end
    bar = window.statusBar()
    assert bar.fontMetrics().horizontalAdvance(message) < bar.width() - window.audio_warning.sizeHint().width()
    qtbot.waitUntil(lambda: window.document.has_video and not window.jobs.busy, timeout=20_000)
    worker = window.analyse()
    assert window.jobs.task is not None and bar.currentMessage() == ""  # not left to be clipped by the job's panel
    wait_job(worker)


def test_bad_video_shows_one_sentence_with_details(window, qtbot, bad_inputs) -> None:
    bad = bad_inputs["text_as_mp4"]
    window.open_path(bad)
    qtbot.waitUntil(lambda: window.jobs.last_error is not None, timeout=10_000)
    box = next(w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible())
    assert str(bad.name) in box.text() and box.text().endswith(".")
    assert "Traceback" in box.detailedText()
    assert not window.document.has_video
    box.close()


def test_drop_a_video_on_the_picture(window, qtbot, face_clip: Clip) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(face_clip.path))])
    view = window.video_view
    # Qt delivers drops only to the target its drag manager chose, so the handlers are called directly
    enter = QDragEnterEvent(QPoint(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    view.dragEnterEvent(enter)
    assert enter.isAccepted()
    text = QMimeData()
    text.setText("not a file")
    refused = QDragEnterEvent(QPoint(20, 20), Qt.DropAction.CopyAction, text, Qt.MouseButton.LeftButton,
                              Qt.KeyboardModifier.NoModifier)
    view.dragEnterEvent(refused)
    assert not refused.isAccepted()
    view.dropEvent(QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                              Qt.KeyboardModifier.NoModifier))
    qtbot.waitUntil(lambda: window.document.has_video, timeout=10_000)
    assert window.session.video == face_clip.path.resolve()
