"""End to end: the procedural engine's Take, checked with independent tools (librosa, pyloudnorm).

Each configuration is rendered once per module (10 s tracks) and shared by the tests.
"""

from __future__ import annotations

import librosa
import numpy as np
import pyloudnorm
import pytest

from expotion_engine.engines import get_engine
from expotion_engine.engines.procedural import ProceduralEngine
from expotion_engine.engines.procedural.harmony import parse_tonic
from expotion_engine.engines.procedural.render import render_score
from expotion_engine.errors import Cancelled, EngineError
from expotion_engine.types import GenerationRequest, Take
from studio.presets import load_preset
from tests.factories import make_control_track

SR = 48000
BPM = 112.0
HIT = 5.0
# Krumhansl-Kessler key profiles (C major / C minor)
MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def _request(energy: float, valence: float = 0.3, *, preset: str = "upbeat-pop", duration: float = 10.0,
             hits=(), **kw) -> GenerationRequest:
    track = make_control_track(duration, energy=energy, valence=valence, hits=hits, seed=4)
    return GenerationRequest(controls=track, preset=load_preset(preset).table, seed=9, sample_rate=SR, **kw)


@pytest.fixture(scope="module")
def engine() -> ProceduralEngine:
    return get_engine("procedural")


@pytest.fixture(scope="module")
def excited(engine: ProceduralEngine) -> Take:
    """Constant tempo (no hits), high energy, bright valence."""
    return engine.generate(_request(0.85, 0.4, bpm=BPM))


@pytest.fixture(scope="module")
def calm(engine: ProceduralEngine) -> Take:
    return engine.generate(_request(0.15, 0.4, bpm=BPM))


@pytest.fixture(scope="module")
def no_drums(engine: ProceduralEngine) -> Take:
    """Dark valence, a hit, "no drums", and a range that is not a whole number of samples per frame."""
    return engine.generate(_request(0.5, -0.8, preset="documentary", duration=9.37, hits=[HIT], prompt="no drums"))


def _mono(audio: np.ndarray, sr: int = 22050) -> np.ndarray:
    return librosa.resample(audio.mean(axis=0), orig_sr=SR, target_sr=sr)


def _lufs(audio: np.ndarray) -> float:
    return pyloudnorm.Meter(SR).integrated_loudness(audio.T.astype(np.float64))


def test_beat_tracker_recovers_the_tempo(excited: Take) -> None:
    sr, hop = 22050, 256
    cadence = excited.info["cadence_time"] - 60.0 / BPM * 4
    y = _mono(excited.mix, sr)[: int(cadence * sr)]
    _, beats = librosa.beat.beat_track(y=y, sr=sr, hop_length=hop, start_bpm=100, units="time")
    assert len(beats) >= 8
    period = np.polyfit(np.arange(len(beats)), beats, 1)[0]
    assert 60.0 / period == pytest.approx(BPM, rel=0.02)


def _key(audio: np.ndarray) -> tuple[int, str]:
    sr = 22050
    chroma = librosa.feature.chroma_cqt(y=_mono(audio, sr), sr=sr).sum(axis=1)
    scores = {}
    for tonic in range(12):
        for name, profile in (("major", MAJOR), ("minor", MINOR)):
            scores[(tonic, name)] = np.corrcoef(chroma, np.roll(profile, tonic))[0, 1]
    return max(scores, key=scores.get)


@pytest.mark.parametrize("fixture", ["excited", "no_drums"])
def test_chroma_key_of_the_harmony_stem_matches(fixture: str, request: pytest.FixtureRequest) -> None:
    take: Take = request.getfixturevalue(fixture)
    tonic, quality = _key(take.stem("harmony").audio)
    expected = "major" if take.info["mode"] in ("major", "lydian", "mixolydian") else "minor"
    assert (tonic, quality) == (parse_tonic(take.info["key"]), expected), take.info["chords"]


def test_stems_sum_to_the_mix(engine: ProceduralEngine) -> None:
    score = engine.compose(_request(0.6, duration=6.0))
    rendering = render_score(score, SR)
    total = sum(rendering.stems.values())
    np.testing.assert_allclose(total, rendering.mix, atol=1e-5)
    assert set(rendering.stems) == {p.name for p in score.parts}


