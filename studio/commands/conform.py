"""``expotion conform SESSION NEW_TIMELINE [--old OLD_TIMELINE] -o OUT``: the session's music moved onto a recut.

``--old`` names the timeline the session was scored from (default: the sequence the
session records, with its scored range).
Every span of the new sequence is mapped onto the old one; the whole bars of kept and
moved spans keep the old take's samples, the bridges between them at bar lines are
re-planned with the session's seed and preset (procedural) or time-stretched from the
old take's own bars (audio-only engines). OUT receives the conformed take, a new session
file, ``conform.json`` (the report also printed as tables) and the delivery folder.
"""

from __future__ import annotations

import argparse
import copy
import sys
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from expotion_engine.errors import SessionError
from expotion_engine.progress import CancelEvent, ProgressFn, check_cancel, sub_progress
from expotion_engine.types import GenerationRequest, Marker, Take, atomic_write_bytes, atomic_write_json
from studio.cli_help import DefaultsHelpFormatter
from studio.commands.score import DELIVERY_FOLDER, add_delivery_arguments, check_formats, check_output_folder
from studio.export.added import add_to_delivery
from studio.export.job import safe_name
from studio.fsutil import remove_stale
from studio.lock import FolderLock
from studio.pipeline import build_request, commit_take, export_take
from studio.preflight import preflight
from studio.progress_bar import progress_and_cancel
from studio.session import SESSION_SUFFIX, Session, TakeRecord, utc_now
from studio.spool import spool_beside
from studio.timecode import frame_seconds
from studio.timeline.conform import ConformPlan, conform_plan
from studio.timeline.conform_audio import (
    ConformResult,
    Keep,
    check_scored_from,
    conform_take,
    has_exact_notes,
    move_markers,
)
from studio.timeline.controls import timeline_controls
from studio.timeline.deliver import deliver_roundtrip, score_tracks
from studio.timeline.model import Timeline
from studio.timeline.read import read_timeline
from studio.timeline.render import render_picture
from studio.timeline.score import timeline_cues, timeline_source

REPORT_NAME = "conform.json"
REPORT_TEXT = "conform.txt"


def report_data(plan: ConformPlan, result: ConformResult, old: Timeline, new: Timeline) -> dict[str, Any]:
    """The conform's report: the picture's spans, the music's kept bars and bridges, the tempo, each hit's fate."""
    fps = float(new.rate.rate)
    rate = result.take.sample_rate
    spans = [{"action": p.action, "new_frames": list(p.new_frames),
              "old_frames": None if p.old_frames is None else list(p.old_frames),
              "seconds": round((p.new_frames[1] - p.new_frames[0]) / fps, 3)} for p in result.pieces]
    music = []
    for seg in result.bars.segments:
        entry: dict[str, Any] = {"samples": [seg.start, seg.end], "seconds": [round(seg.start / rate, 4),
                                                                              round(seg.end / rate, 4)]}
        if isinstance(seg, Keep):
            entry.update(music="kept", action=seg.action, old_samples=[seg.start + seg.offset, seg.end + seg.offset],
                         moved_s=round(-seg.offset / rate, 4), bars=len(seg.bars) - 1)
        else:
            entry.update(music="re-planned" if result.method == "replan" else "stretched", role=seg.role,
                         beats=round(seg.beats, 3), bpm=[round(b, 2) for _, b in seg.tempos],
                         bend=round(seg.bend, 4), hits_on_grid=[round(t, 4) for t in seg.anchors])
        music.append(entry)
    fates = [asdict(h) for h in result.hits]
    return {
        "old_timeline": str(old.path), "new_timeline": str(new.path), "rate": new.rate.label,
        "method": result.method, "sample_rate": rate, "n_samples": result.take.n_samples,
        "new_duration_frames": new.range_out - new.in_frame, "spans": spans, "music": music,
        "removed_old_frames": [list(r) for r in plan.removed], "removed_old_gaps": [list(r) for r in plan.removed_gaps],
        "joins": list(result.joins), "crossfade_samples": result.crossfade,
        "hits_kept": [h for h in fates if h["fate"] == "kept"],
        "hits_replanned": [h for h in fates if h["fate"] == "replanned"],
        "hits_lost": [h for h in fates if h["fate"] == "lost"],
        "recut_hits_without_accent": [round(t, 4) for t in result.unaccented],
        "tempo_map": result.take.tempo_map.to_dict(),
    }


