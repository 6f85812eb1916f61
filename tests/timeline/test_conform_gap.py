"""A gap of the old sequence in the conform's report: cut when the recut closes it up (and a hit on it lost for
that reason), still in the cut when the recut keeps a gap there.

The old cut is shot a (100 frames), a 30-frame gap, shot b (100 frames), scored by the
procedural engine from controls with a hit (cause ``edit``) on each edit point, the gap's
first frame among them (as the QA's "dgap" recut).
"""

from __future__ import annotations

from functools import cache

import pytest

from expotion_engine.engines.procedural.engine import ProceduralEngine
from expotion_engine.types import GenerationRequest, Take
from studio.commands.conform import report_data, report_lines
from studio.timeline.conform import conform_plan
from studio.timeline.conform_audio import conform_take
from tests.timeline import recut
from tests.timeline.recut import FPS, Shots

OLD = (("a", 0, 100), (None, 0, 30), ("b", 0, 100))
CLOSED = (("a", 0, 100), ("b", 0, 100))
SHORTER = (("a", 0, 100), (None, 0, 12), ("b", 0, 100))


def _request(shots: Shots) -> GenerationRequest:
    """The procedural request for ``shots``: each shot's energy (low in a gap), a hit on every edit point."""
    return recut.request(shots, motion=False)


@cache
def _scored() -> Take:
    return ProceduralEngine().generate(_request(OLD))


def _report(new_shots: Shots) -> tuple[dict, list[str]]:
    old_tl, new_tl = recut.cut(OLD, "old"), recut.cut(new_shots, "new")
    plan = conform_plan(old_tl, new_tl)
    result = conform_take(_scored(), plan, old_tl, new_tl, _request(new_shots))
    data = {**report_data(plan, result, old_tl, new_tl), "user_markers_lost": []}
    return data, report_lines(data)


def test_a_gap_the_recut_closes_is_cut_and_its_hit_lost_with_it() -> None:
    plan = conform_plan(recut.cut(OLD, "old"), recut.cut(CLOSED, "new"))
    assert plan.removed == () and plan.removed_gaps == ((100, 130),)
    assert plan.to_new(110) is None and plan.to_new(130) == 100
    assert plan.report(FPS)[-1] == "removed old 100-130 (1.20 s) (a gap)"

    data, lines = _report(CLOSED)
    assert data["removed_old_frames"] == [] and data["removed_old_gaps"] == [[100, 130]]
    cut = [line.split() for line in lines if line.startswith("cut ")]
    assert cut == [["cut", "-", "100-130", "gap"]]
    lost = {h["name"]: h for h in data["hits_lost"]}
    assert lost["edit 1"]["reason"] == "its frames were cut from the sequence"
    assert round(lost["edit 1"]["old_time"] * FPS) == 100  # inside the cut row's old frames
    assert "  lost hit edit 1 at 4.000 s: its frames were cut from the sequence" in lines


def test_a_gap_the_recut_keeps_is_not_cut_and_its_hit_not_lost_ascut() -> None:
    plan = conform_plan(recut.cut(OLD, "old"), recut.cut(OLD, "same"))
    assert plan.removed_gaps == () and plan.gaps == ((100, 130, 100),) and plan.to_new(110) == 110

    data, lines = _report(OLD)
    assert data["removed_old_gaps"] == [] and not any(line.startswith("cut ") for line in lines)
    fates = {h["name"]: h for h in [*data["hits_kept"], *data["hits_replanned"], *data["hits_lost"]]}
    assert fates["edit 1"]["reason"] != "its frames were cut from the sequence"


@pytest.mark.parametrize(("new_shots", "removed", "kept"), [
    (SHORTER, ((112, 130),), ((100, 112, 100),)),  # 18 of its 30 frames closed up
    ((("a", 0, 90), (None, 0, 30), ("b", 0, 100)), (), ((100, 130, 90),)),  # shot a trimmed: the gap moves
    ((("b", 0, 100), (None, 0, 30), ("a", 0, 100)), ((100, 130),), ()),  # shots swapped: it is another gap
])
def test_an_old_gap_is_known_by_its_neighbours(new_shots: Shots, removed: tuple, kept: tuple) -> None:
    plan = conform_plan(recut.cut(OLD, "old"), recut.cut(new_shots, "new"))
    assert plan.removed_gaps == removed and plan.gaps == kept
