"""The three stages of a batch clip as plain functions over the CLI's pipeline (analyse, generate, export).

They run the same way in a Ray worker or in this process (the benchmark's one-after-another
baseline); each returns its value with the seconds it took. Only small values cross between
stages: the session and the ControlTrack (never frames); the take travels through the clip's
staging folder, so the output folder must be the same path on every node.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from expotion_engine.types import ControlTrack
from studio.batch.folders import clip_folder, publish
from studio.batch.jobs import BatchJob, session_for
from studio.export.job import safe_name
from studio.pipeline import analyze_session, export_take, generate_take
from studio.session import SESSION_SUFFIX, Session

#: engines whose generation wants a GPU and a long-lived model (one actor per GPU)
GPU_ENGINES = frozenset({"musicgen"})


@dataclass(frozen=True)
class Timed:
    """A stage's value and the seconds it took in its worker."""

    value: Any
    seconds: float


def use_cache_dir(cache_dir: str | None) -> None:
    """Point this worker's analysis cache at ``cache_dir`` (EXPOTION_CACHE_DIR), when one is given."""
    if cache_dir:
        os.environ["EXPOTION_CACHE_DIR"] = cache_dir


def analyse(job: BatchJob, cache_dir: str | None = None) -> Timed:
    """The clip's session and ControlTrack (from the analysis cache when it is there)."""
    use_cache_dir(cache_dir)
    started = time.perf_counter()
    session = session_for(job)
    controls: ControlTrack = analyze_session(session)
    return Timed((session, controls), time.perf_counter() - started)


def generate(session: Session, controls: ControlTrack, staging: Path, engine: Any = None) -> Timed:
    """Generate the take into ``staging`` (created whole); returns the session holding its record."""
    started = time.perf_counter()
    try:
        generate_take(session, controls, folder=staging, engine=engine)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Timed(session, time.perf_counter() - started)


def export(session: Session, staging: Path, out: Path, name: str) -> Timed:
    """Save the session and write the delivery into ``staging``, then rename it to the clip's folder."""
    started = time.perf_counter()
    try:
        session.save(staging / f"{safe_name(session.title)}{SESSION_SUFFIX}")
        export_take(session, staging / "delivery")
        # what the new delivery folder holds: the exported files and the delivery's own manifest
        relative = sorted(str(p.relative_to(staging)) for p in (staging / "delivery").rglob("*") if p.is_file())
        publish(staging, clip_folder(out, name))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Timed(relative, time.perf_counter() - started)
