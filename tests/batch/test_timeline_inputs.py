"""A batch's jobs from one sequence written as .otio, FCP 7 XML, FCPXML and EDL at 23.976, 25, 29.97 DF and
59.94 DF: every format gives the same shots at the same exact source frames, each starting at the timecode its
video file carries."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.batch.inputs import read_jobs
from studio.batch.jobs import session_for
from studio.timecode import TimecodeRate, format_frames, parse_rate, to_frame
from tests.timeline.build import SHOTS, SUFFIXES
from tests.timeline.tagged import TAG_HOURS, tag, tagged_shots, write_tagged

RATES = ("23.976", "25", "29.97", "59.94")  # 29.97 and 59.94 count drop frame


@pytest.fixture(scope="module", params=RATES)
def shots(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[TimecodeRate,
                                                                                              list[Path]]:
    """Three 2 s generated shots at the rate, the first two tagged with camera timecode (copied, not re-encoded)."""
    rate = parse_rate(request.param)
    return rate, tagged_shots(tmp_path_factory.mktemp(f"shots_{request.param}"), rate)


@pytest.mark.parametrize("adapter", list(SUFFIXES))
def test_every_edit_format_gives_the_same_exact_frames_and_timecodes(
        shots: tuple[TimecodeRate, list[Path]], adapter: str) -> None:
    rate, media = shots
    jobs = read_jobs(write_tagged(media, rate, adapter))

    zero = format_frames(0, rate)
    expected = [(f"{n:03d}_{path.stem}", path.resolve(), source_in, source_in + duration, tag(hour, rate) or zero)
                for n, (path, hour, (source_in, duration)) in enumerate(zip(media, TAG_HOURS, SHOTS, strict=True), 1)]
    assert [(job.name, job.video, to_frame(job.start, rate), to_frame(job.end, rate),
             format_frames(to_frame(float(job.timecode_start), rate), rate)) for job in jobs] == expected
    for job, (*_, start, end, label) in zip(jobs, expected, strict=True):
        session = session_for(job)  # what the batch's stages score: this range, delivered from this start
        assert session.timecode().rate == rate
        assert (to_frame(session.video_in, rate), to_frame(session.video_out, rate)) == (start, end)
        assert format_frames(to_frame(session.timecode_start, rate), rate) == label
