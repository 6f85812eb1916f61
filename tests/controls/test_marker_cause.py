"""Marker.cause round-trips through dict form, and markers written before it existed still load."""

from __future__ import annotations

from expotion_engine.types import Marker


def test_cause_round_trips() -> None:
    marker = Marker(1.25, "cut 1", "hit", strength=0.9, cause="cut")
    assert Marker.from_dict(marker.to_dict()) == marker
    assert marker.to_dict()["cause"] == "cut"


def test_markers_without_cause_still_load() -> None:
    old = {"time": 0.5, "name": "hit 1", "kind": "hit", "color": None, "strength": 2.0}
    marker = Marker.from_dict(old)
    assert marker.cause is None and marker.strength == 2.0
