"""The accent pass on composed scores: hits selected by density, accents exactly on the grid, stingers and swells
off it, soft styles without drums or loud stabs, no flams, nothing after the cadence."""

from __future__ import annotations

import numpy as np
import pytest

from expotion_engine.engines.procedural.accents import (
    CLEAR_AFTER_S,
    CLEAR_BEFORE_S,
    FLAM_S,
    FLURRY_S,
    SNAP_EARLY_S,
    SNAP_S,
    SOFT_VELOCITY,
)
from expotion_engine.engines.procedural.compose import compose
from expotion_engine.engines.procedural.fit import ACCENT_SHIFTS_S
from expotion_engine.engines.procedural.hits import Hit, HitSettings, select_hits
from expotion_engine.engines.procedural.score import Score
from expotion_engine.types import GenerationRequest, Marker
from tests.engines.procedural.hit_tracks import control_track, sixteenth_offset, synth_preset

ODD = [(1.43, 0.9, "cut"), (2.71, 0.55, "motion"), (3.98, 1.0, "cut"), (5.62, 0.8, "expression"),
       (7.09, 0.65, "motion"), (8.77, 0.95, "cut")]


def _score(preset: str, hits=ODD, duration: float = 12.0, seed: int = 4, density: float = 40.0, cues=(),
           bpm: float | None = None, max_bend: float | None = None, **preset_hits) -> Score:
    table = synth_preset(preset)
    table.setdefault("hits", {}).update(preset_hits)
    if max_bend is not None:
        table.setdefault("engine", {})["max_bend"] = max_bend
    request = GenerationRequest(controls=control_track(duration, list(hits)), preset=table, seed=seed,
                                options={"hits_density": density}, cues=tuple(cues), bpm=bpm)
    return compose(request)


def _report(score: Score) -> list[dict]:
    return score.info["hit_fit"]["per_hit"]


def test_density_keeps_the_strongest_hits_apart_and_every_cue() -> None:
    markers = [Marker(t, f"h{i}", "hit", strength=s) for i, (t, s) in
               enumerate([(1.0, 0.3), (1.2, 0.9), (3.0, 0.5), (5.0, 0.8), (5.4, 0.95), (7.0, 0.2), (9.0, 0.6)])]
    cue = Marker(7.2, "door", "cue", strength=0.1)
    only_cuts = HitSettings(density=10.0, min_spacing=1.0, strong=1.0)  # nothing here is strong: density thins all
    chosen = select_hits(markers, [cue], 12.0, only_cuts)
    assert [h.event_time for h in chosen] == [1.2, 5.4, 7.2]  # 2 detected per 12 s, the cue on top
    assert next(h for h in chosen if h.is_cue).strength >= 0.8
    more = select_hits(markers, [cue], 12.0, HitSettings(density=30.0, min_spacing=1.0, strong=1.0))
    assert [h.event_time for h in more] == [1.2, 3.0, 5.4, 7.2, 9.0]
    assert all(b.event_time - a.event_time >= 1.0 for a, b in zip(more, more[1:], strict=False))


def test_strong_hits_are_always_kept_and_density_thins_only_the_weaker() -> None:
    markers = [Marker(t, f"h{i}", "hit", strength=s) for i, (t, s) in
               enumerate([(1.0, 0.3), (1.2, 0.9), (3.0, 0.5), (5.0, 0.8), (5.4, 0.95), (5.5, 0.7), (7.0, 0.2),
                          (9.0, 0.6), (11.6, 0.9)])]
    sparse = select_hits(markers, [], 12.0, HitSettings(density=5.0, min_spacing=1.0))
    # every strong hit (>= 0.6) though 5 per minute allows one; 5.5 is one accent with 5.4; 11.6 is too close to the end
    assert [h.event_time for h in sparse] == [1.2, 5.0, 5.4, 9.0]
    assert all(h.strong for h in sparse)
    dense = select_hits(markers, [], 12.0, HitSettings(density=30.0, min_spacing=1.0))
    assert [h.event_time for h in dense] == [1.2, 3.0, 5.0, 5.4, 7.0, 9.0]  # weaker hits as the density allows
    assert [h.strong for h in dense] == [True, False, True, True, False, True]
    assert HitSettings.from_preset({"strong": 0.85}).strong == 0.85
    stricter = select_hits(markers, [], 12.0, HitSettings.from_preset({"strong": 0.85, "density": 5.0}))
    assert [h.event_time for h in stricter] == [1.2, 5.4]


