"""Render the bundled demo video: ``python -m studio.demo.make_demo_video [-o PATH]``.

16 s at 25 fps, 640x360, H.264: the astronaut portrait (public domain, see
:mod:`studio.demo.portrait`) performs a calm intro, smiles, sings (mouth opening with
brow raises and nods), holds still for two seconds, builds up to energetic sways, turns
and zooms, and ends calmly. The output is deterministic; the ground truth of every
event goes to a JSON file beside the video.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from expotion_engine.progress import ProgressFn, check_cancel
from expotion_engine.types import atomic_write_json
from studio.demo.animate import Placement
from studio.demo.portrait import LICENCE
from studio.demo.scenarios import Actor, Shot, render_shots
from studio.demo.timeline import Move, Timeline
from studio.demo.writer import write_mp4
from studio.progress_bar import progress_and_cancel

DURATION = 16.0
FPS = 25.0
SIZE = (640, 360)
PLACEMENT = Placement(face_height=0.30, center=(0.5, 0.40))
CRF = 20

SECTIONS = (
    (0.0, "calm intro"),
    (3.0, "singing"),
    (7.0, "pause"),
    (9.0, "build"),
    (13.5, "calm ending"),
)


def demo_timeline() -> Timeline:
    """The demo's performance; every move is an event with a known start."""
    m = Move
    return Timeline((
        # calm intro: a slow drift and a growing smile
        m(0.5, 2.0, {"x": 0.03}, "drift right", "smooth"),
        m(1.5, 0.8, {"smile": 0.6}, "smile", "smooth"),
        # singing: the mouth opens and closes, brows lift, the head nods
        m(3.0, 0.2, {"mouth_open": 0.8}, "sing 1", "out"),
        m(3.5, 0.3, {"mouth_open": 0.1}, "sing 1 end", "smooth"),
        m(4.0, 0.2, {"mouth_open": 1.0}, "sing 2", "out"),
        m(4.0, 0.25, {"brow": 0.8}, "brow raise", "out"),
        m(4.6, 0.3, {"mouth_open": 0.1}, "sing 2 end", "smooth"),
        m(4.8, 0.4, {"brow": 0.0}, "brow relax", "smooth"),
        m(5.2, 0.25, {"pitch": 0.7}, "nod down", "out"),
        m(5.6, 0.3, {"pitch": 0.0}, "nod up", "smooth"),
        m(6.0, 0.2, {"mouth_open": 0.7}, "sing 3", "out"),
        m(6.0, 0.3, {"roll": 5.0, "x": 0.05}, "lean right", "out"),
        m(6.5, 0.4, {"mouth_open": 0.0, "smile": 0.3}, "sing 3 end", "smooth"),
        m(6.5, 0.4, {"roll": 0.0, "x": 0.0}, "lean back", "smooth"),
        # pause: 7.0-9.0 s nothing moves
        # build: quicker and bigger moves with sharp onsets
        m(9.0, 0.25, {"x": 0.10, "roll": 6.0}, "sway right", "out"),
        m(9.6, 0.25, {"x": -0.10, "roll": -6.0}, "sway left", "out"),
        m(10.1, 0.2, {"pitch": 0.8, "mouth_open": 1.0, "smile": 0.0}, "shout nod", "out"),
        m(10.5, 0.2, {"pitch": -0.3, "mouth_open": 0.2}, "head up", "out"),
        m(10.9, 0.25, {"x": 0.12, "roll": 8.0, "scale": 1.15}, "sway right zoom", "out"),
        m(11.3, 0.15, {"mouth_open": 1.0, "pitch": 0.3}, "shout", "out"),
        m(11.7, 0.2, {"x": -0.12, "roll": -8.0, "yaw": -0.8, "brow": 1.0}, "sway left turn", "out"),
        m(11.9, 0.2, {"mouth_open": 0.2}, "shout end", "out"),
        m(12.1, 0.2, {"pitch": 0.8}, "nod", "out"),
        m(12.4, 0.2, {"x": 0.10, "roll": 7.0, "yaw": 0.6, "pitch": 0.0}, "sway right turn", "out"),
        m(12.7, 0.2, {"x": -0.08, "roll": -5.0, "yaw": 0.0}, "sway left", "out"),
        m(13.0, 0.2, {"scale": 1.3, "mouth_open": 1.0, "x": 0.0, "roll": 0.0}, "zoom shout", "out"),
        # calm ending: settle back, smile, slow zoom out, hold
        m(13.6, 1.2, {"scale": 1.0, "mouth_open": 0.0, "brow": 0.0}, "settle", "smooth"),
        m(14.2, 0.8, {"smile": 0.7}, "smile", "smooth"),
        m(15.0, 1.0, {"scale": 0.95}, "zoom out", "smooth"),
    ))


def ground_truth() -> dict[str, object]:
    """The demo's description and events as JSON-friendly data."""
    timeline = demo_timeline()
    return {
        "format": "expotion.demo-events",
        "version": 1,
        "video": "demo.mp4",
        "duration": DURATION,
        "fps": FPS,
        "size": list(SIZE),
        "licence": LICENCE,
        "sections": [{"time": t, "name": name} for t, name in SECTIONS],
        "still_sections": [list(s) for s in timeline.still_sections(DURATION, min_length=1.0)],
        "events": [e.as_dict() for e in timeline.events()],
    }


def render_demo(path: Path, *, progress: ProgressFn | None = None, cancel=None) -> Path:
    """Render the demo video to ``path`` (atomically) and return it."""
    shots = (Shot(0.0, (Actor(demo_timeline(), PLACEMENT),), palette="studio", seed=7),)
    times = [i / FPS for i in range(int(round(DURATION * FPS)))]

    def frames():
        for i, frame in enumerate(render_shots(shots, SIZE, times)):
            check_cancel(cancel)
            if progress is not None:
                progress((i + 1) / len(times), f"frame {i + 1}/{len(times)}")
            yield frame

    return write_mp4(path, frames(), fps=FPS, crf=CRF, preset="slow")


def default_output() -> Path:
    """Where the bundled demo lives in the source tree."""
    return Path(__file__).with_name("demo.mp4")


def get_parser() -> argparse.ArgumentParser:
    """Command-line options."""
    p = argparse.ArgumentParser(
        prog="python -m studio.demo.make_demo_video",
        description="Render the bundled demo video (16 s, 25 fps, 640x360, H.264) and its event list.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("-o", "--output", type=Path, default=default_output(), help="video to write")
    p.add_argument("--events", type=Path, default=None,
                   help="event list JSON to write (default: demo_events.json beside the video)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Render the demo; returns the exit code."""
    args = get_parser().parse_args(argv)
    with progress_and_cancel("render demo") as (progress, cancel):
        video = render_demo(args.output, progress=progress, cancel=cancel)
    events = args.events or video.with_name("demo_events.json")
    atomic_write_json(events, ground_truth())
    events.chmod(0o644)
    print(f"wrote {video} ({video.stat().st_size / 1e6:.2f} MB) and {events}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
