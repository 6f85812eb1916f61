"""``expotion score VIDEO -o OUT``: analyse, generate and deliver in one go.

OUT receives the take (``mix.wav``, ``stems/*.wav``, ``take.json``), the session file
``<video title>.expotion`` (open it in the desktop app, or re-export with ``expotion
export``) and the delivery folder ``delivery/`` for DAWs and editors.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from expotion_engine.engines import ENGINES
from expotion_engine.errors import ExportError, SessionError
from expotion_engine.types import TempoMap
from studio.cli_help import DefaultsHelpFormatter
from studio.commands.analyze import add_analysis_arguments, end_past_video, settings_from_args
from studio.export.job import BIT_DEPTHS, MIDI_START, SAMPLE_RATES, TIMELINE_AUDIO, VIDEO_TRACKS, safe_name
from studio.export.registry import FORMATS
from studio.export.source_timecode import file_timecode
from studio.fsutil import remove_stale, stale_parts, stale_staging
from studio.lock import LOCK_NAME, FolderLock
from studio.pipeline import PipelineResult, preset_table, run_pipeline
from studio.preflight import check_folder_name, preflight
from studio.preview import previewing, stale_preview
from studio.progress_bar import progress_and_cancel
from studio.session import DEFAULT_PRESET, SESSION_SUFFIX, DeliveryPrefs, Session
from studio.timecode import (
    TimecodeError,
    check_delivery_rate,
    format_timecode,
    parse_rate,
    parse_timecode,
    to_frame,
)

DELIVERY_FOLDER = "delivery"


def add_delivery_arguments(parser: argparse.ArgumentParser, sample_rate_help: str = "delivery sample rate in Hz "
                           "(default: the session's, 48000 for a new one)") -> None:
    """Options of the delivery folder shared by ``score``, ``export`` and ``conform``."""
    group = parser.add_argument_group("delivery")
    group.add_argument("--format", "--formats", dest="formats", nargs="+", action="extend", default=None,
                       metavar="FORMAT", help="delivery formats to write (default: the session's, else all)")
    group.add_argument("--sample-rate", type=int, choices=SAMPLE_RATES, default=None, help=sample_rate_help)
    group.add_argument("--bit-depth", type=int, choices=BIT_DEPTHS, default=None,
                       help="delivery bit depth, 32 = float (default: the session's, 24 for a new one)")
    group.add_argument("--timecode-rate", default=None, metavar="RATE",
                       help="timecode rate of every delivery format: 23.976, 24, 25, 29.97 (drop frame), 30, "
                            "50, 59.94 (drop frame) or 60 (default: the video's rate; a video at "
                            "another rate, e.g. 10 or 12.5 fps, is counted at the nearest SMPTE rate that counts "
                            "whole video frames, and the output says which)")
    group.add_argument("--video-audio", choices=VIDEO_TRACKS, default="keep",
                       help="audio of the re-muxed video: keep = the score, then the source's own audio tracks; "
                            "mix = also a pre-mixed score + source track first; score = the score alone")
    group.add_argument("--timeline-audio", choices=TIMELINE_AUDIO, default=TIMELINE_AUDIO[0],
                       help="audio of the editor timelines (EDL, FCP 7 XML, FCPXML, .otio): both-mix-enabled = the "
                            "mix on an enabled track and the stems on disabled tracks; mix = the mix only; stems = "
                            "the stems only, enabled (either way the music plays once)")
    group.add_argument("--midi-start", choices=MIDI_START, default=MIDI_START[0],
                       help="where the MIDI file starts: zero = at the music's first bar, its timecode in the SMPTE "
                            "offset; timecode = at 00:00:00:00 with whole bars of pre-roll up to the music, for "
                            "hosts that ignore SMPTE offsets (e.g. Ardour)")
    group.add_argument("--force", action="store_true", help="overwrite existing output files")


def check_formats(formats: Sequence[str] | None) -> None:
    """Fail before any work when a delivery format is unknown."""
    if not formats:
        return
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ExportError(f"Unknown delivery format {', '.join(map(repr, unknown))}; choose from {', '.join(FORMATS)}.")


def user_entries(out: Path) -> list[Path]:
    """What is in ``out`` besides Expotion's lock file and what an interrupted run left (staging, a preview)."""
    stale = {*stale_staging(out), *stale_parts(out), *stale_preview(out)}
    return [p for p in out.iterdir() if p.name != LOCK_NAME and p not in stale]


