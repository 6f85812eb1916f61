"""``expotion score TIMELINE -o OUT``: score an editor's sequence clip by clip, on its own timecode.

The sequence's picture is rendered to ``OUT/<title>_picture.mp4`` (the session's video,
from which the delivery's re-muxed video is cut); each clip's source range is analysed
(cached per media + range) and laid on the sequence's time axis with its edit points as
hits; the timeline's markers become the session's cues; the start timecode and rate
are the sequence's unless ``--timecode-start``/``--timecode-rate`` say otherwise. The
delivery also holds the sequence itself with the score laid in as new audio tracks
(:mod:`studio.timeline.deliver`).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from expotion_engine.errors import ExportError
from expotion_engine.progress import sub_progress
from expotion_engine.types import Marker
from studio.commands.analyze import settings_from_args
from studio.commands.score import (
    DELIVERY_FOLDER,
    check_formats,
    check_output_folder,
    engine_options,
    say_timecode,
    start_timecode,
    timecode_rate_option,
)
from studio.export.job import safe_name
from studio.fsutil import remove_stale
from studio.lock import FolderLock
from studio.pipeline import export_take, generate_take, preset_table
from studio.preflight import preflight
from studio.preview import previewing, stale_preview
from studio.progress_bar import progress_and_cancel
from studio.session import SESSION_SUFFIX, DeliveryPrefs, Session, TimelineSource
from studio.timecode import (
    TimecodeError,
    TimecodeRate,
    check_delivery_rate,
    format_frames,
    frame_seconds,
    to_frame,
)
from studio.timeline.controls import timeline_controls
from studio.timeline.deliver import deliver_roundtrip, score_tracks
from studio.timeline.model import Timeline
from studio.timeline.read import read_timeline
from studio.timeline.render import render_picture

#: share of the run each stage reports over
_ANALYSE, _GENERATE = 0.35, 0.88


def _ranged(timeline: Timeline, start: float | None, end: float | None) -> Timeline:
    """``timeline`` with ``--start``/``--end`` (seconds from the sequence's first frame) as its in/out."""
    if start is None and end is None:
        return timeline
    return replace(timeline, in_frame=timeline.in_frame if start is None else to_frame(start, timeline.rate),
                   out_frame=timeline.out_frame if end is None else to_frame(end, timeline.rate))


def timeline_cues(timeline: Timeline) -> list[Marker]:
    """The timeline's markers inside the scored range as cues, in seconds from the in point, colours kept."""
    return [Marker(time=timeline.seconds(m.frame - timeline.in_frame), name=m.name, kind="cue", color=m.color)
            for m in timeline.markers if timeline.in_frame <= m.frame <= timeline.range_out]


def timeline_source(timeline: Timeline) -> TimelineSource:
    """What the session records of the sequence it is scored from (file, format, rate, start, scored frames)."""
    return TimelineSource(path=timeline.path, adapter=timeline.adapter, rate=timeline.rate.spec,
                          start_frame=timeline.start_frame, in_frame=timeline.in_frame,
                          out_frame=timeline.range_out if timeline.range_out < timeline.duration else None)


def delivery_rate(timeline: Timeline) -> str | None:
    """The sequence's rate as deliveries count it: its own, or for 29.97/59.94 NDF the drop-frame count of
    the same frames (the editor formats' writers count those rates drop frame), else None (chosen from the
    frame rate); seconds and frames stay the sequence's either way, only the labels differ."""
    try:
        return check_delivery_rate(timeline.rate).spec
    except TimecodeError:
        pass
    if timeline.rate.ntsc and timeline.rate.nominal in (30, 60):
        drop = TimecodeRate(timeline.rate.nominal, ntsc=True, drop_frame=True)
        print(f"timecode: the sequence counts {timeline.rate.label}; the delivery labels the same frames in "
              f"{drop.label} ({timeline.start_timecode} is {format_frames(timeline.start_frame, drop)})",
              file=sys.stderr)
        return drop.spec
    return None


def check_outside_delivery(sequence: Path, out: Path) -> None:
    """Refuse a sequence inside ``OUT/delivery``: the new delivery replaces that folder's files (a delivered
    ``<title>_sequence.*`` among them) before the sequence is read again to write the round-trip file."""
    delivery = (out / DELIVERY_FOLDER).resolve()
    if delivery in Path(sequence).resolve().parents:
        raise ExportError(f"{sequence} lies in {out / DELIVERY_FOLDER}, which this run's delivery replaces; "
                          f"score it into another folder (-o).")


def score_timeline(args: argparse.Namespace) -> int:
    """Run ``score`` for a timeline file (the options of ``score``; ``--timecode-rate`` also names an EDL's rate)."""
    analysis = settings_from_args(args)
    options = engine_options(args)
    out: Path = args.output
    check_output_folder(out, args.force)
    check_formats(args.formats)
    declared = timecode_rate_option(args.timecode_rate)
    timeline = _ranged(read_timeline(args.video, rate=declared), args.start, args.end)
    if not args.no_delivery:
        check_outside_delivery(timeline.path, out)
    title = args.title or timeline.name or args.video.stem
    print(f"timeline: {timeline.path.name} ({timeline.adapter}), {len([c for c in timeline.clips if not c.is_gap])} "
          f"clips, {len(timeline.edit_frames)} edits, {len(timeline.markers)} markers, starts at "
          f"{timeline.start_timecode} ({timeline.rate.label} frames/s)", file=sys.stderr)
    with FolderLock(out):  # one writer per folder, as for a video; staging an interrupted run left is removed
        remove_stale(out)
        for path in stale_preview(out):
            path.unlink()
        check_output_folder(out, args.force)
        with progress_and_cancel("picture") as (progress, cancel):
            picture = render_picture(timeline, out / f"{safe_name(title)}_picture.mp4", progress=progress,
                                     cancel=cancel)
        print(f"picture: the sequence rendered to {picture.name}; the delivery's video is cut from it", file=sys.stderr)
        session = Session.for_video(
            picture, title=title, frame_rate=timeline.rate.fps,
            video_in=timeline.seconds(timeline.in_frame),
            video_out=timeline.seconds(timeline.range_out) if timeline.range_out < timeline.duration else None,
            preset=args.preset, prompt=args.prompt, engine=args.engine, engine_options=options, seed=args.seed,
            bpm=args.bpm, analysis=analysis, markers=timeline_cues(timeline),
            export=DeliveryPrefs(args.sample_rate or 48000, args.bit_depth or 24, tuple(args.formats or ())),
        )
        session.timecode_rate = declared or delivery_rate(timeline)
        session.timeline = timeline_source(timeline)
        session.timecode_start = (frame_seconds(timeline.start_frame, timeline.rate) if args.timecode_start == "0"
                                  else start_timecode(args.timecode_start, session))
        session.validate()
        preset_table(session.preset)
        delivery = not args.no_delivery
        if delivery:
            say_timecode(session)
        preflight(session, out, delivery=delivery)
        session.path = (out / f"{safe_name(title)}{SESSION_SUFFIX}").resolve()
        with (progress_and_cancel("score") as (progress, cancel),
              previewing(out, session.export.sample_rate, args.preview) as listener):
            controls = timeline_controls(timeline, session.analysis_settings(), picture=picture,
                                         use_cache=not args.no_cache, progress=sub_progress(progress, 0.0, _ANALYSE),
                                         cancel=cancel)
            record, take = generate_take(session, controls, folder=out, on_audio=listener,
                                         progress=sub_progress(progress, _ANALYSE, _GENERATE), cancel=cancel)
            session.save()
            exported = export_take(session, out / DELIVERY_FOLDER, take_id=record.id, force=args.force,
                                   video_tracks=args.video_audio, timeline_audio=args.timeline_audio,
                                   midi_start=args.midi_start, progress=sub_progress(progress, _GENERATE, 1.0),
                                   cancel=cancel) if delivery else []
            if delivery:  # the sequence itself with the score's tracks, for the editor to import as one file
                tracks = score_tracks(session, take, record.folder, out / DELIVERY_FOLDER)
                exported.append(deliver_roundtrip(timeline, tracks, out / DELIVERY_FOLDER, title, force=args.force))
    edits = sum(m.cause == "edit" for m in take.markers)
    print(f"wrote {out}: mix.wav ({take.duration:.3f} s, {take.n_samples} samples at {take.sample_rate} Hz), "
          f"{len(take.stems)} stems, take.json; {edits} edit hits, {len(session.markers)} cues; "
          f"session {session.path}", file=sys.stderr)
    print(f"delivery: {len(exported)} files in {out / DELIVERY_FOLDER}" if delivery else "delivery folder skipped",
          file=sys.stderr)
    if delivery:
        print(f"sequence: {exported[-1].name} is “{timeline.name}” with the mix and {len(take.stems)} stems as new "
              f"audio tracks from {format_frames(timeline.start_frame + timeline.in_frame, timeline.rate)}; "
              "import it into the editing application", file=sys.stderr)
    return 0


__all__ = ["delivery_rate", "score_timeline", "timeline_cues", "timeline_source"]
