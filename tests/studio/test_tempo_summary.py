"""The tempo a run reports: the one the take holds, not a lead-in's."""

from expotion_engine.types import TempoChange, TempoMap
from studio.commands.score import tempo_summary


def test_a_one_beat_lead_in_is_not_the_takes_tempo() -> None:
    tempo_map = TempoMap((TempoChange(0.0, 100.0), TempoChange(0.6, 120.0)))
    assert tempo_map.held_bpm(30.0) == 120.0
    assert tempo_summary(tempo_map, 30.0) == "120.0 BPM (100-120 over the take)"


def test_a_steady_take_names_one_tempo() -> None:
    assert tempo_summary(TempoMap.constant(92.5), 12.0) == "92.5 BPM"


def test_a_slowing_take_names_the_tempo_it_holds_longest_and_its_range() -> None:
    tempo_map = TempoMap((TempoChange(0.0, 74.5), TempoChange(4.0, 68.0), TempoChange(6.0, 61.0)))
    assert tempo_summary(tempo_map, 16.0) == "61.0 BPM (61-74 over the take)"
    assert tempo_summary(tempo_map, 5.0) == "74.5 BPM (68-74 over the take)"  # changes after the end do not count


def test_a_final_held_chord_is_not_the_takes_tempo() -> None:
    """A short take whose cadence chord is held long at the slowed tempo: more seconds, fewer beats."""
    tempo_map = TempoMap((TempoChange(0.0, 80.0), TempoChange(2.25, 45.0)))  # 3 beats, then 2.8 beats in 3.75 s
    assert tempo_map.held_bpm(6.0) == 80.0
    assert tempo_summary(tempo_map, 6.0) == "80.0 BPM (45-80 over the take)"
