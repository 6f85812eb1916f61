"""How long the app's GUI thread is blocked while a job runs in the background.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/ui_responsiveness.py [--video FILE]

Opens the video in the main window, then analyses it and generates a procedural take
while a 10 ms QTimer records the gaps between its ticks on the GUI thread. Prints the
longest gap and the 99th percentile for each job beside a baseline measured in the same
run: the same timer with the window open and idle. The figures depend on the machine and
its load, which is why they are a benchmark and not a test assertion.
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


def gaps_during(app, condition, timeout: float = 600.0) -> np.ndarray:
    """Gaps (ms) between 10 ms timer ticks until ``condition()`` is true."""
    from PySide6.QtCore import QTimer

    gaps: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        gaps.append((now - last[0]) * 1000)
        last[0] = now

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(tick)
    timer.start()
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.001)
    timer.stop()
    return np.array(gaps or [0.0])


def report(name: str, gaps: np.ndarray, baseline: np.ndarray) -> None:
    ratio = gaps.max() / max(baseline.max(), 1e-9)
    print(f"{name:<12} longest {gaps.max():7.1f} ms  p99 {np.percentile(gaps, 99):6.1f} ms  "
          f"({len(gaps)} ticks; longest {ratio:.1f}x the idle baseline)")


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
        gaps_during(app, lambda: window.document.has_video and not window.jobs.busy)
        started = time.monotonic()
        baseline = gaps_during(app, lambda: time.monotonic() - started > 2.0)
        worker = window.analyse()
        analysis = gaps_during(app, worker.is_finished)
        window.save_to(Path(folder) / "bench.expotion")
        worker = window.generate()
        generation = gaps_during(app, worker.is_finished)
        report("idle", baseline, baseline)
        report("analysis", analysis, baseline)
        report("generation", generation, baseline)
        window.document.save()
        window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
