"""The batch's record: per clip status, timings, outputs and error sentence, kept in ``batch.json``."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from studio.batch.jobs import BatchJob

REPORT_NAME = "batch.json"
STATUSES = ("queued", "running", "done", "skipped", "failed", "cancelled")
FINISHED = ("done", "skipped", "failed", "cancelled")


@dataclass
class ClipRecord:
    """What happened to one clip of the batch."""

    name: str
    video: str
    start: float | None
    end: float | None
    status: str = "queued"
    stage: str = ""
    error: str = ""
    folder: str = ""
    outputs: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    duration_s: float | None = None

    @classmethod
    def for_job(cls, job: BatchJob) -> ClipRecord:
        return cls(job.name, str(job.video), job.start, job.end, duration_s=job.duration)


@dataclass
class BatchProgress:
    """Counts for the whole batch, given to the progress callback after every change."""

    total: int
    done: int
    skipped: int
    failed: int
    cancelled: int
    running: int
    elapsed_s: float
    eta_s: float | None


def progress_of(clips: list[ClipRecord], started: float) -> BatchProgress:
    """The batch's counts and an ETA from the clips finished so far in this run (skipped ones excluded)."""
    count = {status: sum(c.status == status for c in clips) for status in STATUSES}
    elapsed = time.monotonic() - started
    worked = count["done"] + count["failed"]
    left = count["queued"] + count["running"]
    eta = elapsed / worked * left if worked else None
    return BatchProgress(len(clips), count["done"], count["skipped"], count["failed"], count["cancelled"],
                         count["running"], elapsed, eta)


def summary(clips: list[ClipRecord], wall_s: float) -> dict[str, Any]:
    """Totals and throughput (clips per minute and seconds of video per second of wall time) of this run."""
    done = [c for c in clips if c.status == "done"]
    seconds = sum(c.duration_s or 0.0 for c in done)
    return {
        **{status: sum(c.status == status for c in clips) for status in FINISHED},
        "wall_s": round(wall_s, 3),
        "clips_per_min": round(len(done) / wall_s * 60.0, 3) if wall_s > 0 else None,
        "x_real_time": round(seconds / wall_s, 3) if wall_s > 0 else None,
    }


def write_report(out: Path, clips: list[ClipRecord], info: dict[str, Any], wall_s: float) -> Path:
    """Write ``batch.json`` atomically (a reader never sees half a file)."""
    path = out / REPORT_NAME
    data = {"version": 1, **info, "summary": summary(clips, wall_s), "clips": [asdict(c) for c in clips]}
    temp = path.with_name(f".{REPORT_NAME}.tmp")
    temp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(temp, path)
    return path


def table(clips: list[ClipRecord]) -> str:
    """A plain-text table of the clips: status, video seconds, stage seconds and the error, one row each."""
    header = ("clip", "status", "video s", "analyse s", "generate s", "export s", "note")

    def seconds(value: float | None) -> str:
        return "" if value is None else f"{value:.2f}"

    rows = [header] + [
        (c.name, c.status, seconds(c.duration_s), seconds(c.timings.get("analyse_s")),
         seconds(c.timings.get("generate_s")), seconds(c.timings.get("export_s")), c.error)
        for c in clips
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header) - 1)]
    return "\n".join("  ".join([*(r[i].ljust(widths[i]) for i in range(len(widths))), r[-1]]).rstrip() for r in rows)
