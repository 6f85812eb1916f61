"""render_score end to end: exact length, stems that null against the mix, loudness and true peak, cancel, errors."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from expotion_engine.engines.procedural.render import render_score
from expotion_engine.engines.procedural.score import Part
from expotion_engine.errors import Cancelled, EngineError
from expotion_engine.types import Note


@pytest.fixture(scope="module")
def rendered(groove, make_score):
    """One 8 s groove rendered at 48 kHz (shared: rendering is the slow part)."""
    score = make_score(groove(8.0), 8.0)
    return score, render_score(score, 48000)


@pytest.mark.parametrize(("duration", "sample_rate"), [(2.3456, 48000), (1.0001, 44100), (0.3, 22050)])
def test_length_is_exact_and_everything_is_stereo_float32(duration, sample_rate, groove, make_score):
    score = make_score(groove(duration), duration)
    rendering = render_score(score, sample_rate)
    n = round(duration * sample_rate)
    assert set(rendering.stems) == {p.name for p in score.parts}
    for audio in (*rendering.stems.values(), rendering.premix, rendering.mix):
        assert audio.shape == (2, n)
        assert audio.dtype == np.float32
        assert np.all(np.isfinite(audio))


def residual_db(mix: np.ndarray, parts: list[np.ndarray]) -> float:
    """Null test: the mix minus the sum of the parts, against the mix, in dB."""
    residual = mix.astype(np.float64) - np.sum(np.asarray(parts, dtype=np.float64), axis=0)
    return float(10 * np.log10(np.sum(residual**2) / np.sum(mix.astype(np.float64) ** 2)))


def test_stems_null_against_the_mix(rendered):
    """The delivered stems sum to the printed mix, though the bus low-passes, compresses and limits it."""
    _, rendering = rendered
    assert residual_db(rendering.mix, list(rendering.stems.values())) < -60.0
    assert rendering.info["stems_null_db"] < -60.0
    assert rendering.info["limiter_max_reduction_db"] > 0.0 or rendering.info["glue_max_reduction_db"] > 0.0
    assert all(np.abs(stem).max() > 1e-3 for stem in rendering.stems.values())
    # the premix (before the bus) does not null: the bus changes the sound, and the stems carry that change
    assert residual_db(rendering.premix * (np.abs(rendering.mix).max() / np.abs(rendering.premix).max()),
                       list(rendering.stems.values())) > -40.0


@pytest.mark.parametrize("bits", [16, 24])
def test_stems_null_at_every_bit_depth(rendered, bits):
    """Quantised to integer PCM (no dither), the stems still null to the quantisation noise."""
    _, rendering = rendered
    scale = 2.0 ** (bits - 1) - 1

    def pcm(x: np.ndarray) -> np.ndarray:
        return np.round(np.clip(x, -1.0, 1.0) * scale) / scale

    floor = -6.02 * bits + 10.0  # four stems' rounding noise against a mix about -14 dB below full scale
    assert residual_db(pcm(rendering.mix), [pcm(s) for s in rendering.stems.values()]) < min(-60.0, floor + 20.0)


@pytest.mark.parametrize("target", [-14.0, -10.0])
def test_stems_and_premix_never_clip_even_for_loud_targets(target, groove, make_score, lufs):
    notes = tuple(Note(36, 0.5 * i, 0.5 * i + 0.1, 127, 9) for i in range(8))
    parts = (*groove(4.0), Part("hits", "electronic_drums", notes, gain_db=6.0))
    rendering = render_score(make_score(parts, 4.0), 48000, loudness_lufs=target)
    assert np.abs(rendering.premix).max() <= 10 ** (-1.0 / 20) + 1e-6
    for audio in rendering.stems.values():
        assert np.abs(audio).max() < 1.0
    assert rendering.info["stems_null_db"] < -60.0
    assert abs(lufs(rendering.mix, 48000) - target) <= 0.5


def test_mix_meets_loudness_and_true_peak_targets(rendered, lufs, fft_true_peak_db):
    _, rendering = rendered
    assert abs(lufs(rendering.mix, 48000) - -14.0) <= 0.5
    assert fft_true_peak_db(rendering.mix) <= -1.0
    premix = lufs(rendering.premix, 48000)
    assert premix == pytest.approx(rendering.info["premix_lufs"], abs=0.05)
    assert premix <= -14.0 + 0.05  # on target, or lower where the stems need headroom
    assert rendering.info["loudness_lufs"] == pytest.approx(lufs(rendering.mix, 48000), abs=0.05)
    assert rendering.info["limiter_max_reduction_db"] >= 0.0


def test_other_targets_are_met(groove, make_score, lufs, fft_true_peak_db):
    score = make_score(groove(4.0), 4.0)
    rendering = render_score(score, 48000, loudness_lufs=-23.0, true_peak_db=-3.0)
    assert abs(lufs(rendering.mix, 48000) - -23.0) <= 0.5
    assert fft_true_peak_db(rendering.mix) <= -3.0


def test_loud_target_is_limited_not_clipped(groove, make_score, lufs, fft_true_peak_db):
    rendering = render_score(make_score(groove(4.0), 4.0), 48000, loudness_lufs=-11.0)
    assert fft_true_peak_db(rendering.mix) <= -1.0
    assert rendering.info["limiter_max_reduction_db"] > 1.0
    assert abs(lufs(rendering.mix, 48000) - -11.0) <= 0.5


def test_impossible_loudness_stays_under_the_ceiling(make_score, fft_true_peak_db):
    notes = tuple(Note(36, 0.25 * i, 0.25 * i + 0.1, 127, 9) for i in range(16))
    kick = Part("drums", "drums", notes, gain_db=12.0)
    rendering = render_score(make_score((kick,), 4.0), 48000, loudness_lufs=-3.0)
    assert fft_true_peak_db(rendering.mix) <= -1.0
    assert rendering.info["loudness_lufs"] < -3.5


def test_same_score_renders_the_same(groove, make_score):
    score = make_score(groove(3.0), 3.0)
    a, b = render_score(score, 48000), render_score(score, 48000)
    np.testing.assert_array_equal(a.mix, b.mix)
    for name in a.stems:
        np.testing.assert_array_equal(a.stems[name], b.stems[name])


def test_seed_changes_the_noise(groove, make_score):
    a = render_score(make_score(groove(2.0), 2.0, seed=1), 48000)
    b = render_score(make_score(groove(2.0), 2.0, seed=2), 48000)
    assert not np.array_equal(a.stems["drums"], b.stems["drums"])


def test_reverb_tail_fades_out_instead_of_being_cut(make_score):
    chord = tuple(Note(p, 1.5, 2.9, 100) for p in (60, 64, 67))
    part = Part("harmony", "piano", chord, effects={"reverb": 1.0, "delay": 1.0})
    rendering = render_score(make_score((part,), 3.0), 48000)
    stem = rendering.stems["harmony"]
    assert np.abs(stem[:, -1]).max() < 1e-4
    window = 2400
    rms = [float(np.sqrt(np.mean(stem[:, a:a + window] ** 2))) for a in range(72000, 144000 - window, window)]
    assert rms[0] > 0
    assert max(np.abs(np.diff(stem[:, -4800:], axis=1)).max(axis=1)) < 0.05  # no step at the end
    assert rms[-1] < 0.05 * max(rms)


def test_silent_score_renders_silence(make_score):
    rendering = render_score(make_score((Part("drums", "drums", ()),), 1.0), 48000)
    assert not np.any(rendering.mix)
    assert rendering.info["loudness_lufs"] is None


def test_progress_reaches_one_and_never_goes_back(groove, make_score):
    seen: list[float] = []
    render_score(make_score(groove(2.0), 2.0), 48000, progress=lambda f, m: seen.append(f))
    assert seen[-1] == 1.0
    assert all(b >= a for a, b in zip(seen, seen[1:], strict=False))


def test_cancel_before_start_raises_cancelled(groove, make_score):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        render_score(make_score(groove(2.0), 2.0), 48000, cancel=cancel)


def test_cancel_during_rendering_stops_it(groove, make_score):
    cancel = threading.Event()
    seen: list[str] = []

    def progress(fraction: float, message: str) -> None:
        seen.append(message)
        if fraction > 0:
            cancel.set()

    with pytest.raises(Cancelled):
        render_score(make_score(groove(4.0), 4.0), 48000, progress=progress, cancel=cancel)
    assert not any("limiting" in m for m in seen)


@pytest.mark.parametrize(
    ("part", "words"),
    [
        (Part("keys", "harpsichord", ()), ["'keys'", "'harpsichord'", "piano"]),
        (Part("keys", "piano", (), effects={"flanger": 0.5}), ["'keys'", "'flanger'", "reverb"]),
        (Part("keys", "piano", (), effects={"reverb": 2.0}), ["'keys'", "'reverb'", "0 to 1"]),
        (Part("drums", "drums", (Note(20, 0.0, 0.1, 100, 9),)), ["'drums'", "20", "36"]),
    ],
)
def test_bad_parts_raise_one_clear_engine_error(part, words, make_score):
    with pytest.raises(EngineError) as err:
        render_score(make_score((part,), 1.0), 48000)
    for word in words:
        assert word in str(err.value)


def test_bad_targets_raise_engine_error(groove, make_score):
    score = make_score(groove(1.0), 1.0)
    with pytest.raises(EngineError, match="Sample rate"):
        render_score(score, 100)
    with pytest.raises(EngineError, match="True-peak"):
        render_score(score, 48000, true_peak_db=3.0)