def check_output_folder(out: Path, force: bool) -> None:
    """Refuse a file, a path under a file, a new folder named like a file, or a non-empty folder without
    ``--force``."""
    check_folder_name(out)
    for parent in (out, *out.absolute().parents):
        if parent.exists() and not parent.is_dir():
            raise ExportError(f"{parent} is a file; the output must be a folder.")
    if out.is_dir() and user_entries(out) and not force:
        raise ExportError(f"{out} is not empty; choose another folder or use --force to overwrite its files.")


def timecode_rate_option(text: str | None) -> str | None:
    """The canonical text of a ``--timecode-rate`` value (None when not given); fails early when it is not one."""
    if text is None:
        return None
    try:
        return check_delivery_rate(parse_rate(text)).spec
    except TimecodeError as exc:
        raise SessionError(str(exc)) from None


def start_timecode(text: str, session: Session) -> float:
    """Seconds of ``--timecode-start`` (``HH:MM:SS:FF`` at the session's timecode rate, or seconds)."""
    try:
        return parse_timecode(text, session.timecode().rate)
    except TimecodeError as exc:
        raise SessionError(str(exc)) from None


def video_timecode_start(text: str | None, session: Session) -> float:
    """Seconds of the start timecode: ``--timecode-start`` when given, else the one the video file carries
    (else 0); says which on stderr."""
    rate = session.timecode().rate
    try:
        own = file_timecode(session.video, rate) if session.video is not None else None
        problem = ""
    except TimecodeError as exc:
        own, problem = None, str(exc).rstrip(".")
    if text is not None:
        seconds = start_timecode(text, session)
        differs = own is not None and to_frame(own.seconds, rate) != to_frame(seconds, rate)
        also = f"; the video's own is {own.label}" if differs else ""
        print(f"start timecode {format_timecode(seconds, rate)} (--timecode-start{also})", file=sys.stderr)
        return seconds
    if own is not None:
        print(f"start timecode {format_timecode(own.seconds, rate)} (the video's own timecode; set "
              "--timecode-start to change it)", file=sys.stderr)
        return own.seconds
    why = problem or "the video carries no timecode"
    print(f"start timecode {format_timecode(0.0, rate)} ({why}; set --timecode-start to change it)", file=sys.stderr)
    return 0.0


def say_timecode(session: Session) -> None:
    """Tell the user which timecode rate the delivery counts at, loudly when it is not the video's own."""
    choice = session.timecode()
    print(f"timecode: {choice.note}" if choice.mapped else f"timecode: {choice.rate.label} frames/s", file=sys.stderr)


def say_end_past_video(end: float | None, session: Session) -> None:
    """Say on stderr when ``--end`` lies past the end of the session's video, which is scored to its end instead."""
    from expotion_engine.media.probe import probe_video

    if end is None or session.video is None:
        return
    note = end_past_video(end, probe_video(session.video).duration, "scoring")
    if note is not None:
        print(note, file=sys.stderr)