def test_request_option_overrides_the_preset_density() -> None:
    few = _score("upbeat-pop", density=10.0, strong=1.0)
    many = _score("upbeat-pop", density=40.0, strong=1.0)
    assert few.info["hit_fit"]["selected"] == 2 < many.info["hit_fit"]["selected"] == len(ODD)
    assert {h["event"] for h in _report(few)} == {3.98, 8.77}


def test_uncalibrated_strengths_from_older_tracks_are_scaled_into_0_1() -> None:
    markers = [Marker(2.0, "a", "hit", strength=2.0), Marker(5.0, "b", "hit", strength=40.0)]
    chosen = select_hits(markers, [], 10.0, HitSettings(density=30.0))
    assert [round(h.strength, 3) for h in chosen] == [0.05, 1.0]


def test_cut_anticipation_moves_the_accent_not_the_event() -> None:
    score = _score("upbeat-pop", anticipation=0.02)
    for hit in _report(score):
        expected = hit["event"] - (0.02 if hit["cause"] == "cut" else 0.0)
        if hit["fitted"]:  # on the accent time or, where the grid asks, a little after it
            assert ACCENT_SHIFTS_S[0] - 1e-4 <= hit["accent"] - expected <= ACCENT_SHIFTS_S[-1] + 1e-4
    markers = {m.time: m for m in score.markers if m.kind == "hit"}
    assert set(markers) == {t for t, _, _ in ODD}
    assert {m.cause for m in markers.values()} == {"cut", "motion", "expression"}
    plain = _score("upbeat-pop")
    assert all(ACCENT_SHIFTS_S[0] - 1e-4 <= h["accent"] - h["event"] <= ACCENT_SHIFTS_S[-1] + 1e-4
               for h in _report(plain) if h["fitted"])


@pytest.mark.parametrize("preset", ["upbeat-pop", "dance", "cinematic", "lo-fi", "orchestral-tension"])
def test_drum_styles_accent_each_fitted_hit_exactly_on_the_grid(preset: str) -> None:
    score = _score(preset)
    drums = score.part("drums").notes
    fitted = [h for h in _report(score) if h["fitted"] and h["kind"] == "rhythmic"]
    assert len(fitted) >= (3 if preset == "dance" else 4)  # dance's grid is rigid: only hits its one tempo reaches
    for hit in fitted:  # the report rounds accents to 0.1 ms (a rigid grid's 16ths are not round numbers)
        assert sixteenth_offset(score.tempo_map, hit["accent"]) < 5e-5
        kicks = [n for n in drums if n.pitch == 36 and abs(n.start - hit["accent"]) < 5e-5]
        assert len(kicks) == 1 and kicks[0].velocity >= 84
        bass = [n for n in score.part("bass").notes if abs(n.start - hit["accent"]) < 5e-5]
        assert len(bass) == 1


@pytest.mark.parametrize("preset", ["upbeat-pop", "dance", "cinematic", "documentary", "lo-fi"])
@pytest.mark.parametrize("hits", [ODD, [(2.0, 0.9, "cut"), (2.22, 0.8, "motion"), (2.4, 0.7, "motion"),
                                        (2.61, 1.0, "cut"), (6.5, 0.9, "cut"), (6.58, 0.9, "motion")]],
                         ids=["odd", "clustered"])
