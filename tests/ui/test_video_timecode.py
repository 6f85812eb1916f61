"""File ▸ Open Video starts the new session at the timecode the video file carries: the Session panel and the
export dialog show it, the export delivers there, a start the user types in the dialog wins and is kept, and an
existing session keeps the start it recorded."""

from __future__ import annotations

import subprocess
from pathlib import Path

import imageio_ffmpeg
import pytest
from PySide6.QtCore import Qt

from studio.demo.scenarios import Clip
from studio.export.readback import read_bwf, read_edl
from studio.session import Session
from studio.timecode import parse_frames, parse_rate, to_frame
from ui.export_dialog import ExportDialog

pytestmark = pytest.mark.slow

DF = parse_rate("29.97")
SOURCE_TC = "01:00:00;00"


@pytest.fixture(scope="module")
def tagged(tmp_path_factory: pytest.TempPathFactory, face_clip: Clip) -> Path:
    """The face clip's first 2.5 s at 29.97 fps carrying the camera timecode 01:00:00;00."""
    path = tmp_path_factory.mktemp("tagged") / "camera.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-i", str(face_clip.path), "-t", "2.5",
                    "-r", "30000/1001", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                    "-timecode", SOURCE_TC, str(path)], check=True, timeout=120)
    return path


def frame(seconds: float) -> int:
    return to_frame(seconds, DF)


def open_dialog(window) -> ExportDialog:
    """Open the export dialog from the window and return it."""
    window.open_export_dialog()
    (dialog,) = [d for d in window.findChildren(ExportDialog) if d.isVisible()]
    return dialog


def export_from_dialog(window, qtbot, wait_job, out: Path, start: str | None = None) -> str:
    """Export audio and EDL from the dialog, typing ``start`` into its start timecode when given; returns the
    start timecode it showed when it opened."""
    dialog = open_dialog(window)
    shown = dialog.timecode_start.text()
    dialog.folder.setText(str(out))
    for name, box in dialog.format_boxes.items():
        box.setChecked(name in ("audio", "edl"))
    dialog.open_folder.setChecked(False)
    if start is not None:
        dialog.timecode_start.selectAll()
        qtbot.keyClicks(dialog.timecode_start, start)
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    wait_job(window.jobs.worker)
    assert window.jobs.last_error is None
    return shown


def delivered_start(out: Path) -> tuple[int, int]:
    """The mix's BWF start and the EDL's first record frame, in 29.97 DF frames."""
    mix = read_bwf(next(out.rglob("*_mix.wav")))
    return frame(mix.start_seconds), read_edl(next(out.rglob("*.edl")), DF).start_frame


def test_open_video_exports_at_its_own_timecode_and_a_typed_start_wins(window, qtbot, wait_job, tagged: Path,
                                                                       tmp_path: Path) -> None:
    window.open_path(tagged)
    qtbot.waitUntil(lambda: window.document.has_video and window.transport.duration > 0, timeout=20_000)
    assert frame(window.session.timecode_start) == parse_frames(SOURCE_TC, DF)
    assert window.timecode_panel.start.text() == SOURCE_TC
    wait_job(window.analyse())
    assert window.save_to(tmp_path / "camera.expotion")
    wait_job(window.generate())
    qtbot.waitUntil(lambda: window.document.chosen_index() >= 0, timeout=20_000)

    assert export_from_dialog(window, qtbot, wait_job, tmp_path / "own") == SOURCE_TC
    assert delivered_start(tmp_path / "own") == (parse_frames(SOURCE_TC, DF),) * 2

    typed = "00:10:00;00"
    assert export_from_dialog(window, qtbot, wait_job, tmp_path / "typed", typed) == SOURCE_TC
    assert delivered_start(tmp_path / "typed") == (parse_frames(typed, DF),) * 2
    assert window.timecode_panel.start.text() == typed
    assert window.save()
    assert frame(Session.load(tmp_path / "camera.expotion").timecode_start) == parse_frames(typed, DF)
    window.undo_stack.undo()  # the dialog's start is an edit like any other
    assert frame(window.session.timecode_start) == parse_frames(SOURCE_TC, DF)

    window.open_session(tmp_path / "camera.expotion")  # reopened: the start it recorded, not the file's
    qtbot.waitUntil(lambda: window.session.path == tmp_path / "camera.expotion" and not window.jobs.busy,
                    timeout=30_000)
    assert frame(window.session.timecode_start) == parse_frames(typed, DF)
    assert open_dialog(window).timecode_start.text() == typed


def test_a_session_made_before_keeps_its_recorded_start(window, qtbot, tagged: Path, tmp_path: Path) -> None:
    old = Session.for_video(tagged)  # as sessions were made before: the start timecode left at 0
    old.save(tmp_path / "old.expotion")
    window.open_session(tmp_path / "old.expotion")
    qtbot.waitUntil(lambda: window.session.path == tmp_path / "old.expotion" and not window.jobs.busy,
                    timeout=30_000)
    assert window.session.timecode_start == 0.0
    assert window.timecode_panel.start.text() == "00:00:00;00"


def test_a_start_that_is_not_a_timecode_is_refused_in_the_dialog(window, qtbot, tagged: Path) -> None:
    window.open_path(tagged)
    qtbot.waitUntil(lambda: window.document.has_video, timeout=20_000)
    dialog = ExportDialog(window.session, window)
    qtbot.addWidget(dialog)
    requested: list[tuple] = []
    dialog.exportRequested.connect(lambda *args: requested.append(args))
    dialog.open()
    assert dialog.timecode_start.text() == SOURCE_TC
    dialog.timecode_start.selectAll()
    qtbot.keyClicks(dialog.timecode_start, "01:00:00;99")
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    assert requested == [] and dialog.isVisible()
    assert dialog.timecode_error.isVisible() and dialog.timecode_error.text().endswith(".")
