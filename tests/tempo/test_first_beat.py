"""A loop that starts on a beat at (or a few ms after) 0 s: the first beat is found and bar 1 is there.

Music made for picture, and most generated takes, start on the downbeat. The MIDI maps are
read back with mido (:class:`tests.tempo.test_lead_in.MidiGrid`), not through :class:`TempoMap`.
The 70 BPM loop has hats on the beat: with eighth-note hats as loud as the kick's rise it
reads as 140 BPM (an octave question, not this test's).
"""

from __future__ import annotations

import numpy as np
import pytest

from expotion_engine.tempo import analyze_tempo
from expotion_engine.tempo.build import LEAD_IN_RANGE, MIN_LEAD_IN_S
from tests.tempo.synth import beat_times, kick_hat_loop
from tests.tempo.test_lead_in import RATE, MidiGrid, early, midi_files

SECONDS = 16.0
CASES = [(bpm, start, 4) for bpm in (70.0, 100.0, 120.0, 150.0) for start in (0.0, 0.004, 0.012)]
CASES += [(bpm, 0.0, 0) for bpm in (70.0, 100.0, 120.0, 150.0)] + [(120.0, 0.012, 0)]


@pytest.mark.parametrize(("bpm", "start", "accent_every"), CASES)
def test_a_loop_from_0_s_has_its_first_beat_and_bar_1_there(bpm: float, start: float, accent_every: int) -> None:
    beats = beat_times(((int((SECONDS - start) * bpm / 60.0) + 1, bpm, bpm),), start)
    beats = beats[beats < SECONDS]
    audio = kick_hat_loop(beats, RATE, accent_every=accent_every, hats_per_beat=1 if bpm < 90 else 2)
    result = analyze_tempo(audio, RATE)

    assert len(result.beats) == len(beats), (result.beats[:3], beats[:3])
    assert np.abs(result.beats - beats).max() < 0.012
    assert result.downbeats[0] == result.beats[0]
    assert ("note" not in result.info) == bool(accent_every), result.info  # the accent is heard, or 4/4 assumed

    tempos = result.tempo_map.tempos
    if start < MIN_LEAD_IN_S:
        assert len(tempos) == 1 and tempos[0].bpm == pytest.approx(bpm, rel=0.002), tempos
    on_grid = beats[1:] if early(start, bpm) else beats
    first_whole = 1 if early(start, bpm) else 0
    bar_truth = beats[::4].copy()
    bar_truth[0] = 0.0 if early(start, bpm) else bar_truth[0]
    for writer, midi in midi_files(result.tempo_map, audio).items():
        grid = MidiGrid(midi)
        assert all(bpm / LEAD_IN_RANGE <= b <= bpm * LEAD_IN_RANGE for b in grid.bpms()), (writer, grid.bpms())
        whole = grid.beat_seconds(first_whole + len(on_grid))[first_whole:]
        assert np.abs(whole - on_grid).max() < 0.012, (writer, whole[:3], on_grid[:3])
        assert grid.meters[0] == (0, 4, 4), (writer, grid.meters)  # bar 1 from the first beat: no pickup bar
        bars = grid.bar_seconds(len(bar_truth))
        assert np.abs(bars - bar_truth).max() < 0.012, (writer, bars[:3], bar_truth[:3])
