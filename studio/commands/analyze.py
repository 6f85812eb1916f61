"""``expotion analyze VIDEO -o controls.npz``: video to ControlTrack (+ optional plot)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from expotion_engine.vision import AnalysisSettings
from studio.analysis import analyze
from studio.cli_help import DefaultsHelpFormatter
from studio.preflight import check_output_path
from studio.progress_bar import progress_and_cancel


def add_analysis_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by every command that analyses a video."""
    group = parser.add_argument_group("analysis")
    group.add_argument("--start", type=float, default=None, help="in point, seconds into the video")
    group.add_argument("--end", type=float, default=None, help="out point, seconds into the video")
    group.add_argument("--analysis-fps", type=float, default=10.0, help="frames analysed per second")
    group.add_argument("--control-rate", type=float, default=50.0, help="control frames per second")
    group.add_argument("--smoothing", type=float, default=0.12, help="smoothing window (Gaussian sigma, s)")
    group.add_argument("--max-gap", type=float, default=0.5, help="fill gaps up to this long (s)")
    group.add_argument("--hit-threshold", type=float, default=1.0,
                       help="how far a change must rise above the clip's noise to be a hit point (higher, fewer)")
    group.add_argument("--no-cache", action="store_true", help="analyse again even if a cached result exists")


def settings_from_args(args: argparse.Namespace) -> AnalysisSettings:
    """AnalysisSettings from the options added by :func:`add_analysis_arguments`."""
    return AnalysisSettings(
        analysis_fps=args.analysis_fps,
        start=args.start,
        end=args.end,
        control_rate=args.control_rate,
        smoothing=args.smoothing,
        max_gap=args.max_gap,
        hit_threshold=args.hit_threshold,
    )


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "analyze",
        help="analyse faces, bodies and motion of a video into a ControlTrack",
        description="Analyse a video into time-aligned musical controls (.npz + .json sidecar).",
        formatter_class=DefaultsHelpFormatter,
    )
    p.add_argument("video", type=Path, help="video file")
    p.add_argument("-o", "--output", type=Path, default=Path("controls.npz"), help="ControlTrack file (.npz)")
    p.add_argument("--plot", type=Path, default=None, help="also draw the curves and markers to this PNG")
    add_analysis_arguments(p)
    p.set_defaults(run=run)


def end_past_video(end: float | None, duration: float, doing: str) -> str | None:
    """The one line said when ``--end`` lies past the video's ``duration`` (the range then stops at its end)."""
    if end is None or end <= duration + 5e-4:
        return None
    return f"--end {end:g} s is past the end of the video ({duration:.2f} s); {doing} to its end"


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    check_output_path(args.output)
    check_output_path(args.plot)
    with progress_and_cancel("analyse") as (progress, cancel):
        track = analyze(args.video, settings, use_cache=not args.no_cache, progress=progress, cancel=cancel)
    note = end_past_video(args.end, track.source.duration, "analysed")
    if note is not None:
        print(note, file=sys.stderr)
    written = track.save(args.output)
    print(f"wrote {written} and {written.with_suffix('.json')}: {track.n_frames} frames at "
          f"{track.rate:g} Hz, {len(track.markers)} hit points", file=sys.stderr)
    if args.plot is not None:
        from studio.plot import plot_control_track

        print(f"wrote {plot_control_track(track, args.plot)}", file=sys.stderr)
    return 0