def test_no_two_percussive_onsets_within_90_ms(preset: str, hits) -> None:
    score = _score(preset, hits=hits, min_spacing=0.15)
    at_accents = {round(h["accent"], 4) for h in _report(score) if h["accent"] is not None}
    times = [n.start for p in score.parts for n in p.notes
             if p.name == "drums" or (p.name in ("bass", "harmony") and round(n.start, 4) in at_accents)]
    gaps = np.diff(np.unique(np.round(times, 6)))
    assert gaps.min() >= FLAM_S - 1e-6
    struck = {round(h["accent"], 4) for h in _report(score) if h["kind"] in ("rhythmic", "stinger")}
    for accent in struck:  # tonal notes do not smear an accent either
        near = {round(n.start, 4) for p in score.parts for n in p.notes if abs(n.start - accent) < FLAM_S}
        assert near == {accent}


@pytest.mark.parametrize("preset", ["upbeat-pop", "cinematic", "ambient", "piano-solo"])
def test_hits_near_the_end_fold_into_the_cadence_and_nothing_follows_it(preset: str) -> None:
    hits = [(2.5, 0.8, "motion"), (6.2, 0.9, "cut"), (9.41, 0.95, "cut"), (10.3, 0.9, "cut"), (10.7, 0.8, "motion")]
    score = _score(preset, hits=hits, duration=12.0)
    cadence = score.info["cadence_time"]
    report = _report(score)
    assert all(h["accent"] is None or h["accent"] <= cadence + 1e-6 for h in report)
    assert {h["kind"] for h in report if h["event"] > cadence + 0.05} <= {"after cadence"}
    roll = score.tempo_map.time_at(score.tempo_map.beat_at(cadence) + 0.25) - cadence
    for part in score.parts:
        for n in part.notes:
            assert n.start <= cadence + 1e-3 or (n.start <= cadence + roll and n.end >= score.duration - 0.46), \
                (part.name, n)


def test_a_strong_hit_in_the_cadence_window_becomes_the_cadence() -> None:
    score = _score("upbeat-pop", hits=[(3.1, 0.8, "motion"), (9.6, 1.0, "cut")], duration=12.5)
    last = _report(score)[-1]
    assert last["kind"] == "cadence"
    assert score.info["cadence_time"] == pytest.approx(9.6, abs=1e-4)
    assert score.info["hit_fit"]["cadence_on_hit"]


def test_unfittable_hits_get_a_stinger_with_drums_and_a_swell_without() -> None:
    # a fixed 120 BPM grid (16ths every 125 ms): 3.19 s lies 60 ms from the nearest 16th and cannot be bent onto it;
    # its stinger comes as close to that 16th (3.25 s) as the hit allows: 30 ms late
    hits = [(3.0, 0.9, "cut"), (3.19, 0.9, "cut")]
    score = _score("upbeat-pop", hits=hits, bpm=120.0, max_bend=0.0, min_spacing=0.1)
    first, second = _report(score)
    assert first["kind"] == "rhythmic" and first["accent"] == pytest.approx(3.0, abs=1e-6)
    assert second["kind"] == "stinger" and not second["fitted"]
    assert second["accent"] == pytest.approx(3.19 + SNAP_S, abs=1e-6)
    at_stinger = {n.pitch for n in score.part("drums").notes if abs(n.start - second["accent"]) < 1e-6}
    assert 45 in at_stinger and 49 not in at_stinger  # the first hit's crash still rings: the low tom alone
    alone = _score("upbeat-pop", hits=[(3.0, 0.6, "cut"), (3.19, 0.9, "cut")], bpm=120.0, max_bend=0.0,
                   min_spacing=0.1)
    stinger = _report(alone)[1]
    assert stinger["kind"] == "stinger"
    assert {45, 49} <= {n.pitch for n in alone.part("drums").notes if abs(n.start - stinger["accent"]) < 1e-6}
    quiet = _score("upbeat-pop", hits=[(3.0, 0.9, "cut"), (3.19, 0.4, "motion")], bpm=120.0, max_bend=0.0,
                   min_spacing=0.1)
    swell = _report(quiet)[1]
    assert swell["kind"] == "swell"
    assert not [n for p in quiet.parts for n in p.notes if abs(n.start - 3.19) < 1e-3]  # a swell strikes nothing
    gain = quiet.part("harmony").automation["gain_db"]
    at = int(round(3.19 * gain.rate))
    assert gain.values[at] > gain.values[int(round(2.5 * gain.rate))] + 1.0
    ambient = _score("ambient", hits=[(3.0, 0.9, "cut"), (3.28, 0.5, "cut")], bpm=80.0, max_bend=0.0,
                     min_spacing=0.1)
    assert _report(ambient)[1]["kind"] == "swell"
    strong = _score("ambient", hits=[(3.0, 0.9, "cut"), (3.28, 0.9, "cut")], bpm=80.0, max_bend=0.0,
                    min_spacing=0.1)
    struck = _report(strong)[1]  # a strong hit is heard even off the grid: the voicing change strikes on it
    assert struck["kind"] == "soft" and -SNAP_EARLY_S - 1e-6 <= struck["accent"] - 3.28 <= SNAP_S + 1e-6
    assert [n for n in strong.part("harmony").notes if abs(n.start - struck["accent"]) < 1e-6]


