"""Tempo and meter from motion rhythm, hits and energy; the tempo map bent so hits land on the 16th grid."""

from __future__ import annotations

import numpy as np
import pytest

from expotion_engine.engines.procedural.fit import ACCENT_SHIFTS_S, fit_tempo_map, grid_cost
from expotion_engine.engines.procedural.hits import Hit
from expotion_engine.engines.procedural.tempo import choose_tempo_meter, estimate_tempo, fold_tempo
from tests.factories import make_control_track


def _pulses(bpm: float, accent_every: int = 1):
    """Energy that rises sharply once per beat at ``bpm`` (a gesture on every beat), every ``accent_every``-th
    gesture bigger than the others."""
    def energy(t: np.ndarray) -> np.ndarray:
        beats = t * bpm / 60.0
        phase = beats % 1.0
        big = np.where(np.floor(beats) % accent_every == 0, 1.0, 0.35) if accent_every > 1 else 1.0
        return 0.3 + 0.5 * big * np.exp(-phase / 0.08)
    return energy


def _on_16th(tempo_map, time: float) -> float:
    """Distance (s) from ``time`` to the nearest 16th of the map."""
    beat = round(tempo_map.beat_at(time) * 4) / 4
    return abs(tempo_map.time_at(beat) - time)


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


def test_rhythmic_motion_sets_the_tempo_even_against_the_energy() -> None:
    track = make_control_track(12.0, energy=_pulses(93.0), seed=4)
    choice = choose_tempo_meter(track, [], mean_energy=0.95, low=80.0, high=130.0)
    assert choice.source == "motion"
    assert choice.bpm == pytest.approx(93.0, rel=0.02)
    assert choice.terms["motion"] > choice.terms["energy"]


def test_regular_hits_set_the_tempo_when_the_motion_has_no_rhythm() -> None:
    track = make_control_track(16.0, energy=0.5, seed=5)
    # strong hits 3, 2 and 5 eighths apart at 104 BPM, with a few milliseconds of detection scatter
    eighths = np.cumsum([3, 2, 5, 4, 3, 6, 2, 5])
    times = 1.0 + eighths * 30.0 / 104.0 + np.array([3, -4, 2, 0, -3, 4, -2, 1]) * 1e-3
    hits = [Hit(float(t), 0.9) for t in times]
    choice = choose_tempo_meter(track, hits, mean_energy=0.2, low=80.0, high=130.0)
    assert choice.source == "hits"
    eighth = 30.0 / choice.bpm
    misses = [abs((b - a) / eighth - round((b - a) / eighth)) for a, b in zip(times, times[1:], strict=False)]
    assert max(misses) < 0.1


def test_energy_decides_without_motion_or_hits() -> None:
    track = make_control_track(12.0, energy=0.5, seed=6)
    calm = choose_tempo_meter(track, [], mean_energy=0.1, low=80.0, high=130.0)
    lively = choose_tempo_meter(track, [], mean_energy=0.9, low=80.0, high=130.0)
    assert calm.source == lively.source == "energy"
    assert lively.bpm > calm.bpm + 15


def test_meter_follows_a_sway_in_threes_unless_the_preset_fixes_it() -> None:
    waltz = make_control_track(14.0, energy=_pulses(120.0, accent_every=3), seed=7)
    march = make_control_track(14.0, energy=_pulses(120.0, accent_every=4), seed=7)
    assert choose_tempo_meter(waltz, [], 0.5, 90.0, 140.0).numerator == 3
    assert choose_tempo_meter(march, [], 0.5, 90.0, 140.0).numerator == 4
    assert choose_tempo_meter(waltz, [], 0.5, 90.0, 140.0, meter=4).numerator == 4


IRREGULAR = [1.93, 3.41, 4.02, 6.77, 8.15, 10.58, 11.31, 13.9]


def test_irregular_hits_land_on_16ths_within_the_bend_limit() -> None:
    hits = [Hit(t, s) for t, s in zip(IRREGULAR, [1.0, 0.6, 0.8, 0.9, 0.5, 1.0, 0.7, 0.8], strict=True)]
    straight = fit_tempo_map(20.0, 100.0, 4, hits, max_bend=0.0)
    fit = fit_tempo_map(20.0, 100.0, 4, hits, max_bend=0.06, search=0.06, bounds=(80.0, 120.0))
    fitted = [p for p in fit.placements if p.fitted]
    assert len(fitted) >= 7 and fit.report["hits_fitted"] == len(fitted)
    for p in fitted:  # each accent on its 16th, at the hit or at most 30 ms after it (10 ms before)
        shift = fit.tempo_map.time_at(p.beat) - p.hit.accent_time
        assert ACCENT_SHIFTS_S[0] - 1e-6 <= shift <= ACCENT_SHIFTS_S[-1] + 1e-6
        assert p.beat * 4 == pytest.approx(round(p.beat * 4))
    assert sum(_on_16th(fit.tempo_map, p.hit.accent_time) < 1e-6 for p in fitted) >= 4
    assert sum(_on_16th(straight.tempo_map, t) < 0.03 for t in IRREGULAR) < len(fitted)
    base = fit.report["base_bpm"]
    before = [c.bpm for c in fit.tempo_map.tempos if c.time < fit.cadence_time - 2.5]
    assert all(abs(b / base - 1) <= 0.06 + 1e-9 for b in before)
    steps = [abs(b / a - 1) for a, b in zip(before, before[1:], strict=False)]
    assert max(steps) <= 0.08  # neighbouring segments stay close: no lurching between hits


