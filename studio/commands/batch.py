"""``expotion batch INPUT -o OUT``: score many clips on Ray, one complete delivery folder per clip.

INPUT is a folder of videos, a CSV/JSON manifest or an editor timeline (one job per clip).
Each clip's folder has the layout ``expotion score`` writes; ``OUT/batch.json`` records every
clip's status, timings, outputs and error. Ray is an optional extra (``expotion-studio[batch]``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from expotion_engine.engines import ENGINES
from expotion_engine.errors import Cancelled
from studio.batch.inputs import JobDefaults, read_jobs
from studio.batch.jobs import BatchJob, with_defaults
from studio.batch.report import BatchProgress, table
from studio.batch.runner import BatchOptions, require_ray, run_batch
from studio.cli_help import DefaultsHelpFormatter
from studio.commands.score import add_musicgen_arguments, check_formats, engine_options
from studio.export.job import SAMPLE_RATES
from studio.preflight import check_output_path
from studio.progress_bar import progress_and_cancel
from studio.session import DEFAULT_PRESET


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "batch",
        help="score a folder, manifest or timeline of clips on Ray (this machine or a cluster)",
        description="Score many clips on Ray: a folder of videos, a CSV/JSON manifest (path, start, end, preset, "
                    "prompt, seed, engine, timecode_start, formats, name, title) or an editor timeline (.otio, FCP "
                    "XML, FCPXML, EDL, read as expotion score reads a sequence: one job per shot). OUT gets one "
                    "folder per clip, laid out like expotion score's, and batch.json. Complete clips are skipped "
                    "on a re-run.",
        formatter_class=DefaultsHelpFormatter,
    )
    p.add_argument("input", type=Path,
                   help="folder of videos, .csv/.json manifest or timeline; each clip's delivery starts at the "
                        "timecode its video file carries (else 00:00:00:00) unless its manifest row gives a "
                        "timecode_start")
    p.add_argument("-o", "--output", type=Path, required=True, help="batch output folder")
    p.add_argument("--preset", default=DEFAULT_PRESET, help="preset for clips whose row names none")
    p.add_argument("--prompt", default="", help="text prompt for clips whose row gives none")
    p.add_argument("--engine", choices=sorted(ENGINES), default="procedural", help="music engine")
    p.add_argument("--seed", type=int, default=0, help="random seed for clips whose row gives none")
    add_musicgen_arguments(p, "musicgen engine (for every clip scored with it)")
    p.add_argument("--format", "--formats", dest="formats", nargs="+", action="extend", default=None,
                   metavar="FORMAT", help="delivery formats for clips whose row names none (default: all)")
    p.add_argument("--sample-rate", type=int, choices=SAMPLE_RATES, default=48000, help="delivery sample rate (Hz)")
    p.add_argument("--address", default=None, metavar="ADDRESS",
                   help="an existing Ray cluster: auto (this machine's running cluster) or ray://host:port; "
                        "default: a local Ray started for this run")
    p.add_argument("--num-cpus", type=int, default=None, help="CPUs of the local Ray (default: all)")
    p.add_argument("--cache-dir", type=Path, default=None,
                   help="analysis cache folder shared by every worker (default: EXPOTION_CACHE_DIR or ~/.cache)")
    p.add_argument("--force", action="store_true", help="score complete clips again")
    p.set_defaults(run=run)


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}"


def jobs_from_args(args: argparse.Namespace) -> list[BatchJob]:
    """The batch's jobs: the input's clips with the command line's defaults and musicgen options."""
    check_formats(args.formats)
    defaults = JobDefaults(args.preset, args.prompt, args.seed, args.engine, tuple(args.formats or ()))
    options = engine_options(args)
    jobs = [with_defaults(job, defaults.formats, args.sample_rate, options)
            for job in read_jobs(args.input, defaults)]
    for job in jobs:
        check_formats(job.formats)
    return jobs


def run(args: argparse.Namespace) -> int:
    check_output_path(args.output, folder=True)
    jobs = jobs_from_args(args)
    require_ray()
    options = BatchOptions(args.output, args.force, args.address, args.num_cpus, args.cache_dir)
    print(f"batch: {len(jobs)} clips from {args.input} into {args.output} on "
          f"{'Ray at ' + args.address if args.address else 'a local Ray'}", file=sys.stderr)

    def started(dashboard: str | None) -> None:
        if dashboard:
            print(f"Ray dashboard: {dashboard}", file=sys.stderr)

    with progress_and_cancel("batch") as (bar, cancel):

        def show(state: BatchProgress) -> None:
            finished = state.done + state.skipped + state.failed + state.cancelled
            bar(finished / max(state.total, 1),
                f"{state.done} done, {state.skipped} skipped, {state.failed} failed, {state.running} running, "
                f"ETA {_clock(state.eta_s)}")

        result = run_batch(jobs, options, progress=show, cancel=cancel, info={"input": str(args.input.resolve())},
                           on_start=started)
    print(table(result.clips), file=sys.stderr)
    print(f"report: {result.report}", file=sys.stderr)
    if result.cancelled:
        kept = sum(c.status in ("done", "skipped") for c in result.clips)
        message = f"The batch was cancelled with {kept} complete clips kept; run it again to finish the rest."
        print(message, file=sys.stderr)
        raise Cancelled(message)
    return 1 if any(c.status == "failed" for c in result.clips) else 0
