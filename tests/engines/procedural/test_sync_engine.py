"""Rendered takes land on the picture: hits with known, irregular times are heard within 40 ms, on the grid, unflammed.

Each case builds a ControlTrack directly (energy, valence, flow and body speed curves and
hit markers with their cause and calibrated strength), renders the take at 22050 Hz and
listens to the mix with librosa's onset detector (128-sample frames, 5.8 ms, so the
detector's own resolution stays well inside the 40 ms window; each onset backtracked to
the RMS minimum before it, as librosa's documentation suggests, since the onset
envelope is flat before an attack and its minimum there is noise). The score is
checked too: no two percussive onsets closer than 90 ms, nothing after the cadence.
Synth voices render the presets here (the accent timing is a property of the score, and
they render in well under real time).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import librosa
import numpy as np
import pytest

from expotion_engine.engines.procedural.accents import FLAM_S
from expotion_engine.engines.procedural.engine import ProceduralEngine
from expotion_engine.engines.procedural.parts.context import END_MARGIN_S
from expotion_engine.types import GenerationRequest, Take
from tests.engines.procedural.hit_tracks import control_track, sixteenth_offset, synth_preset

SR, HOP = 22050, 128
STRONG = 0.7
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Case:
    name: str
    preset: str
    duration: float
    hits: tuple[tuple[float, float, str], ...]
    density: float = 40.0
    min_spacing: float | None = None


CASES = (
    Case("odd times", "upbeat-pop", 13.0, ((1.37, 0.9, "cut"), (2.93, 0.6, "motion"), (4.41, 1.0, "cut"),
                                           (6.07, 0.75, "expression"), (7.72, 0.5, "motion"), (9.26, 0.95, "cut"))),
    Case("clustered", "dance", 12.0, ((2.03, 0.95, "cut"), (2.31, 0.6, "motion"), (2.57, 0.8, "motion"),
                                      (6.11, 0.9, "cut"), (6.42, 0.7, "expression"), (8.83, 0.85, "motion")),
         min_spacing=0.2),
    Case("near the end", "cinematic", 14.0, ((2.47, 0.8, "motion"), (5.86, 1.0, "cut"), (9.19, 0.7, "expression"),
                                             (11.63, 0.9, "cut"), (12.4, 0.6, "motion"), (13.3, 0.95, "cut"))),
    Case("sparse", "documentary", 12.0, ((3.33, 0.85, "cut"), (4.1, 0.4, "motion"), (7.94, 0.9, "motion"),
                                         (8.5, 0.3, "expression")), density=10.0),
    Case("swung", "lo-fi", 12.0, ((1.61, 0.7, "motion"), (3.87, 0.95, "cut"), (5.32, 0.8, "expression"),
                                  (7.58, 0.9, "cut"), (9.02, 0.6, "motion"))),
)


@pytest.fixture(scope="module")
def takes() -> dict[str, Take]:
    engine = ProceduralEngine()
    out = {}
    for case in CASES:
        preset = synth_preset(case.preset)
        if case.min_spacing is not None:
            preset.setdefault("hits", {})["min_spacing"] = case.min_spacing
        request = GenerationRequest(controls=control_track(case.duration, list(case.hits)), preset=preset, seed=3,
                                    sample_rate=SR,
                                    options={"hits_density": case.density})
        out[case.name] = engine.generate(request)
    return out


@pytest.fixture(scope="module")
def onsets(takes: dict[str, Take]) -> dict[str, np.ndarray]:
    return {name: detected_onsets(take) for name, take in takes.items()}


def detected_onsets(take: Take) -> np.ndarray:
    """Onset times (s) an independent detector finds in the mix, each backtracked to the energy minimum before it."""
    y = take.mix.mean(axis=0).astype(np.float32)
    rms = librosa.feature.rms(y=y, frame_length=4 * HOP, hop_length=HOP)[0]
    return librosa.onset.onset_detect(y=y, sr=SR, hop_length=HOP, backtrack=True, energy=rms, units="time")


def accents(take: Take) -> list[dict]:
    """The take's report entries of hits that got an accent."""
    return [h for h in take.info["hit_fit"]["per_hit"] if h["accent"] is not None]