@pytest.mark.parametrize("preset", ["ambient", "piano-solo"])
def test_soft_styles_turn_hits_into_swells_rubato_and_voicing_changes(preset: str) -> None:
    score = _score(preset, hits=[(2.2, 0.9, "cut"), (5.1, 1.0, "cut"), (8.05, 0.8, "expression")], duration=13.0)
    assert "drums" not in {p.name for p in score.parts}
    report = _report(score)
    assert {h["kind"] for h in report} <= {"soft", "swell", "cadence", "after cadence", "merged"}
    soft = [h for h in report if h["kind"] == "soft"]
    assert soft
    harmony = score.part("harmony")
    for hit in soft:
        change = [n for n in harmony.notes if abs(n.start - hit["accent"]) < 1e-6]
        assert len(change) >= 4 and max(n.velocity for n in change) <= SOFT_VELOCITY
    assert max(n.velocity for p in score.parts for n in p.notes) <= 110
    gain = harmony.automation["gain_db"]
    for hit in soft:
        t = hit["accent"]
        assert gain.values[int(round(t * gain.rate))] >= gain.values[int(round((t - 0.8) * gain.rate))] + 2.0
    tempo_map = score.tempo_map
    for hit in (h for h in soft if h["fitted"]):
        t = hit["accent"]
        assert tempo_map.bpm_at(t - 0.05) < tempo_map.bpm_at(t - 60.0 / tempo_map.bpm_at(t - 0.05) * 1.6)


def test_hit_values_are_explicit_about_event_and_accent_time() -> None:
    plain = Hit(4.0, 0.7)
    early = Hit(4.0, 0.7, cause="cut", accent_time=3.98)
    assert plain.accent_time == plain.event_time == 4.0
    assert early.event_time == 4.0 and early.accent_time == 3.98 and not early.is_cue
    assert Hit(4.0, 0.7, kind="cue").is_cue


def test_hits_density_is_an_engine_option_checked_for_its_range() -> None:
    from expotion_engine.engines.procedural.engine import ProceduralEngine
    from expotion_engine.errors import EngineError

    preset = synth_preset("upbeat-pop")
    preset["hits"]["strong"] = 1.0
    request = GenerationRequest(controls=control_track(12.0, ODD), preset=preset, seed=4)
    sparse = ProceduralEngine(hits_density=5.0).compose(request)
    assert sparse.info["hit_fit"]["selected"] == 1
    assert [h["event"] for h in _report(sparse)] == [3.98]
    with pytest.raises(EngineError, match="hits_density"):
        ProceduralEngine(hits_density=-3).compose(request)
    with pytest.raises(EngineError, match="no option"):
        ProceduralEngine(hit_density=5.0)


