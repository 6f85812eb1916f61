"""``expotion clock SOURCE [--port NAME | --virtual]``: send MIDI clock that follows a take's tempo map.

SOURCE is a session file (``*.expotion``: its chosen take), a take folder or its
``take.json``; only the tempo map and length are read, no audio. A DAW slaved to the
port follows the tempo changes, starts at the Song Position Pointer and stops with the
clock; ``--mtc`` adds MIDI Time Code from the video's timecode. The position (bar.beat)
shows while it runs; Ctrl-C sends Stop. The measured tick jitter is reported at the end.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from expotion_engine.errors import Cancelled
from expotion_engine.types import TAKE_FORMAT, TAKE_VERSION, TempoMap, read_regular_text
from studio.cli_help import DefaultsHelpFormatter
from studio.clock import (
    MIDI_APIS,
    MTC_RATES,
    BarPosition,
    ClockError,
    clock_messages,
    first_clock_beat,
    format_timecode,
    open_clock_port,
    output_names,
    parse_timecode,
    send_clock,
)
from studio.clock.sender import API_ENV
from studio.progress_bar import progress_and_cancel
from studio.timecode import TimecodeRate, parse_frames

SESSION_SUFFIX = ".expotion"


@dataclass(frozen=True)
class ClockSource:
    """What the clock needs from a session or take: the tempo map, the length and where music time 0 sits."""

    take_json: Path
    tempo_map: TempoMap
    duration: float | None
    timecode: float = 0.0
    rate: TimecodeRate | None = None

    def mtc_origin(self, fps: int, timecode: str | None) -> tuple[float, float, bool]:
        """MTC's ``(timecode at music time 0 in frames / fps, timecode seconds per second, drop frame)`` at ``fps``:
        a 23.976 or 29.97 session sent at 24 or 30 counts the picture's own frames (pulled down by 1000/1001), a
        29.97 drop-frame one labelled in drop frame as its delivery is."""
        pulled = self.rate is not None and self.rate.ntsc and self.rate.nominal == fps
        speed = 1000.0 / 1001.0 if pulled else 1.0
        drop = pulled and self.rate is not None and self.rate.drop_frame
        if timecode is not None:
            return (parse_frames(timecode, self.rate) / fps if drop else parse_timecode(timecode, fps)), speed, drop
        return self.timecode * speed, speed, drop


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "clock",
        help="send live MIDI clock (and MTC) that follows a take's tempo map",
        description="Send MIDI clock at 24 ppqn following the tempo map of a session's chosen take (or a take "
                    "folder / take.json), with Song Position Pointer, Start/Continue/Stop and optional MIDI Time "
                    "Code, so a DAW can slave to it while the video plays.",
        formatter_class=DefaultsHelpFormatter,
    )
    p.add_argument("source", type=Path, nargs="?", help="session file (.expotion), take folder or take.json")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--port", default=None, help="existing MIDI output port (exact name or a unique part of it)")
    where.add_argument("--virtual", action="store_true", help="create a virtual output port named 'Expotion Clock'")
    p.add_argument("--api", choices=tuple(MIDI_APIS), default=None,
                   help=f"MIDI system used by python-rtmidi; unset: ${API_ENV}, else the platform's default")
    p.add_argument("--start", type=float, default=0.0, help="music time to start from (s); playback starts at the "
                   "next 16th note")
    p.add_argument("--end", type=float, default=None, help="music time to stop at (s); unset: the end of the take")
    p.add_argument("--mtc", type=int, choices=tuple(MTC_RATES), default=None,
                   help="also send MIDI Time Code at this frame rate (fps)")
    p.add_argument("--timecode", default=None, help="timecode of music time 0 as HH:MM:SS:FF; unset: the session's "
                   "start timecode plus its in point (a take: 00:00:00:00 plus its in point)")
    p.add_argument("--preroll", type=float, default=0.5, help="seconds between locating (SPP) and Start, so the "
                   "slave can chase")
    p.add_argument("--list-ports", action="store_true", help="list the MIDI output ports and exit")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.list_ports:
        names = output_names(args.api)
        print("\n".join(names) if names else "(no MIDI output ports)")
        return 0
    if args.source is None:
        raise ClockError("Name the session file, take folder or take.json whose tempo map the clock follows.")
    if args.port is None and not args.virtual:
        raise ClockError("Choose where the clock goes: --port NAME (see --list-ports) or --virtual.")
    if not (math.isfinite(args.preroll) and args.preroll >= 0):
        raise ClockError(f"Preroll {args.preroll!r} s must be >= 0.")
    source = load_source(args.source)
    end = args.end if args.end is not None else source.duration
    if end is None:
        raise ClockError(f"{source.take_json} does not say how long the take is; give --end SECONDS.")
    if args.timecode is not None and args.mtc is None:
        raise ClockError(f"--timecode {args.timecode} sets where MIDI Time Code starts; add --mtc 24, 25 or 30.")
    timecode, speed, drop = source.mtc_origin(args.mtc, args.timecode) if args.mtc else (source.timecode, 1.0, False)
    messages = clock_messages(source.tempo_map, args.start, end, mtc=args.mtc, timecode=timecode, speed=speed,
                              drop_frame=drop)
    position = BarPosition(source.tempo_map, end)

    def describe(time: float) -> str:
        return f"bar {position(time)}, {source.tempo_map.bpm_at(time):.1f} BPM"

    with open_clock_port(port=args.port, virtual=args.virtual, api=args.api) as output:
        first = source.tempo_map.time_at(first_clock_beat(source.tempo_map, args.start))
        located = format_timecode(timecode + speed * args.start, args.mtc, drop) if args.mtc else ""
        mtc = f", MTC {'29.97 DF' if drop else args.mtc} fps from {located}" if args.mtc else ""
        print(f"clock on {output.name!r}: bar {position(first)} ({first:.3f} s) to {end:.3f} s{mtc}; "
              "Ctrl-C stops", file=sys.stderr)
        with progress_and_cancel("clock") as (progress, cancel):
            report = send_clock(messages, output, start=args.start, preroll=args.preroll, progress=progress,
                                describe=describe, cancel=cancel)
    print(f"stopped at bar {position(report.stopped_at)}; {report.summary()}", file=sys.stderr)
    if report.cancelled:
        raise Cancelled("Clock stopped by the user.")
    return 0


def load_source(path: Path) -> ClockSource:
    """The tempo map, length and timecode of a session's chosen take, a take folder or a take.json."""
    if path.suffix == SESSION_SUFFIX:
        from studio.session import Session

        session = Session.load(path)
        folder = session.chosen_take_folder()
        if folder is None:
            raise ClockError(f"{path}: the session has no chosen take yet; score it first.")
        source = _read_take(folder / "take.json")
        return ClockSource(source.take_json, source.tempo_map, source.duration,
                           session.timecode_start + session.video_in, session.timecode().rate)
    if path.is_file() and path.suffix.lower() != ".json":
        raise ClockError(f"{path}: not a session file ({SESSION_SUFFIX}), a take folder or a take.json.")
    take_json = path / "take.json" if path.is_dir() else path
    return _read_take(take_json)