def percussive_onsets(take: Take) -> np.ndarray:
    """Distinct onset times of the drum kit and of every accent note (bass and chord stabs) in the score."""
    at_accents = {round(h["accent"], 4) for h in accents(take)}
    times = [n.start for s in take.stems for n in s.notes
             if s.name == "drums" or (s.name in ("bass", "harmony") and round(n.start, 4) in at_accents)]
    return np.unique(np.round(times, 6))


@pytest.mark.slow
def test_strong_hits_are_heard_within_40_ms(takes: dict[str, Take], onsets: dict[str, np.ndarray]) -> None:
    heard, strong = 0, 0
    for name, take in takes.items():
        for hit in take.info["hit_fit"]["per_hit"]:
            if hit["strength"] < STRONG:
                continue
            strong += 1
            error = float(np.min(np.abs(onsets[name] - hit["event"])))
            heard += error <= 0.04
            log.info("%s: hit %.3f (%s) nearest onset %+.1f ms", name, hit["event"], hit["kind"], 1e3 * error)
    assert strong >= 15
    assert heard / strong >= 0.9, f"{heard} of {strong} strong hits heard within 40 ms"


def test_accents_sit_on_the_16th_grid(takes: dict[str, Take]) -> None:
    on_grid, total = 0, 0
    for take in takes.values():
        for hit in accents(take):
            total += 1
            on_grid += sixteenth_offset(take.tempo_map, hit["accent"]) <= 0.02
            assert hit["note_at_accent"]
    assert total >= 18
    assert on_grid / total >= 0.8, f"{on_grid} of {total} accents within 20 ms of a 16th"


def test_no_flams_in_the_score_or_the_mix(takes: dict[str, Take], onsets: dict[str, np.ndarray]) -> None:
    for name, take in takes.items():
        gaps = np.diff(percussive_onsets(take))
        assert gaps.size and gaps.min() >= FLAM_S - 1e-6, name
        heard = onsets[name]
        for hit in accents(take):
            near = heard[np.abs(heard - hit["accent"]) < 2 * FLAM_S]
            assert np.all(np.diff(near) >= FLAM_S), f"{name}: onsets {np.round(near, 3)} around {hit['accent']}"


def test_nothing_after_the_cadence(takes: dict[str, Take]) -> None:
    for name, take in takes.items():
        cadence = take.info["cadence_time"]
        roll = take.tempo_map.time_at(take.tempo_map.beat_at(cadence) + 0.25) - cadence
        for stem in take.stems:
            late = [n for n in stem.notes if n.start > cadence + 1e-3
                    and not (n.start <= cadence + roll and n.end >= take.duration - END_MARGIN_S - 1e-3)]
            assert not late, f"{name}/{stem.name}: {late[:3]}"
        assert all(h["accent"] <= cadence + 1e-6 for h in accents(take))


def test_report_counts_what_landed(takes: dict[str, Take]) -> None:
    for take in takes.values():
        report = take.info["hit_fit"]
        offsets = [abs(h["grid_offset_s"]) for h in report["per_hit"]]
        assert report["landed_30ms"] == sum(o <= 0.03 for o in offsets)
        assert report["landed_60ms"] == sum(o <= 0.06 for o in offsets)
        assert report["accented"] == len(accents(take))
        assert sum(report["accent_kinds"].values()) == report["selected"] == len(report["per_hit"])


def test_rhythmic_motion_sets_the_tempo_and_hits_still_land() -> None:
    hits = [(2.12, 0.9, "cut"), (4.87, 0.8, "motion"), (7.3, 1.0, "cut")]
    track = control_track(12.0, hits, pulse_bpm=104.0)
    score = ProceduralEngine().compose(GenerationRequest(controls=track, preset=synth_preset("upbeat-pop"), seed=2))
    assert score.info["tempo_source"] == "motion"
    assert score.info["bpm"] == pytest.approx(104.0, rel=0.07)
    assert score.info["hit_fit"]["landed_30ms"] == 3
