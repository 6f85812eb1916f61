"""``expotion demo -o OUT``: run the main job on the bundled demo video."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from expotion_engine.vision import AnalysisSettings
from studio.analysis import analyze
from studio.progress_bar import progress_and_cancel


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "demo",
        help="score the bundled demo video into a delivery folder",
        description="Analyse the bundled demo video and write its results into a folder.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("-o", "--output", type=Path, default=Path("demo_out"), help="output folder")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from studio.demo import demo_video_path
    from studio.plot import plot_control_track

    video = demo_video_path()
    out: Path = args.output
    out.mkdir(parents=True, exist_ok=True)
    with progress_and_cancel("analyse demo") as (progress, cancel):
        track = analyze(video, AnalysisSettings(), progress=progress, cancel=cancel)
    controls = track.save(out / "demo_controls.npz")
    plot = plot_control_track(track, out / "demo_controls.png")
    print(f"demo video: {video}", file=sys.stderr)
    print(f"wrote {controls}, {controls.with_suffix('.json')} and {plot}", file=sys.stderr)
    return 0