def _read_take(take_json: Path) -> ClockSource:
    """Read only what the clock needs from ``take.json``."""
    if not take_json.exists():
        raise ClockError(f"{take_json}: file not found; give a session file, a take folder or its take.json.")
    text = read_regular_text(take_json, ClockError, "take")
    try:
        meta: dict[str, Any] = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ClockError(f"{take_json}: not readable as a take ({exc}).") from None
    if not isinstance(meta, dict) or meta.get("format") != TAKE_FORMAT:
        raise ClockError(f"{take_json}: not an Expotion take (no \"format\": \"{TAKE_FORMAT}\").")
    if not isinstance(meta.get("version", 0), int) or meta.get("version", 0) > TAKE_VERSION:
        raise ClockError(f"{take_json}: written by a newer Expotion (take version {meta.get('version')}).")
    try:
        tempo_map = TempoMap.from_dict(meta["tempo_map"])
        duration = int(meta["n_samples"]) / int(meta["sample_rate"]) if "n_samples" in meta else None
        video_in = float(meta.get("request", {}).get("controls", {}).get("source", {}).get("start", 0.0))
    except (KeyError, TypeError, ValueError, ZeroDivisionError, AttributeError) as exc:
        raise ClockError(f"{take_json}: the tempo map or length is missing or bad ({exc}).") from None
    return ClockSource(take_json, tempo_map, duration, video_in)
