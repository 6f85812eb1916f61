"""Tempo from motion rhythm, folding into the preset range, and fitting hits onto the beat grid."""

from __future__ import annotations

import numpy as np
import pytest

from expotion_engine.engines.procedural.tempo import Hit, estimate_tempo, fit_tempo_map, fold_tempo
from tests.factories import make_control_track


def _pulses(bpm: float):
    """Energy that rises sharply once per beat at ``bpm`` (a gesture on every beat)."""
    def energy(t: np.ndarray) -> np.ndarray:
        phase = (t * bpm / 60.0) % 1.0
        return 0.3 + 0.5 * np.exp(-phase / 0.08)
    return energy


@pytest.mark.parametrize("bpm", [96.0, 112.0, 125.0])
def test_motion_tempo_is_recovered(bpm: float) -> None:
    track = make_control_track(12.0, energy=_pulses(bpm), seed=1)
    estimate = estimate_tempo(track, 80.0, 130.0)
    assert estimate.source == "motion"
    assert estimate.confidence > 0.3
    assert estimate.bpm == pytest.approx(bpm, rel=0.02)


def test_fast_motion_folds_into_the_range() -> None:
    track = make_control_track(12.0, energy=_pulses(180.0), seed=2)
    estimate = estimate_tempo(track, 70.0, 110.0)
    assert estimate.bpm == pytest.approx(90.0, rel=0.02)
    assert fold_tempo(200.0, 70, 110) == 100.0
    assert fold_tempo(50.0, 70, 110) == 100.0
    assert fold_tempo(300.0, 100, 110) == 110.0


def test_noise_has_low_confidence() -> None:
    track = make_control_track(12.0, energy=0.5, seed=3)
    assert estimate_tempo(track, 80.0, 130.0).confidence < 0.25


def test_hits_are_fitted_onto_beats_with_small_tempo_changes() -> None:
    hits = [Hit(2.71, 1.0, "a"), Hit(5.93, 0.5, "b"), Hit(8.12, 0.9, "c")]
    straight = fit_tempo_map(14.0, 100.0, 4, hits, max_bend=0.06)
    fit = fit_tempo_map(14.0, 100.0, 4, hits, max_bend=0.06, search=0.06, bounds=(80.0, 120.0))
    report = fit.report
    assert report["hits"] == 3
    assert report["hits_on_grid"] == 3 > straight.report["hits_on_grid"]
    assert report["largest_offset_s"] < 0.025
    beats = fit.tempo_map.beat_times(14.0)
    for hit in hits:
        assert np.min(np.abs(beats - hit.time)) < 1e-6
    base = report["base_bpm"]
    assert abs(base / 100.0 - 1) <= 0.06 + 1e-9
    before_cadence = [c.bpm for c in fit.tempo_map.tempos if c.time < fit.cadence_time - 2.4]
    assert all(abs(b / base - 1) <= 0.06 + 1e-9 for b in before_cadence)


def test_strong_hit_prefers_a_downbeat() -> None:
    fit = fit_tempo_map(12.0, 120.0, 4, [Hit(4.1, 1.0, "boom")])
    downbeats = fit.tempo_map.downbeat_times(12.0)
    assert np.min(np.abs(downbeats - 4.1)) < 1e-6
    assert fit.report["hits_on_downbeat"] == 1


def test_unfittable_hit_is_reported_with_its_offset() -> None:
    hits = [Hit(3.0, 1.0, "a"), Hit(3.37, 1.0, "too close")]
    fit = fit_tempo_map(12.0, 100.0, 4, hits, max_bend=0.02)
    assert fit.report["hits_on_grid"] == 1
    assert fit.report["largest_offset_s"] > 0.025


def test_ending_is_a_ritardando_onto_a_downbeat_before_the_end() -> None:
    duration = 11.3
    fit = fit_tempo_map(duration, 110.0, 4, [])
    assert fit.cadence_beat % 4 == 0
    assert fit.tempo_map.time_at(fit.cadence_beat) == pytest.approx(fit.cadence_time)
    assert 1.2 - 1e-9 <= duration - fit.cadence_time <= 0.35 * duration
    last_bar = [c.bpm for c in fit.tempo_map.tempos if c.time >= fit.tempo_map.time_at(fit.cadence_beat - 4) - 1e-9]
    assert last_bar == sorted(last_bar, reverse=True) and last_bar[-1] < 0.95 * last_bar[0]
