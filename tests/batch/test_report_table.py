"""The batch table a user reads: a manifest row whose range is backwards shows its error, not a negative length."""

from __future__ import annotations

from pathlib import Path

from studio.batch.jobs import BatchJob
from studio.batch.report import ClipRecord, table


def test_a_backwards_range_has_no_length_in_the_table() -> None:
    backwards = ClipRecord.for_job(BatchJob("noaudio", Path("noaudio.mp4"), start=5.0, end=2.0))
    backwards.status, backwards.error = "failed", "The out point (2.0 s) must be after the in point (5.0 s)."
    forwards = ClipRecord.for_job(BatchJob("base6", Path("base6.mp4"), start=1.0, end=4.0))
    rows = table([forwards, backwards]).splitlines()
    assert rows[1].split()[:3] == ["base6", "queued", "3.00"]
    assert rows[2].split()[:3] == ["noaudio", "failed", "The"] and "-3.00" not in rows[2]