def test_soft_styles_ease_into_hits_unless_the_preset_says_otherwise() -> None:
    assert HitSettings.from_preset({}, style="ambient").rubato > 0
    assert HitSettings.from_preset({}, style="pop").rubato == 0
    assert HitSettings.from_preset({"rubato": 0.0}, style="solo").rubato == 0
    by_prompt = compose(GenerationRequest(controls=control_track(12.0, ODD[:3]), preset=synth_preset("upbeat-pop"),
                                          prompt="ambient", seed=4, options={"hits_density": 40.0}))
    assert by_prompt.info["style"] == "ambient"
    tempo_map = by_prompt.tempo_map
    eased = [h for h in _report(by_prompt) if h["fitted"] and h["kind"] == "soft"]
    assert eased
    for hit in eased:
        t = hit["accent"]
        assert tempo_map.bpm_at(t - 0.05) < tempo_map.bpm_at(t - 60.0 / tempo_map.bpm_at(t - 0.05) * 1.6)


def test_every_detected_hit_informs_the_tempo_not_only_the_selected_ones() -> None:
    # motion hits every 2 to 5 eighths at 112 BPM (steady motion curves, no rhythm there); only a few are accented
    rng = np.random.default_rng(3)
    eighths = np.cumsum(rng.choice([2, 3, 4, 5], size=30))
    times = 0.8 + eighths * 30.0 / 112.0
    hits = [(float(t), 0.5, "motion") for t in times if t < 14.0]
    score = _score("upbeat-pop", hits=hits, duration=16.0, density=8.0)
    assert score.info["hit_fit"]["selected"] <= 3 < len(hits)
    assert score.info["tempo_source"] == "hits"
    assert score.info["bpm"] == pytest.approx(112.0, rel=0.03)


def test_every_strong_hit_near_the_end_is_marked_before_or_on_the_cadence() -> None:
    hits = [(2.5, 0.8, "motion"), (6.2, 0.9, "cut"), (9.41, 0.95, "cut"), (10.3, 0.9, "cut"), (10.7, 0.8, "motion")]
    score = _score("cinematic", hits=hits, duration=12.0)
    report = _report(score)
    assert {h["event"] for h in report} == {t for t, _, _ in hits}  # strong hits are kept whatever the density
    assert all(h["kind"] in ("rhythmic", "stinger", "cadence") for h in report)
    assert score.info["cadence_time"] >= 10.7 - 1e-6


def test_a_flurry_of_hits_is_marked_by_one_drum_each_after_the_first() -> None:
    hits = [(3.0, 0.95, "cut"), (3.32, 0.8, "motion"), (3.61, 0.9, "motion"), (7.0, 0.9, "cut")]
    score = _score("upbeat-pop", hits=hits, min_spacing=0.2)
    drums = score.part("drums").notes
    struck = [h for h in _report(score) if h["kind"] in ("rhythmic", "stinger")]
    assert len(struck) == 4
    for previous, hit in zip(struck, struck[1:], strict=False):
        at = [n.pitch for n in drums if abs(n.start - hit["accent"]) < 1e-6]
        if hit["accent"] - previous["accent"] < FLURRY_S:
            assert at == [38]  # the snare alone: no kick, no crash
        else:
            assert 36 in at and len(at) == 2


@pytest.mark.parametrize("preset", ["upbeat-pop", "cinematic", "dance"])
def test_the_melody_answers_a_hit_instead_of_starting_on_it(preset: str) -> None:
    score = _score(preset)
    accents = [h["accent"] for h in _report(score) if h["kind"] in ("rhythmic", "stinger")]
    assert accents
    melody = score.part("melody").notes
    assert melody
    for accent in accents:
        near = [n for n in melody if -CLEAR_BEFORE_S < n.start - accent < CLEAR_AFTER_S]
        assert not near, (accent, near)
