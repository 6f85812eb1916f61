"""How long the app's GUI thread is blocked at launch and while jobs run in the background.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/ui_responsiveness.py [--video FILE]

Opens the video in the main window, then analyses it and generates a procedural take while
a 10 ms QTimer on the GUI thread records, between its ticks, the wall-clock gap and the GUI
thread's own CPU time (``time.thread_time``). Each job is measured until it has finished and
its result is painted (0.5 s more). Prints, per phase, the longest gap and the 99th
percentile beside a baseline measured in the same run (the same timer with the window open
and idle), and the longest CPU burst of the GUI thread. On a loaded machine the wall-clock
gaps include time the process waits for a core (the idle baseline shows how much); the CPU
burst is the work the GUI thread itself did in one go, which load does not lengthen.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from studio.demo import demo_video_path  # noqa: E402

SETTLE_S = 0.5


def gaps_during(app, condition, timeout: float = 600.0, settle: float = SETTLE_S) -> tuple[np.ndarray, np.ndarray]:
    """Wall-clock gaps and GUI-thread CPU (both ms) between 10 ms ticks until ``condition()``, plus ``settle`` s."""
    from PySide6.QtCore import QTimer

    gaps: list[float] = []
    cpu: list[float] = []
    last = [time.perf_counter(), time.thread_time()]

    def tick() -> None:
        now, used = time.perf_counter(), time.thread_time()
        gaps.append((now - last[0]) * 1000)
        cpu.append((used - last[1]) * 1000)
        last[:] = [now, used]

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(tick)
    timer.start()
    deadline = time.monotonic() + timeout
    done_at = None
    while time.monotonic() < deadline:
        if done_at is None and condition():
            done_at = time.monotonic()
        if done_at is not None and time.monotonic() - done_at >= settle:
            break
        app.processEvents()
        time.sleep(0.001)
    timer.stop()
    return np.array(gaps or [0.0]), np.array(cpu or [0.0])


def report(name: str, measured: tuple[np.ndarray, np.ndarray], baseline: tuple[np.ndarray, np.ndarray]) -> None:
    gaps, cpu = measured
    ratio = gaps.max() / max(baseline[0].max(), 1e-9)
    print(f"{name:<12} longest {gaps.max():7.1f} ms  p99 {np.percentile(gaps, 99):6.1f} ms  "
          f"({len(gaps)} ticks; longest {ratio:.1f}x the idle baseline)  GUI-thread CPU burst {cpu.max():6.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--video", type=Path, default=None, help="video to use (default: the demo video)")
    args = parser.parse_args()
    from PySide6.QtCore import QSettings

    from ui.app import application
    from ui.main_window import MainWindow

    video = args.video or demo_video_path()
    with tempfile.TemporaryDirectory() as folder:
        os.environ["EXPOTION_CACHE_DIR"] = str(Path(folder) / "cache")
        app = application()
        window = MainWindow(QSettings(str(Path(folder) / "settings.ini"), QSettings.Format.IniFormat))
        window.show()
        window.open_path(video)
        launch = gaps_during(app, lambda: window.document.has_video and not window.jobs.busy, settle=2.0)
        started = time.monotonic()
        baseline = gaps_during(app, lambda: time.monotonic() - started > 2.0, settle=0.0)
        worker = window.analyse()
        analysis = gaps_during(app, worker.is_finished)
        window.save_to(Path(folder) / "bench.expotion")
        worker = window.generate()
        generation = gaps_during(app, worker.is_finished)
        report("idle", baseline, baseline)
        report("launch", launch, baseline)
        report("analysis", analysis, baseline)
        report("generation", generation, baseline)
        window.document.save()
        window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