def test_strong_hit_prefers_a_downbeat_and_weak_ones_may_take_16ths() -> None:
    fit = fit_tempo_map(12.0, 120.0, 4, [Hit(4.1, 1.0, "boom")])
    assert fit.placements[0].beat % 4 == 0
    assert fit.report["hits_on_downbeat"] == 1
    assert grid_cost(8.0, 4) < grid_cost(9.0, 4) < grid_cost(9.5, 4) < grid_cost(9.25, 4)


def test_hits_too_close_to_fit_are_left_unfitted_and_reported() -> None:
    hits = [Hit(3.0, 1.0, "a"), Hit(3.13, 0.6, "too close")]
    fit = fit_tempo_map(12.0, 100.0, 4, hits, max_bend=0.02)
    assert [p.fitted for p in fit.placements] == [True, False]
    assert fit.report["hits_fitted"] == 1


def test_a_user_cue_is_fitted_before_a_stronger_detected_hit() -> None:
    cue = Hit(5.0, 0.8, "door", kind="cue")
    rival = Hit(5.45, 1.0, "flash")
    fit = fit_tempo_map(14.0, 100.0, 4, [cue, rival], max_bend=0.03)
    placed = {p.hit.name: p.fitted for p in fit.placements}
    assert placed["door"]


def test_ending_is_a_ritardando_onto_a_downbeat_before_the_end() -> None:
    duration = 11.3
    fit = fit_tempo_map(duration, 110.0, 4, [])
    assert fit.cadence_beat % 4 == 0
    assert fit.tempo_map.time_at(fit.cadence_beat) == pytest.approx(fit.cadence_time)
    assert 1.2 - 1e-9 <= duration - fit.cadence_time <= 0.35 * duration
    last_bar = [c.bpm for c in fit.tempo_map.tempos if c.time >= fit.tempo_map.time_at(fit.cadence_beat - 4) - 1e-9]
    assert last_bar == sorted(last_bar, reverse=True) and last_bar[-1] < 0.95 * last_bar[0]


def test_final_cadence_lands_on_a_strong_late_hit() -> None:
    duration = 16.0
    late = Hit(13.37, 0.95, "door slams")
    fit = fit_tempo_map(duration, 96.0, 4, [Hit(4.2, 0.8), late], max_bend=0.06, search=0.06, bounds=(80.0, 110.0))
    assert all(p.fitted for p in fit.placements)
    assert fit.report["cadence_on_hit"]
    assert fit.cadence_time == pytest.approx(late.accent_time)
    assert fit.tempo_map.time_at(fit.cadence_beat) == pytest.approx(late.accent_time)


def test_rubato_eases_into_each_fitted_hit_and_still_lands_it() -> None:
    hits = [Hit(3.3, 1.0), Hit(7.1, 1.0)]
    fit = fit_tempo_map(14.0, 80.0, 4, hits, max_bend=0.06, rubato=0.08)
    tempo_map = fit.tempo_map
    for p in fit.placements:
        assert ACCENT_SHIFTS_S[0] - 1e-6 <= tempo_map.time_at(p.beat) - p.hit.accent_time <= ACCENT_SHIFTS_S[-1] + 1e-6
        into = tempo_map.bpm_at(p.hit.accent_time - 0.05)
        earlier = tempo_map.bpm_at(p.hit.accent_time - 60.0 / 80.0 * 1.5)
        after = tempo_map.bpm_at(p.hit.accent_time + 0.05)
        assert into < 0.95 * earlier and after > into


def test_anticipated_accent_is_what_the_map_fits() -> None:
    cut = Hit(5.0, 1.0, "cut", cause="cut", accent_time=4.98)
    fit = fit_tempo_map(12.0, 100.0, 4, [cut])
    assert cut.event_time == 5.0 and cut.accent_time == 4.98
    assert fit.tempo_map.time_at(fit.placements[0].beat) == pytest.approx(4.98, abs=1e-6)


def test_beats_fall_on_the_gestures_of_a_rhythmic_motion() -> None:
    from dataclasses import replace

    from expotion_engine.engines.procedural.compose import compose
    from expotion_engine.types import GenerationRequest
    from tests.engines.procedural.hit_tracks import control_track, synth_preset

    bpm, phase = 104.0, 0.3  # gestures a third of a beat after music time 0, so an unbent grid misses them by 170 ms
    track = control_track(16.0, [(5.37, 0.9, "cut")], pulse_bpm=bpm)
    track = replace(track, values=np.roll(track.values, int(round(phase * 60.0 / bpm * track.rate)), axis=0))
    score = compose(GenerationRequest(controls=track, preset=synth_preset("upbeat-pop"), seed=2))
    assert score.info["tempo_source"] == "motion"
    assert score.info["hit_fit"]["landed_30ms"] == 1 and score.info["hit_fit"]["pulses_fitted"] >= 1
    gestures = (np.arange(40) + phase) * 60.0 / bpm
    gestures = gestures[(gestures > 3.0) & (gestures < score.info["cadence_time"] - 2.5)]
    beats = score.tempo_map.beat_times(16.0)
    on_beat = [np.min(np.abs(beats - g)) <= 0.03 for g in gestures]
    assert len(on_beat) >= 10 and np.mean(on_beat) >= 0.8
