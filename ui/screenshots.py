"""Screenshots of the app at work: ``python -m ui.screenshots OUT_DIR [--video FILE] [--offscreen]``.

Starts the app under a private Xvfb X server (or Qt's offscreen platform when there is no
Xvfb, or with ``--offscreen``), opens the demo video, analyses it (with an empty analysis
cache, so the analysis really runs), adds and moves markers, picks a preset, generates a
procedural take, shows its stem lanes and meters with the bars ruler, and saves a PNG of
the main window after each step (and, when the jobs run long enough to catch, the analysis
running in the background while a marker is added and the task panel while the take is
made). The session and its take are written into ``OUT_DIR/session``.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

log = logging.getLogger(__name__)

SCREEN = "1600x1000x24"


@contextlib.contextmanager
def virtual_display(offscreen: bool) -> Iterator[str]:
    """Run Qt on a fresh Xvfb display (yields ``"xcb"``), or offscreen (yields ``"offscreen"``)."""
    xvfb = shutil.which("Xvfb")
    if offscreen or xvfb is None:
        if not offscreen:
            log.warning("Xvfb is not installed (apt-get install xvfb); using Qt's offscreen platform")
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        yield "offscreen"
        return
    number = next(n for n in range(99, 200) if not Path(f"/tmp/.X{n}-lock").exists())
    server = subprocess.Popen([xvfb, f":{number}", "-screen", "0", SCREEN, "-nolisten", "tcp"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        socket = Path(f"/tmp/.X11-unix/X{number}")
        deadline = time.monotonic() + 10
        while not socket.exists():
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Xvfb :{number} did not start")
            time.sleep(0.05)
        os.environ["DISPLAY"] = f":{number}"
        os.environ["QT_QPA_PLATFORM"] = "xcb"
        yield "xcb"
    finally:
        server.terminate()
        server.wait(10)


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ui.screenshots", description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="folder for the PNGs (and the session in OUT_DIR/session)")
    parser.add_argument("--video", type=Path, default=None, help="video to score (default: the bundled demo)")
    parser.add_argument("--offscreen", action="store_true", help="use Qt's offscreen platform instead of Xvfb")
    return parser


def _wait(app, condition: Callable[[], bool], timeout: float, what: str) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        loop = QEventLoop()
        QTimer.singleShot(20, loop.quit)
        loop.exec()


def take_screenshots(out_dir: Path, video: Path) -> list[Path]:
    """Drive the app through open → analyse → markers → generate; returns the PNGs written."""
    from PySide6.QtCore import QSettings

    from ui.app import application
    from ui.main_window import MainWindow
    from ui.shortcuts_dialog import ShortcutsDialog

    app = application()
    out_dir.mkdir(parents=True, exist_ok=True)
    settings = QSettings(str(out_dir / "session" / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings)
    window.resize(1500, 900)
    window.show()
    shots: list[Path] = []

    def shot(name: str, widget=None) -> None:
        for _ in range(10):  # let pending paints and video frames land
            app.processEvents()
            time.sleep(0.02)
        path = out_dir / f"{len(shots) + 1:02d}_{name}.png"
        (widget or window).grab().save(str(path))
        shots.append(path)
        log.info("wrote %s", path)

    window.open_path(video)
    _wait(app, lambda: window.document.has_video and window.transport.duration > 0, 30, "the video to load")
    frames: list[float] = []
    window.video_view.video_item.videoSink().videoFrameChanged.connect(lambda f: frames.append(f.startTime()))
    window.transport.seek(min(4.0, window.transport.duration / 3))
    _wait(app, lambda: bool(frames), 10, "a video frame")
    shot("video")

    worker = window.analyse()
    task = window.jobs.task
    _wait(app, lambda: worker.is_finished() or task.bar.maximum() > 0, 600, "the analysis to report progress")
    if not worker.is_finished():  # the analysis runs in the background: a marker is added meanwhile
        window.add_marker_at_playhead()
        shot("analysing")
    _wait(app, worker.is_finished, 600, "the analysis")
    if window.jobs.last_error is not None:
        raise RuntimeError(f"analysis failed: {window.jobs.last_error}")
    window.activateWindow()
    shot("analysis")

    duration = window.document.controls.duration
    window.add_marker(round(duration * 0.3, 2))
    window.add_marker(round(duration * 0.7, 2))
    window.move_marker(1, round(duration * 0.65, 2))
    shot("markers")

    window.side.setCurrentWidget(window.score_panel)
    presets = window.score_panel.presets
    names = [presets.item(i).text() for i in range(presets.count())]
    if names:
        presets.setCurrentRow(names.index("Cinematic") if "Cinematic" in names else 0)
    shot("score")
    window.side.setCurrentWidget(window.timecode_panel)
    shot("timecode")
    window.show_shortcuts()
    dialog = window.findChild(ShortcutsDialog)
    shot("shortcuts", dialog)
    dialog.close()

    window.save_to(out_dir / "session" / f"{video.stem}.expotion")
    worker = window.generate()
    _wait(app, lambda: worker.is_finished() or (window.jobs.task is not None
                                                  and window.jobs.task.bar.value() > 300), 600, "progress")
    if not worker.is_finished():
        shot("generating")
    _wait(app, worker.is_finished, 600, "the take")
    if window.jobs.last_error is not None:
        raise RuntimeError(f"generation failed: {window.jobs.last_error}")
    _wait(app, lambda: window.take_audio.current_path is not None, 30, "the take's audio")
    window.transport.seek(window.session.video_in + duration * 0.45)
    shot("take")
    # the stem lanes with their meters, the mixer beside them (one stem muted: its lane dims), bars ruler
    window.side.setCurrentWidget(window.takes_panel)
    window.set_bars_ruler(True)
    stems = window.takes_panel.mixer.stem_names()
    if stems:
        window.takes_panel.mixer.mute_button(stems[-1]).setChecked(True)
    window.transport.seek(window.session.video_in + duration * 0.55)
    shot("stems")
    window.save()
    window.close()
    window.deleteLater()
    app.processEvents()
    app.shutdown()  # let go of the X display before its server stops
    return shots


def main(argv: Sequence[str] | None = None) -> int:
    args = get_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from studio.demo import demo_video_path

    video = (args.video or demo_video_path()).resolve()
    with virtual_display(args.offscreen) as platform, tempfile.TemporaryDirectory() as cache:
        log.info("Qt platform: %s", platform)
        os.environ["EXPOTION_CACHE_DIR"] = cache  # a cached analysis would finish before it can be shown running
        shots = take_screenshots(args.out_dir.resolve(), video)
    for path in shots:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