def score_into(session: Session, out: Path, *, force: bool, use_cache: bool, description: str,
               delivery: bool = True, video_tracks: str = "keep", timeline_audio: str = TIMELINE_AUDIO[0],
               midi_start: str = MIDI_START[0], preview: bool = False) -> PipelineResult:
    """Run the whole pipeline for ``session`` into folder ``out`` and report what was written.

    The folder is locked for the whole run (a second run into it stops with one sentence), staging
    an interrupted run left there is removed, and the preflight checks run before any analysis.
    ``preview``: the take's first seconds play (and grow in ``out/preview.wav``) while the rest is made.
    """
    check_output_folder(out, force)
    check_formats(session.export.formats)
    session.validate()
    preset_table(session.preset)
    with FolderLock(out):
        remove_stale(out)
        for path in stale_preview(out):
            path.unlink()
        check_output_folder(out, force)
        if delivery:
            say_timecode(session)
        preflight(session, out, delivery=delivery)
        session.path = (out / f"{safe_name(session.title)}{SESSION_SUFFIX}").resolve()
        export_dir = out / DELIVERY_FOLDER if delivery else None
        # the preview closes inside the progress scope, where Ctrl-C only sets ``cancel``: not interrupted
        with (progress_and_cancel(description, delay=0.0) as (progress, cancel),
              previewing(out, session.export.sample_rate, preview) as listener):
            result = run_pipeline(session, take_folder=out, export_dir=export_dir, force=force,
                                  video_tracks=video_tracks, timeline_audio=timeline_audio,
                                  midi_start=midi_start, use_cache=use_cache, progress=progress, cancel=cancel,
                                  on_audio=listener)
    take = result.take
    print(f"wrote {out}: mix.wav ({take.duration:.3f} s, {take.n_samples} samples at {take.sample_rate} Hz), "
          f"{len(take.stems)} stems ({', '.join(s.name for s in take.stems)}), take.json", file=sys.stderr)
    print(f"tempo {tempo_summary(take.tempo_map, take.duration)}, {len(take.markers)} markers; "
          f"session {session.path}", file=sys.stderr)
    if export_dir is None:
        print("delivery folder skipped", file=sys.stderr)
    else:
        print(f"delivery: {len(result.exported)} files in {export_dir}", file=sys.stderr)
    return result


def tempo_summary(tempo_map: TempoMap, duration: float) -> str:
    """``120.0 BPM``, or ``120.0 BPM (100-124 over the take)`` where the tempo changes: first the tempo most
    of its beats are played at (its first tempo may be a one-beat lead-in, its last a held final chord)."""
    held = tempo_map.held_bpm(duration)
    bpms = [change.bpm for change in tempo_map.tempos if change.time < duration] or [held]
    low, high = min(bpms), max(bpms)
    spread = f" ({low:.0f}-{high:.0f} over the take)" if round(low) != round(high) else ""
    return f"{held:.1f} BPM{spread}"


def add_preview_argument(parser: argparse.ArgumentParser) -> None:
    """``--preview``, shared by ``score`` and ``demo``."""
    parser.add_argument("--preview", action="store_true",
                        help="play the take's first seconds while the rest is generated (and keep them growing in "
                             "OUT/preview.wav until the take is written)")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "score",
        help="score a video: analyse, generate music, write stems, session and delivery folder",
        description="Score a video from the faces and motion on screen. OUT receives mix.wav, stems/*.wav, "
                    "take.json, a session file (<title>.expotion) and the delivery folder delivery/.",
        formatter_class=DefaultsHelpFormatter,
    )
    p.add_argument("video", type=Path, help="video file, or an editor's timeline (.otio, FCP 7 .xml, .fcpxml, "
                                            ".edl) scored clip by clip on its own timecode")
    p.add_argument("-o", "--output", type=Path, required=True, help="output folder (empty, or use --force)")
    p.add_argument("--preset", default=DEFAULT_PRESET, help="preset name (see presets/) or path of a .toml preset")
    p.add_argument("--prompt", default="", help="text prompt: genre, mood, instruments, tempo words")
    p.add_argument("--engine", choices=sorted(ENGINES), default="procedural", help="music engine")
    add_musicgen_arguments(p, "musicgen engine")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same music)")
    p.add_argument("--bpm", type=float, default=None, help="fixed tempo instead of the one the motion suggests")
    p.add_argument("--title", default=None, help="title for file names (default: the video's file name)")
    p.add_argument("--timecode-start", default=None, metavar="TC",
                   help="timecode of the video's first frame, HH:MM:SS:FF at the timecode rate or seconds "
                        "(e.g. 01:00:00:00; default: the timecode the video file carries, else 00:00:00:00; "
                        "a timeline: its sequence's start)")
    p.add_argument("--no-delivery", action="store_true", help="write the take and session only")
    add_preview_argument(p)
    add_delivery_arguments(p)
    add_analysis_arguments(p)
    p.set_defaults(run=run)


