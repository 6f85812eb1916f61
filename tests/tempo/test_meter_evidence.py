"""Beats with no bar pattern get 4/4 from the first beat, said so, instead of a meter and pickup picked by noise."""

from __future__ import annotations

import numpy as np
import pytest

from expotion_engine.tempo import analyze_tempo
from expotion_engine.tempo.meter import chance_level
from tests.tempo.synth import unaccented_bursts

RATE = 32000


@pytest.mark.parametrize("seed", range(6))
def test_unaccented_beats_get_four_four_from_the_first_beat(seed: int) -> None:
    result = analyze_tempo(unaccented_bursts(seed, RATE), RATE)
    tempo_map = result.tempo_map
    assert result.beats_per_bar == 4 and result.info["meter"] == "4/4"
    assert result.downbeats[0] == result.beats[0]
    first = tempo_map.time_at(round(tempo_map.beat_at(result.beats[0])))  # the map beat that stands for it
    assert tempo_map.anchor == pytest.approx(first, abs=1e-9)
    assert tempo_map.meter_at(tempo_map.anchor).numerator == 4
    assert "no bar pattern above chance" in result.info["note"]
    assert result.info["meter_strength"] <= chance_level(len(result.beats), 4)


def test_chance_level_shrinks_with_more_beats() -> None:
    levels = [chance_level(n, 4) for n in (12, 24, 48, 96)]
    assert np.all(np.diff(levels) < 0) and levels[-1] < 0.1 < levels[0]
    assert chance_level(4, 4) == np.inf
