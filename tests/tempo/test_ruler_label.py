"""The timeline's tempo label and bars ruler show the meter and tempo its bar lines use, not the lead-in's.

A take's map opens with a lead-in and a short pickup bar (a 1/4 or 2/4 bar before bar 1);
the label once read that bar ("130 bpm 1/4") while the bar lines were four beats apart.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from expotion_engine.tempo import analyze_tempo  # noqa: E402
from expotion_engine.tempo.build import build_tempo_map  # noqa: E402
from expotion_engine.tempo.segments import segment_beats  # noqa: E402
from expotion_engine.types import TempoMap  # noqa: E402
from tests.tempo.synth import unaccented_bursts  # noqa: E402

RATE = 32000


def bar_beats(tempo_map: TempoMap, end: float) -> set[int]:
    """How many beats apart the map's bar lines are."""
    bars = tempo_map.downbeat_times(end)
    return {int(round(tempo_map.beat_at(b) - tempo_map.beat_at(a))) for a, b in zip(bars, bars[1:], strict=False)}


def timeline_with(qtbot, tempo_map: TempoMap, seconds: float):
    from ui.timeline import TimelineWidget
    from ui.waveform import compute_peaks

    timeline = TimelineWidget()
    qtbot.addWidget(timeline)
    timeline.resize(1200, 400)
    timeline.set_duration(seconds)
    timeline.set_take(compute_peaks(np.zeros((1, int(seconds * RATE)), np.float32), RATE), tempo_map)
    timeline.set_ruler("bars")
    return timeline


@pytest.mark.parametrize("seed", range(4))
def test_label_of_an_unaccented_take_shows_the_meter_of_its_bar_lines(qtbot, seed: int) -> None:
    audio = unaccented_bursts(seed, RATE)
    tempo_map = analyze_tempo(audio, RATE).tempo_map
    timeline = timeline_with(qtbot, tempo_map, len(audio) / RATE)
    (spacing,) = bar_beats(tempo_map, len(audio) / RATE)
    bpm, meter = timeline.tempo_label().split(" bpm ")
    assert meter == f"{spacing}/4"
    beats = tempo_map.beat_times(len(audio) / RATE)
    assert abs(int(bpm) - 60.0 / np.median(np.diff(beats))) <= 1  # the tempo of most of its beats
    assert 125 <= int(bpm) <= 135


def test_label_and_beat_labels_follow_bar_one_not_the_pickup(qtbot) -> None:
    """120 BPM from 0.3 s: a one-beat 200 BPM lead-in and a 1/4 pickup bar before 4/4 bars."""
    beats = 0.3 + 0.5 * np.arange(40)
    tempo_map = build_tempo_map(beats, segment_beats(beats), 4, 0)
    assert tempo_map.meter_at(0.0).numerator == 1 and tempo_map.bpm_at(0.0) == pytest.approx(200.0, rel=0.01)
    timeline = timeline_with(qtbot, tempo_map, 20.0)
    assert timeline.tempo_label() == "120 bpm 4/4"
    width = timeline._plot_width()
    timeline.set_view(0.0, width / 50.0 * 0.5)  # beats of the music 50 px apart: each is labelled
    labels = [label for _, label in timeline.bar_ticks()]
    assert labels[:5] == ["1", "1.2", "1.3", "1.4", "2"]
