"""Fast rock drums are tracked at their tempo, not at half of it (the backbeat's snares alone).

At 150-170 BPM the snares on 2 and 4 are the loudest onsets and the comb over beat multiples
scores half the tempo as high as the tempo; the kick between those half-tempo beats says
they are every other beat. Slow loops (60-70 BPM with eighth-note hats, read at double) are
not fixed yet.
"""

from __future__ import annotations

import numpy as np
import pytest

from expotion_engine.tempo import analyze_tempo
from expotion_engine.tempo.beats import LOW_BETWEEN_RATIO, low_between_beats
from expotion_engine.tempo.onsets import envelopes
from tests.tempo.synth import ROCK_4_4, beat_times, click_track, drum_loop

RATE = 22050


@pytest.mark.parametrize("bpm", [150.0, 170.0])
def test_fast_rock_is_tracked_at_its_tempo(bpm: float) -> None:
    beats = beat_times(((40, bpm, bpm),), 0.1)
    result = analyze_tempo(drum_loop(beats, ROCK_4_4, RATE), RATE)
    assert result.info["median_bpm"] == pytest.approx(bpm, rel=0.01), result.info
    error = np.abs(result.beats[:, None] - beats[None, :]).min(axis=1)
    assert error.max() < 0.02 and len(result.beats) >= 0.9 * len(beats)  # every beat, not every other


def test_kick_between_half_tempo_beats_is_what_doubles() -> None:
    """The half-tempo beats of fast rock have the kick between them; the true beats and a click do not."""
    beats = beat_times(((40, 160.0, 160.0),), 0.1)
    rock = envelopes(drum_loop(beats, ROCK_4_4, RATE))
    click = envelopes(click_track(beats, 4, RATE))
    rate = rock.frame_rate
    assert low_between_beats(beats[1::2], rock.bands[0], rate) > LOW_BETWEEN_RATIO
    assert low_between_beats(beats, rock.bands[0], rate) < 1.0
    assert low_between_beats(beats, click.bands[0], rate) < 1.0
