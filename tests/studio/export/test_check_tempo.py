"""The delivery check's tempo-map comparison names each place the maps differ once."""

from __future__ import annotations

from studio.export.check_tempo import tempo_faults


def test_one_change_placed_a_few_microseconds_apart_is_one_fault() -> None:
    """MIDI's ticks put a REAPER change at 9.04 s at 9.040003 s: an edited tempo there is one phrase, not two."""
    maps = {"demo.mid": [(0.0, 74.5), (9.040003, 73.77)], "demo.rpp": [(0.0, 74.5), (9.04, 80.0)],
            "demo.dawproject": [(0.0, 74.5), (9.04, 73.77)]}
    assert tempo_faults(maps, 16.0) == ["at 9.040 s demo.mid 73.77 BPM, demo.rpp 80.00 BPM, demo.dawproject 73.77 BPM"]


def test_agreeing_maps_and_a_second_real_difference() -> None:
    same = [(0.0, 120.0), (4.0, 100.0)]
    assert tempo_faults({"a.mid": same, "b.rpp": same}, 8.0) == []
    off = [(0.0, 120.0), (4.0, 100.0), (6.0, 90.0)]
    assert tempo_faults({"a.mid": same, "b.rpp": off}, 8.0) == ["at 6.000 s a.mid 100.00 BPM, b.rpp 90.00 BPM"]
