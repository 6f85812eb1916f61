"""The keyframed timeline: values between keys, events with exact starts, validation."""

from __future__ import annotations

import pytest

from studio.demo.timeline import FaceParams, Move, Timeline, ease


def test_values_hold_then_ramp_then_hold() -> None:
    t = Timeline((Move(1.0, 0.5, {"mouth_open": 1.0}, "open", "linear"),
                  Move(2.0, 0.5, {"mouth_open": 0.2}, "close", "smooth")))
    assert t.value("mouth_open", 0.0) == 0.0
    assert t.value("mouth_open", 1.0) == 0.0
    assert t.value("mouth_open", 1.25) == pytest.approx(0.5)
    assert t.value("mouth_open", 1.9) == 1.0
    assert t.value("mouth_open", 2.25) == pytest.approx(0.6)  # smoothstep is half-way at half time
    assert t.value("mouth_open", 9.0) == pytest.approx(0.2)
    assert t.at(1.25) == FaceParams(mouth_open=0.5)


def test_out_easing_starts_fast_and_smooth_starts_slow() -> None:
    assert ease("out", 0.1) > 0.25 > ease("linear", 0.1) > ease("smooth", 0.1)
    assert ease("in", 1.0) == ease("out", 1.0) == 1.0


def test_events_report_exact_starts_kinds_and_peaks() -> None:
    t = Timeline((
        Move(2.0, 0.2, {"mouth_open": 1.0}, "mouth open", "out"),
        Move(1.0, 0.4, {"x": 0.1, "roll": 5.0}, "sway", "smooth"),
        Move(3.0, 0.2, {"mouth_open": 1.0}, "no change", "out"),  # already open: no event
    ))
    events = t.events()
    assert [(e.name, e.time, e.kind) for e in events] == [("sway", 1.0, "motion"), ("mouth open", 2.0, "expression")]
    assert events[0].peak == pytest.approx(1.2)
    assert events[1].peak == 2.0
    assert set(events[0].params) == {"x", "roll"}


def test_still_sections_are_the_gaps_between_moves() -> None:
    t = Timeline((Move(1.0, 0.5, {"x": 0.1}), Move(3.0, 0.5, {"x": 0.0})))
    assert t.still_sections(5.0, min_length=0.5) == ((0.0, 1.0), (1.5, 3.0), (3.5, 5.0))


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: FaceParams(mouth_open=1.5), "mouth_open"),
        (lambda: FaceParams(x="left"), "not a number"),
        (lambda: Move(0.0, 0.0, {"x": 0.1}), "duration"),
        (lambda: Move(0.0, 1.0, {"nose": 0.1}), "unknown face parameter"),
        (lambda: Move(0.0, 1.0, {"x": 0.1}, easing="bouncy"), "easing"),
        (lambda: Timeline((Move(0.0, 1.0, {"x": 0.1}, "a"), Move(0.5, 1.0, {"x": 0.2}, "b"))), "overlap"),
    ],
)
def test_bad_values_are_rejected(build, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()


def test_timelines_are_hashable_values() -> None:
    a = Timeline((Move(1.0, 0.5, {"x": 0.1}, "sway"),))
    b = Timeline((Move(1.0, 0.5, {"x": 0.1}, "sway"),))
    assert a == b and hash(a) == hash(b)
    assert a != Timeline((Move(1.0, 0.5, {"x": 0.2}, "sway"),))