def add_musicgen_arguments(parser: argparse.ArgumentParser, title: str) -> None:
    """The musicgen engine's ``--model/--adapter/--device/--precision`` (read back by :func:`engine_options`)."""
    musicgen = parser.add_argument_group(title)
    musicgen.add_argument("--model", default=None,
                          help="MusicGen model name or folder (default: the best installed; see expotion models list)")
    musicgen.add_argument("--adapter", type=Path, default=None,
                          help="trained visual-control adapter (its folder or its adapter.safetensors)")
    musicgen.add_argument("--device", default=None, help="auto, cpu, cuda, cuda:N or mps (default: auto)")
    musicgen.add_argument("--precision", choices=("auto", "fp32", "bf16", "int8"), default=None,
                          help="decoder precision: int8 (dynamic quantisation, CPU only), bf16 or fp32 "
                               "(default auto: int8 on CPU, the GPU's half precision elsewhere)")


def _absolute_if_exists(value: str | Path | None) -> str | Path | None:
    """``value`` as an absolute path where it names an existing file or folder, else as given (a model name)."""
    if value is None or not Path(value).expanduser().exists():
        return value
    return Path(value).expanduser().absolute()


def engine_options(args: argparse.Namespace) -> dict[str, str]:
    """Engine options from ``--model/--adapter/--device/--precision``; they only mean something to musicgen.

    A model folder and an adapter that exist are recorded as absolute paths: the session keeps them, and
    ``expotion conform`` or the app may generate from it in another working folder.
    """
    given = {"model": _absolute_if_exists(args.model), "adapter": _absolute_if_exists(args.adapter),
             "device": args.device, "precision": getattr(args, "precision", None)}
    options = {name: str(value) for name, value in given.items() if value is not None}
    if options and args.engine != "musicgen":
        raise SessionError(f"--{', --'.join(options)} only apply to --engine musicgen, not {args.engine}.")
    if options.get("model", "auto") != "auto":
        check_model(options["model"])
    return options


def check_model(model: str) -> None:
    """Fail before the analysis on a model folder that is missing or incomplete, or an unknown model name
    (``hub`` and ``catalog`` load neither torch nor transformers); an installed or downloadable name passes."""
    from expotion_engine.engines.musicgen import hub
    from expotion_engine.engines.musicgen.catalog import get_variant

    if Path(model).expanduser().is_dir() or os.sep in model or model.startswith("."):
        hub.resolve(model, allow_download=False)
    else:
        get_variant(model)


def run(args: argparse.Namespace) -> int:
    from studio.timeline import is_timeline

    if is_timeline(args.video):
        from studio.timeline.score import score_timeline

        if args.timecode_start is None:
            args.timecode_start = "0"  # the timeline path's "not given": the sequence's own start timecode
        return score_timeline(args)
    analysis = settings_from_args(args)
    options = engine_options(args)
    check_output_folder(args.output, args.force)
    check_formats(args.formats)
    session = Session.for_video(
        args.video,
        **({"title": args.title} if args.title else {}),
        video_in=args.start or 0.0,
        video_out=args.end,
        preset=args.preset,
        prompt=args.prompt,
        engine=args.engine,
        engine_options=options,
        seed=args.seed,
        bpm=args.bpm,
        analysis=analysis,
        export=DeliveryPrefs(args.sample_rate or 48000, args.bit_depth or 24, tuple(args.formats or ())),
    )
    session.timecode_rate = timecode_rate_option(args.timecode_rate)
    session.timecode_start = video_timecode_start(args.timecode_start, session)
    say_end_past_video(args.end, session)
    score_into(session, args.output, force=args.force, use_cache=not args.no_cache, description="score",
               delivery=not args.no_delivery, video_tracks=args.video_audio, timeline_audio=args.timeline_audio,
               midi_start=args.midi_start, preview=args.preview)
    return 0