def report_lines(data: dict[str, Any]) -> list[str]:
    """The report as tables for people: the picture's changes, then the music's, then the hits."""
    lines = [f"{'picture':8} {'new frames':>12} {'old frames':>12} {'seconds':>8}"]
    for span in data["spans"]:
        old = "-" if span["old_frames"] is None else "{}-{}".format(*span["old_frames"])
        lines.append(f"{span['action']:8} {'{}-{}'.format(*span['new_frames']):>12} {old:>12} {span['seconds']:8.2f}")
    cut = sorted([(a, b, "") for a, b in data["removed_old_frames"]]
                 + [(a, b, "gap") for a, b in data["removed_old_gaps"]])
    lines += [f"{'cut':8} {'-':>12} {f'{a}-{b}':>12} {gap:>8}".rstrip() for a, b, gap in cut]
    lines.append(f"{'music':11} {'new seconds':>15}  how")
    for seg in data["music"]:
        if seg["music"] == "kept":
            how = f"{seg['bars']} bar{'' if seg['bars'] == 1 else 's'} of the old take, moved {seg['moved_s']:+.3f} s"
        else:
            how = (f"{seg['role']} of {seg['beats']:g} beats at {'/'.join(f'{b:g}' for b in seg['bpm'])} BPM "
                   f"({seg['bend']:.1%} from the music around it)"
                   + "".join(f", hit at {t:.3f} s on the grid" for t in seg["hits_on_grid"]))
        lines.append(f"{seg['music']:11} {'{:.2f}-{:.2f}'.format(*seg['seconds']):>15}  {how}")
    joins = len(data["joins"])
    lines.append(f"{joins} join{'' if joins == 1 else 's'} at bar lines crossfaded over "
                 f"{data['crossfade_samples']} samples; "
                 f"hits: {len(data['hits_kept'])} kept, {len(data['hits_replanned'])} re-planned, "
                 f"{len(data['hits_lost'])} lost")
    lines += [f"  lost user marker {m['name']!r} at {m['time']:.3f} s: its frames were cut"
              for m in data["user_markers_lost"]]
    lines += [f"  lost hit {h['name'] or h['cause'] or 'hit'} at {h['old_time']:.3f} s: {h['reason']}"
              for h in data["hits_lost"]]
    why = "it falls inside kept bars" if data["method"] == "replan" else "an audio-only take cannot add one"
    lines += [f"  the recut's hit at {t:.3f} s has no accent: {why}" for t in data["recut_hits_without_accent"]]
    return lines


def _old_take(session: Session, take_id: str | None) -> tuple[TakeRecord, Take]:
    """The take to conform (``--take``, else the chosen one) and its record."""
    record = session.take(take_id) if take_id else session.chosen()
    if record is None:
        raise SessionError("The session has no take to conform yet; score it first.")
    return record, Take.load(record.folder)


def _old_timeline(session: Session, path: Path | None) -> Timeline:
    """The timeline the take was scored from: ``--old``, else the sequence the session records, in its range."""
    if path is not None:
        return read_timeline(path)
    source = session.timeline
    if source is None:
        raise SessionError(f"{session.path.name if session.path else 'The session'} does not record the timeline "
                           "it was scored from; name it with --old.")
    return replace(read_timeline(source.path, rate=source.rate), in_frame=source.in_frame, out_frame=source.out_frame)


