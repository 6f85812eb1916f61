"""The conform's map: a recut's spans kept, moved or new against the old cut, and the old frames it dropped."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.timecode import TimecodeRate
from studio.timeline import Timeline, TimelineClip, TimelineError
from studio.timeline.conform import Span, conform_plan

A, B, C, D = (Path(f"/media/{name}.mp4") for name in "abcd")
PAL = TimecodeRate(25)


def cut(*shots: tuple[Path | None, int, int], rate: TimecodeRate = PAL) -> Timeline:
    """A sequence of ``(media, source_in, duration)`` shots laid end to end (media None: a gap)."""
    clips, record = [], 0
    for media, source_in, duration in shots:
        clips.append(TimelineClip(media.name if media else "gap", media, source_in, record, duration))
        record += duration
    return Timeline(Path("/cuts/v.otio"), "v", rate, 90000, tuple(clips))


VERSION_A = cut((A, 5, 40), (B, 10, 34), (C, 0, 40), (D, 0, 36))  # edits at 40, 74, 114; 150 frames


def test_an_unchanged_cut_is_kept_whole() -> None:
    plan = conform_plan(VERSION_A, VERSION_A)
    assert plan.spans == (Span(0, 150, 0, "keep"),)
    assert plan.removed == ()


def test_a_shot_trimmed_by_12_frames_moves_everything_after_it() -> None:
    plan = conform_plan(VERSION_A, cut((A, 5, 40), (B, 22, 22), (C, 0, 40), (D, 0, 36)))
    assert plan.spans == (Span(0, 40, 0, "keep"), Span(40, 138, 52, "move"))
    assert plan.removed == ((40, 52),)
    assert plan.to_new(80) == 68 and plan.to_new(45) is None


def test_a_removed_shot_is_reported_and_the_rest_closes_up() -> None:
    plan = conform_plan(VERSION_A, cut((A, 5, 40), (B, 10, 34), (D, 0, 36)))
    assert plan.spans == (Span(0, 74, 0, "keep"), Span(74, 110, 114, "move"))
    assert plan.removed == ((74, 114),)


def test_two_swapped_shots_both_move() -> None:
    plan = conform_plan(VERSION_A, cut((A, 5, 40), (C, 0, 40), (B, 10, 34), (D, 0, 36)))
    assert plan.spans == (Span(0, 40, 0, "keep"), Span(40, 80, 74, "move"), Span(80, 114, 40, "move"),
                          Span(114, 150, 114, "keep"))
    assert plan.removed == ()
    assert plan.to_new(80) == 46


def test_an_extended_shot_adds_new_frames_to_re_plan() -> None:
    plan = conform_plan(VERSION_A, cut((A, 5, 40), (B, 10, 34), (C, 0, 50), (D, 0, 36)))
    assert plan.spans == (Span(0, 114, 0, "keep"), Span(114, 124, None, "new"), Span(124, 160, 114, "move"))
    assert [line.split()[0] for line in plan.report(25.0)] == ["keep", "new", "move"]


def test_new_material_and_gaps_are_new() -> None:
    plan = conform_plan(VERSION_A, cut((A, 5, 40), (None, 0, 10), (Path("/media/e.mp4"), 0, 20)))
    assert plan.spans == (Span(0, 40, 0, "keep"), Span(40, 70, None, "new"))
    assert plan.removed == ((40, 150),)


def test_another_rate_is_refused() -> None:
    with pytest.raises(TimelineError, match="conform needs one rate"):
        conform_plan(VERSION_A, cut((A, 5, 40), rate=TimecodeRate(24)))
