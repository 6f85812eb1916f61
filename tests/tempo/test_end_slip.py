"""A loop cut at the end of the file keeps its tempo to the last beat.

On 180 BPM rock that stops at the file's end, librosa's tracker bunched its last beats onto
the off-beat kick and hi-hats (18.97, 19.21, 19.50 s for 19.00, 19.33, 19.67), and the map
ended on a 219 BPM tempo change a DAW would play.
"""

from __future__ import annotations

import numpy as np
import pytest

from expotion_engine.tempo import analyze_tempo
from tests.tempo.synth import ROCK_4_4, beat_times, click_track, drum_loop

RATE = 22050


@pytest.mark.parametrize("count", [61, 62])
def test_rock_cut_at_the_end_keeps_its_tempo(count: int) -> None:
    beats = beat_times(((count, 180.0, 180.0),))
    audio = drum_loop(beats, ROCK_4_4, RATE, tail=0.0)[: int(20.0 * RATE)]
    result = analyze_tempo(audio, RATE)
    assert [round(t.bpm) for t in result.tempo_map.tempos] == [180], result.tempo_map.tempos
    heard = beats[beats < 19.9]
    assert np.abs(result.beats[-1] - heard[-1]) < 0.02, result.beats[-4:]


def test_a_real_step_at_the_end_stays() -> None:
    """Clicks that slow from 120 to 96 BPM for their last five beats keep that change in the map."""
    beats = beat_times(((32, 120.0, 120.0), (5, 96.0, 96.0)))
    result = analyze_tempo(click_track(beats, 4, RATE), RATE)
    assert [round(t.bpm) for t in result.tempo_map.tempos] == [120, 96], result.tempo_map.tempos
