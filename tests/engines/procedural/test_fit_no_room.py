"""A short range whose hits leave no cadence inside the tempo band still gets a valid map: the fallback cadence
is reached at the base tempo from the last fitted point, never starting its slow-down before it."""

from __future__ import annotations

import numpy as np
import pytest

from expotion_engine.engines.procedural.fit import fit_tempo_map
from expotion_engine.engines.procedural.hits import Hit


@pytest.mark.parametrize("duration", [2.0, 2.3, 2.6, 3.0])
@pytest.mark.parametrize("bpm", [62.0, 75.0, 83.3, 97.0])
def test_every_tempo_change_is_in_time_order_from_zero(duration: float, bpm: float) -> None:
    rng = np.random.default_rng(int(duration * 10 + bpm))
    for _ in range(6):
        times = np.sort(rng.uniform(0.2, duration - 0.2, rng.integers(1, 4)))
        hits = [Hit(float(t), 0.9, strong=True) for t in times]
        for bend in (0.03, 0.06):
            tempo_map = fit_tempo_map(duration, bpm, 4, hits, max_bend=bend, search=bend,
                                      bounds=(bpm * 0.95, bpm * 1.05)).tempo_map
            starts = [change.time for change in tempo_map.tempos]
            assert starts[0] == 0.0 and starts == sorted(starts)
