"""Tempo maps of click tracks and rendered drum loops with known beats, meters and tempo changes."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache

import numpy as np
import pytest

from expotion_engine.errors import AudioError, Cancelled
from expotion_engine.tempo import TempoAnalysis, analyze_tempo
from expotion_engine.tempo.build import LEAD_IN_RANGE
from tests.tempo.synth import ROCK_4_4, WALTZ_3_4, beat_times, click_track, drum_loop

RATE = 22050


@dataclass(frozen=True)
class Case:
    """A signal with known beats; ``pieces`` are ``(beats, bpm_from, bpm_to)``."""

    kind: str
    pieces: tuple[tuple[int, float, float], ...]
    beats_per_bar: int
    start: float
    first_downbeat: int = 0

    @property
    def beats(self) -> np.ndarray:
        return beat_times(self.pieces, self.start)

    @property
    def early(self) -> bool:
        """Whether the first beat comes too early for a lead-in beat within the allowed tempo range."""
        return LEAD_IN_RANGE * self.start < 60.0 / self.pieces[0][1]

    @property
    def on_grid(self) -> np.ndarray:
        """The beats the map puts on whole beats: all but an early first beat (map beat 0 stands for it)."""
        return self.beats[1:] if self.early else self.beats

    @property
    def music_start(self) -> float:
        """Where the lead-in ends and the music's own tempo begins."""
        return float(self.on_grid[0])

    def render(self) -> np.ndarray:
        if self.kind == "click":
            return click_track(self.beats, self.beats_per_bar, RATE, first_downbeat=self.first_downbeat)
        return drum_loop(self.beats, ROCK_4_4 if self.beats_per_bar == 4 else WALTZ_3_4, RATE)


CASES = {
    "click 120 4/4": Case("click", ((40, 120, 120),), 4, 0.5),
    "click 90 3/4 with pickup": Case("click", ((36, 90, 90),), 3, 0.3, first_downbeat=1),
    "drums 140 4/4": Case("drums", ((40, 140, 140),), 4, 0.4),
    "drums 100 3/4": Case("drums", ((36, 100, 100),), 3, 0.4),
    "drums 90 -> 120 step 4/4": Case("drums", ((24, 90, 90), (32, 120, 120)), 4, 0.2),
    "click 90 -> 120 step 3/4": Case("click", ((18, 90, 90), (24, 120, 120)), 3, 0.6, first_downbeat=2),
    "drums 90 -> 120 ramp 4/4": Case("drums", ((16, 90, 90), (16, 90, 120), (24, 120, 120)), 4, 0.2),
    # the tracker's last beat falls 0.1 s short of the last click in these two
    "click 90 4/4 to the end": Case("click", ((32, 90, 90),), 4, 0.7),
    "click 150 4/4 to the end": Case("click", ((24, 150, 150),), 4, 0.7),
}
CONSTANT = [name for name, case in CASES.items() if len(case.pieces) == 1]
STEPS = [name for name in CASES if "step" in name]


@cache
def analysis(name: str) -> TempoAnalysis:
    case = CASES[name]
    return analyze_tempo(case.render(), RATE)


def tempo_between(result: TempoAnalysis, t0: float, t1: float) -> np.ndarray:
    """The map's tempo at every detected-beat midpoint strictly inside ``(t0, t1)``."""
    times = np.linspace(t0, t1, 50)[1:-1]
    return np.array([result.tempo_map.bpm_at(t) for t in times])


@pytest.mark.parametrize("name", list(CASES))
def test_meter_and_first_downbeat(name: str) -> None:
    case, result = CASES[name], analysis(name)
    assert result.beats_per_bar == case.beats_per_bar
    assert result.tempo_map.meter_at(result.tempo_map.anchor).numerator == case.beats_per_bar
    truth = case.beats[case.first_downbeat::case.beats_per_bar].copy()
    if case.early and case.first_downbeat == 0:
        truth[0] = 0.0  # the map's beat 0 stands for an early first beat
    assert result.tempo_map.anchor == pytest.approx(truth[0], abs=0.02)
    bars = result.tempo_map.downbeat_times(case.beats[-1])
    assert np.abs(bars[: len(truth)] - truth[: len(bars)]).max() < 0.025