@pytest.mark.parametrize("fixture", ["excited", "calm", "no_drums"])
def test_length_to_the_sample_and_no_clipping(fixture: str, request: pytest.FixtureRequest) -> None:
    take: Take = request.getfixturevalue(fixture)
    n = int(round(take.request["controls"]["source"]["end"] * SR - take.request["controls"]["source"]["start"] * SR))
    assert take.mix.shape == (2, n)
    assert all(s.audio.shape == (2, n) for s in take.stems)
    assert np.all(np.isfinite(take.mix))
    assert np.max(np.abs(take.mix)) <= 10 ** (-1.0 / 20) + 1e-4
    assert all(np.max(np.abs(s.audio)) < 1.0 for s in take.stems)


@pytest.mark.parametrize("fixture", ["excited", "calm", "no_drums"])
def test_ending_dies_away(fixture: str, request: pytest.FixtureRequest) -> None:
    take: Take = request.getfixturevalue(fixture)
    tail = take.mix[:, -int(0.02 * SR):]
    body = take.mix[:, : int(take.info["cadence_time"] * SR)]
    rms = lambda x: float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))  # noqa: E731
    assert rms(tail) < 0.05 * rms(body)


def test_higher_energy_gives_more_onsets_and_louder_output(excited: Take, calm: Take) -> None:
    def onset_rate(take: Take) -> float:
        onsets = librosa.onset.onset_detect(y=_mono(take.mix), sr=22050, units="time")
        return len(onsets) / take.duration

    assert onset_rate(excited) > 1.5 * onset_rate(calm)
    assert _lufs(excited.mix) > _lufs(calm.mix) + 2.0
    notes = lambda t: sum(len(s.notes) for s in t.stems) / t.duration  # noqa: E731
    assert notes(excited) > 2 * notes(calm)


def test_no_drums_prompt_leaves_out_the_drum_stem(no_drums: Take) -> None:
    assert "drums" not in [s.name for s in no_drums.stems]
    assert {"bass", "harmony", "melody"} <= {s.name for s in no_drums.stems}


def test_hit_gets_an_audible_accent_within_60_ms(no_drums: Take) -> None:
    sr, hop = 22050, 128
    y = _mono(no_drums.mix, sr)
    envelope = librosa.onset.onset_strength(y=y, sr=sr, hop_length=hop)
    times = librosa.times_like(envelope, sr=sr, hop_length=hop)
    onsets = librosa.onset.onset_detect(onset_envelope=envelope, sr=sr, hop_length=hop, units="time")
    assert np.min(np.abs(onsets - HIT)) <= 0.06
    near = envelope[np.abs(times - HIT) <= 0.06].max()
    assert near >= np.percentile(envelope, 95)


def test_take_is_complete(no_drums: Take) -> None:
    take = no_drums
    assert take.engine == "procedural" and take.seed == 9
    assert take.request["prompt"] == "no drums" and take.request["seed"] == 9
    kinds = {m.kind for m in take.markers}
    assert {"section", "hit"} <= kinds
    for key in ("key", "mode", "sections", "prompt", "hit_fit", "loudness_target_lufs", "render"):
        assert key in take.info
    assert take.info["hit_fit"]["hits"] == 1
    assert take.info["render"]["loudness_lufs"] == pytest.approx(take.info["loudness_target_lufs"], abs=0.5)
    assert {"compose_s", "render_s", "total_s"} <= set(take.timings)
    for stem in take.stems:
        assert stem.notes and stem.origin == "rendered"
        assert all(n.end <= take.duration for n in stem.notes)


def test_take_round_trips_through_take_json(no_drums: Take, tmp_path) -> None:
    loaded = Take.load(no_drums.save(tmp_path / "take"))
    assert [s.notes for s in loaded.stems] == [s.notes for s in no_drums.stems]
    assert loaded.tempo_map == no_drums.tempo_map


def test_same_seed_same_audio(engine: ProceduralEngine) -> None:
    a = engine.generate(_request(0.6, duration=4.0))
    b = engine.generate(_request(0.6, duration=4.0))
    np.testing.assert_array_equal(a.mix, b.mix)


def test_progress_and_cancel(engine: ProceduralEngine) -> None:
    import threading

    seen: list[float] = []
    engine.generate(_request(0.5, duration=3.0), progress=lambda f, m: seen.append(f))
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        engine.generate(_request(0.5, duration=3.0), cancel=cancel)


def test_unknown_engine_option_is_an_engine_error() -> None:
    with pytest.raises(EngineError, match="no option 'tempo'"):
        get_engine("procedural", tempo=3)
