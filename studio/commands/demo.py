"""``expotion demo -o OUT``: score the bundled demo video end to end with the default preset."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from studio.cli_help import DefaultsHelpFormatter
from studio.commands.score import add_preview_argument, score_into
from studio.session import DEFAULT_PRESET, Session


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "demo",
        help="score the bundled demo video into a delivery folder",
        description="Score the bundled demo video with the default preset: OUT receives the take (mix.wav, "
                    "stems/, take.json), demo.expotion, the delivery folder delivery/ and the analysis "
                    "(demo_controls.npz/.json and a plot of its curves, demo_controls.png).",
        formatter_class=DefaultsHelpFormatter,
    )
    p.add_argument("-o", "--output", type=Path, default=Path("demo_out"), help="output folder")
    p.add_argument("--preset", default=DEFAULT_PRESET, help="preset name or .toml path")
    p.add_argument("--force", action="store_true", help="overwrite the files of an earlier demo run")
    add_preview_argument(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from studio.demo import demo_video_path
    from studio.plot import plot_control_track

    video = demo_video_path()
    out: Path = args.output
    print(f"demo video: {video}", file=sys.stderr)
    session = Session.for_video(video, title="demo", preset=args.preset)
    result = score_into(session, out, force=args.force, use_cache=True, description="score demo",
                        preview=args.preview)
    controls = result.controls.save(out / "demo_controls.npz")
    plot = plot_control_track(result.controls, out / "demo_controls.png")
    print(f"wrote {controls}, {controls.with_suffix('.json')} and {plot}", file=sys.stderr)
    return 0
