"""``expotion export SESSION -o OUT``: write a session's delivery folder again, without generating."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from studio.cli_help import DefaultsHelpFormatter
from studio.commands.score import add_delivery_arguments, check_formats, say_timecode, timecode_rate_option
from studio.fsutil import remove_stale
from studio.lock import FolderLock
from studio.pipeline import export_take
from studio.preflight import check_output_path
from studio.progress_bar import progress_and_cancel
from studio.session import Session


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "export",
        help="re-export a session's take into a delivery folder (no new generation)",
        description="Write the delivery folder (stems, MIDI, markers, DAW and editor files, video) for a "
                    "session's chosen take, or another with --take. Options given here override the "
                    "session's delivery settings for this export only; the session file is not changed.",
        formatter_class=DefaultsHelpFormatter,
    )
    p.add_argument("session", type=Path, help="session file (.expotion)")
    p.add_argument("-o", "--output", type=Path, required=True, help="delivery folder")
    p.add_argument("--take", default=None, metavar="ID", help="take id to export (default: the chosen take)")
    add_delivery_arguments(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    session = Session.load(args.session)
    prefs = session.export
    session.export = replace(
        prefs,
        sample_rate=args.sample_rate or prefs.sample_rate,
        bit_depth=args.bit_depth or prefs.bit_depth,
        formats=tuple(args.formats or prefs.formats),
    )
    check_formats(session.export.formats)
    if args.timecode_rate is not None:
        session.timecode_rate = timecode_rate_option(args.timecode_rate)
    say_timecode(session)
    _say_missing_video(session)
    check_output_path(args.output, folder=True)
    with FolderLock(args.output), progress_and_cancel("export") as (progress, cancel):
        remove_stale(args.output)
        written = export_take(session, args.output, take_id=args.take, force=args.force,
                              video_tracks=args.video_audio, timeline_audio=args.timeline_audio,
                              midi_start=args.midi_start, progress=progress, cancel=cancel)
        if session.timeline is not None:  # scored from an editor's sequence: that sequence with the score laid in
            from studio.timeline.deliver import deliver_session

            written += deliver_session(session, args.output, take_id=args.take, force=args.force)
    print(f"wrote {len(written)} file{'' if len(written) == 1 else 's'} into {args.output}", file=sys.stderr)
    return 0


#: the formats that place the source video (each is left out when it is missing)
VIDEO_FORMATS = ("video", "edl", "fcp7", "fcpxml")


def _say_missing_video(session: Session) -> None:
    """Say which chosen formats a delivery leaves out because the session's video is not where it was."""
    if session.video is None or session.video_found:
        return
    left_out = [name for name in VIDEO_FORMATS if not session.export.formats or name in session.export.formats]
    if left_out:
        print(f"note: the session's video {session.video} is missing, so this delivery has no "
              f"{', '.join(left_out)}; put the video back and export again for them.", file=sys.stderr)