def _new_session(session: Session, record: TakeRecord, old_take: Take, picture: Path, users: list[Marker],
                 old: Timeline, new: Timeline) -> Session:
    """The session for the recut: the old one's choices, the take's seed, preset, prompt, engine and tempo, the new
    picture, sequence, cues and (unless the old session chose another) the recut's start timecode."""
    fresh = copy.deepcopy(session)
    if abs(session.timecode_start - frame_seconds(old.start_frame, old.rate)) < 1e-6:
        fresh.timecode_start = frame_seconds(new.start_frame, new.rate)
    fresh.set_video(picture, keep_title=True, keep_rate=True)
    fresh.video_in, fresh.video_out = new.seconds(new.in_frame), None
    fresh.seed = record.seed  # the take's own choices, should the session have changed since
    fresh.preset = record.preset or session.preset
    fresh.prompt = record.prompt
    fresh.engine, fresh.engine_options = record.engine, dict(record.params.get("options", session.engine_options))
    fresh.bpm = session.bpm or old_take.tempo_map.tempos[0].bpm
    fresh.markers = sorted([*timeline_cues(new), *users], key=lambda m: m.time)
    fresh.timeline = timeline_source(new)
    fresh.takes, fresh.chosen_take = [], None
    return fresh


def conform_into(out: Path, old_take: Take, plan: ConformPlan, old: Timeline, new: Timeline,
                 request: GenerationRequest | None, progress: ProgressFn | None = None,
                 cancel: CancelEvent | None = None) -> ConformResult:
    """:func:`conform_take` committed into the folder ``out``, its result's take read from there.

    A long recut's audio is spooled in a hidden staging folder inside ``out`` (on the output's
    disk, so committing it links rather than copies, and never in the system temp folder); the
    spool is removed when this returns or raises (a cancel, Ctrl-C, an output the take cannot go
    into), and one a killed run left is removed by the next run's ``remove_stale(out)``.
    """
    out.mkdir(parents=True, exist_ok=True)
    spool = spool_beside(out)
    try:
        result = conform_take(old_take, plan, old, new, request, progress, cancel, spool=spool)
        check_cancel(cancel)
        commit_take(result.take, out, force=True)
        if result.take.on_disk:  # refer to the committed files, not the spool
            result = replace(result, take=Take.load(out))
    finally:
        spool.close()
    return result


def run(args: argparse.Namespace) -> int:
    """Conform the session's take onto the recut, write take, session, report and delivery."""
    out: Path = args.output
    check_output_folder(out, args.force)
    check_formats(args.formats)
    session = Session.load(args.session)
    record, old_take = _old_take(session, args.take)
    old, new = _old_timeline(session, args.old), read_timeline(args.new_timeline)
    check_scored_from(old_take, old)
    plan = conform_plan(old, new)
    title = session.title or new.name
    conformed = out / f"{safe_name(title)}{SESSION_SUFFIX}"
    if args.sample_rate and args.sample_rate != old_take.sample_rate:
        raise SessionError(f"The take runs at {old_take.sample_rate} Hz and conform keeps it, so --sample-rate "
                           f"{args.sample_rate} cannot apply here; conform without it, then deliver at "
                           f"{args.sample_rate} Hz with `expotion export {conformed} -o FOLDER "
                           f"--sample-rate {args.sample_rate}`.")
    with FolderLock(out):  # one writer per folder, as for score; staging an interrupted run left is removed
        remove_stale(out)
        check_output_folder(out, args.force)
        picture = render_picture(new, out / f"{safe_name(title)}_picture.mp4")
        users, users_lost = move_markers([m for m in session.markers if m.kind == "user"], plan, old, new)
        fresh_session = _new_session(session, record, old_take, picture, users, old, new)
        fresh_session.export = replace(fresh_session.export, sample_rate=old_take.sample_rate,
                                       bit_depth=args.bit_depth or fresh_session.export.bit_depth,
                                       formats=tuple(args.formats or fresh_session.export.formats))
        fresh_session.path = conformed.resolve()
        preflight(fresh_session, out, delivery=not args.no_delivery)
        with progress_and_cancel("conform") as (progress, cancel):
            request = None
            if has_exact_notes(old_take):  # the recut is re-planned: its controls give the new bars' hits
                controls = timeline_controls(new, fresh_session.analysis_settings(), picture=picture,
                                             use_cache=not args.no_cache, progress=sub_progress(progress, 0.0, 0.4),
                                             cancel=cancel)
                request = build_request(fresh_session, controls)
            result = conform_into(out, old_take, plan, old, new, request, sub_progress(progress, 0.4, 0.8), cancel)
            take_id = fresh_session.next_take_id()
            fresh_session.add_take(TakeRecord(id=take_id, folder=out.resolve(), engine=result.take.engine,
                                              seed=record.seed, prompt=record.prompt, preset=record.preset,
                                              params={**record.params, "conformed_from": record.id},
                                              created=utc_now(), label=f"conform of {record.id}"))
            fresh_session.save()
            data = {**report_data(plan, result, old, new),
                    "user_markers_lost": [{"time": m.time, "name": m.name} for m in users_lost]}
            atomic_write_json(out / REPORT_NAME, data)
            exported = [] if args.no_delivery else _deliver(args, fresh_session, take_id, result.take, new, title,
                                                            data, sub_progress(progress, 0.8, 1.0), cancel)
    for line in report_lines(data):
        print(line, file=sys.stderr)
    print(f"wrote {out}: mix.wav ({result.take.n_samples} samples at {result.take.sample_rate} Hz), "
          f"{len(result.take.stems)} stems, {REPORT_NAME}; session {fresh_session.path}", file=sys.stderr)
    print(f"delivery: {len(exported)} files in {out / DELIVERY_FOLDER}" if not args.no_delivery
          else "delivery folder skipped", file=sys.stderr)
    return 0