@pytest.mark.parametrize("name", list(CASES))
def test_map_beats_land_on_the_true_beats(name: str) -> None:
    case, result = CASES[name], analysis(name)
    assert len(result.beats) == len(case.beats)
    truth = case.on_grid
    grid = result.tempo_map.beat_times(truth[-1] + 0.1)
    error = np.abs(grid[:, None] - truth[None, :]).min(axis=0)
    assert error.max() < 0.02, f"worst map beat off by {error.max() * 1000:.1f} ms"


@pytest.mark.parametrize("name", CONSTANT)
def test_constant_tempo_within_one_percent_and_no_changes(name: str) -> None:
    case, result = CASES[name], analysis(name)
    bpm = case.pieces[0][1]
    inside = tempo_between(result, case.music_start, case.beats[-1])
    assert np.all(np.abs(inside / bpm - 1) < 0.01), inside
    changes = [c for c in result.tempo_map.tempos if c.time > case.music_start + 0.02]
    assert changes == [], "a steady track got tempo changes"


@pytest.mark.parametrize("name", STEPS)
def test_step_change_found_within_one_beat(name: str) -> None:
    case, result = CASES[name], analysis(name)
    change_at = case.beats[case.pieces[0][0]]
    changes = [c for c in result.tempo_map.tempos if c.time > case.music_start + 0.02]
    assert len(changes) == 1, changes
    assert abs(changes[0].time - change_at) < 60.0 / 120.0
    assert np.all(np.abs(tempo_between(result, case.music_start, change_at - 0.7) / 90 - 1) < 0.01)
    assert np.all(np.abs(tempo_between(result, change_at + 0.5, case.beats[-1]) / 120 - 1) < 0.01)


def test_ramp_is_followed_only_where_it_ramps() -> None:
    name = "drums 90 -> 120 ramp 4/4"
    case, result = CASES[name], analysis(name)
    beats = case.beats
    ramp_start, ramp_end = beats[17], beats[32]  # intervals change from the 17th beat to the 32nd
    changes = [c for c in result.tempo_map.tempos if c.time > case.music_start + 0.02]
    assert 2 <= len(changes) <= 10, "a ramp is a few smoothed steps, not one change per beat"
    assert all(ramp_start - 0.67 <= c.time <= ramp_end + 0.5 for c in changes), changes
    assert np.all(np.abs(tempo_between(result, case.music_start, ramp_start - 0.67) / 90 - 1) < 0.01)
    assert np.all(np.abs(tempo_between(result, ramp_end + 0.5, beats[-1]) / 120 - 1) < 0.01)
    midpoints = (beats[17:32] + beats[18:33]) / 2
    true_bpm = 60.0 / np.diff(beats)[17:32]
    mapped = np.array([result.tempo_map.bpm_at(t) for t in midpoints])
    assert np.all(np.abs(mapped / true_bpm - 1) < 0.06)


def test_silence_gets_a_default_map_with_a_note() -> None:
    result = analyze_tempo(np.zeros((2, RATE * 3), np.float32), RATE)
    assert result.tempo_map.tempos[0].bpm == 120.0 and len(result.tempo_map.tempos) == 1
    assert "no tempo detected" in result.info["note"]


def test_bad_input_and_cancel() -> None:
    with pytest.raises(AudioError, match="NaN"):
        analyze_tempo(np.full(1000, np.nan, np.float32), RATE)
    with pytest.raises(AudioError, match="Sample rate"):
        analyze_tempo(np.zeros(1000, np.float32), 0)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        analyze_tempo(CASES["click 120 4/4"].render(), RATE, cancel=cancel)