def _deliver(args: argparse.Namespace, session: Session, take_id: str, take: Take, new: Timeline, title: str,
             data: dict[str, Any], progress: ProgressFn, cancel: CancelEvent) -> list[Path]:
    """The delivery as ``score`` writes it, the recut sequence with the score's tracks, and the report beside them."""
    folder = args.output / DELIVERY_FOLDER
    exported = export_take(session, folder, take_id=take_id, force=args.force, video_tracks=args.video_audio,
                           timeline_audio=args.timeline_audio, midi_start=args.midi_start, progress=progress,
                           cancel=cancel)
    tracks = score_tracks(session, take, args.output.resolve(), folder)
    exported.append(deliver_roundtrip(new, tracks, folder, title, force=args.force))
    atomic_write_json(folder / REPORT_NAME, data)
    atomic_write_bytes(folder / REPORT_TEXT, ("\n".join(report_lines(data)) + "\n").encode())
    add_to_delivery(folder, "conform", {REPORT_NAME: "what the conform kept, moved and re-planned (JSON)",
                                        REPORT_TEXT: "what the conform kept, moved and re-planned (text)"})
    return [*exported, folder / REPORT_NAME, folder / REPORT_TEXT]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "conform",
        help="move a scored session's music onto a recut of its timeline",
        description="Conform a session scored from timeline OLD onto the recut NEW_TIMELINE: the whole bars "
                    "of kept and moved spans keep the old take's samples, the bridges between them are "
                    "re-planned with the same seed (procedural) or time-stretched (audio-only engines), hits "
                    "follow the picture. OUT receives the take, a session, conform.json and the delivery folder.",
        formatter_class=DefaultsHelpFormatter,
    )
    p.add_argument("session", type=Path, help="the .expotion session scored from the old timeline")
    p.add_argument("new_timeline", type=Path, help="the recut (.otio, FCP 7 .xml, .fcpxml, .edl)")
    p.add_argument("--old", type=Path, default=None,
                   help="the timeline the session was scored from (default: the sequence the session records)")
    p.add_argument("-o", "--output", type=Path, required=True, help="output folder (empty, or use --force)")
    p.add_argument("--take", default=None, help="take id to conform (default: the session's chosen take)")
    p.add_argument("--no-cache", action="store_true", help="analyse the new sequence's clips anew")
    p.add_argument("--no-delivery", action="store_true", help="write the take, session and report only")
    add_delivery_arguments(p, sample_rate_help="delivery sample rate in Hz: the take's own (a conform keeps its "
                           "samples; `expotion export --sample-rate` delivers it at another)")
    p.set_defaults(run=run)
