"""Conform of an audio-only take: whole old bars kept, the bars between bridged by time-stretching the old bars.

The audio-only take is the procedural rendering of version A with its notes dropped and
the engine called ``musicgen`` (an engine that hands back audio only), so the conform
cannot re-plan and must cut, extend and stretch at bar lines.
"""

from __future__ import annotations

from dataclasses import replace

import librosa
import numpy as np
import pytest

from expotion_engine.types import Take
from studio.timeline.conform import conform_plan
from studio.timeline.conform_audio import ConformResult, conform_take, has_exact_notes, take_length
from studio.timeline.conform_bars import MAX_STRETCH
from studio.timeline.conform_stretch import stretch
from tests.timeline.recut import FPS, SR, VERSION_A, VERSION_B, cut, scored_a

ON_HIT_S = 0.040


@pytest.fixture(scope="module")
def audio_only() -> tuple[Take, ConformResult]:
    old_tl, new_tl = cut(VERSION_A, "a"), cut(VERSION_B, "b")
    rendered = scored_a()
    old = replace(rendered, engine="musicgen", stems=tuple(replace(s, notes=()) for s in rendered.stems))
    return old, conform_take(old, conform_plan(old_tl, new_tl), old_tl, new_tl)


def _onsets(mix: np.ndarray) -> np.ndarray:
    y = mix.mean(axis=0)
    rms = librosa.feature.rms(y=y, frame_length=512, hop_length=128)[0]
    return librosa.onset.onset_detect(y=y, sr=SR, hop_length=128, backtrack=True, energy=rms, units="time")


def test_pedalboard_stretch_keeps_the_beat_and_the_exact_length() -> None:
    clicks = np.zeros((1, SR * 2), np.float32)
    beat = SR // 2
    for k in range(4):
        clicks[0, k * beat + 1000:k * beat + 1200] = np.hanning(200)
    for factor in (1.08, 0.92):
        out = stretch(clicks, round(clicks.shape[1] * factor), SR)
        assert out.shape == (1, round(2 * SR * factor))
        for k in range(1, 4):
            where = (k * beat + 1100) * factor
            window = np.abs(out[0, round(where) - SR // 10:round(where) + SR // 10])
            assert abs(np.argmax(window) - SR // 10) <= 0.002 * SR  # each click moved by the factor, within 2 ms
    assert np.array_equal(stretch(clicks, clicks.shape[1], SR), clicks)


@pytest.mark.slow
def test_an_audio_only_take_keeps_whole_bars_and_b_s_exact_length(audio_only: tuple[Take, ConformResult]) -> None:
    old, result = audio_only
    take = result.take
    assert not has_exact_notes(old) and result.method == "stretch"
    assert take.n_samples == take_length(cut(VERSION_B, "b"), SR) and take.engine == "musicgen"
    assert all(not s.notes for s in take.stems)
    half = result.crossfade // 2 + 1
    keeps = result.bars.keeps
    assert len(keeps) >= 3
    for keep in keeps:
        first, last = keep.start + (half if keep.start else 0), keep.end - half
        for got, want in [(take.mix, old.mix), *((n.audio, o.audio) for n, o in zip(take.stems, old.stems,
                                                                                     strict=True))]:
            assert np.array_equal(got[:, first:last], want[:, first + keep.offset:last + keep.offset])


@pytest.mark.slow
def test_bridges_are_stretched_old_bars_within_the_limits_without_holes(audio_only: tuple[Take, ConformResult]
                                                                        ) -> None:
    old, result = audio_only
    mix = result.take.mix
    frame = SR // 100
    level = np.sqrt(np.mean(old.mix ** 2))
    assert result.bars.bridges
    for bridge in result.bars.bridges:
        assert bridge.bend <= MAX_STRETCH
        end = min(bridge.end, mix.shape[1] - SR // 2)  # the ending fades out
        chunk = mix[:, bridge.start:end]
        windows = np.sqrt(np.mean(chunk[:, : chunk.shape[1] // frame * frame].reshape(2, -1, frame) ** 2,
                                  axis=(0, 2)))
        assert np.sqrt(np.mean(chunk ** 2)) > 0.3 * level  # music, not silence
        assert np.percentile(windows, 5) > 0.02 * level  # no hole
    assert np.max(np.abs(mix)) <= 1.0


@pytest.mark.slow
def test_every_kept_hit_is_still_heard_within_40_ms(audio_only: tuple[Take, ConformResult]) -> None:
    _, result = audio_only
    onsets = _onsets(result.take.mix)
    hits = [m for m in result.take.markers if m.kind == "hit"]
    kept = [h for h in result.hits if h.fate == "kept"]
    assert hits and len(kept) == len(hits)
    assert max(float(np.min(np.abs(onsets - m.time))) for m in hits) <= ON_HIT_S
    lost = [h for h in result.hits if h.fate == "lost"]
    assert lost and all(h.reason for h in lost)
    assert {round(h.time * FPS) for h in kept} <= {round(m.time * FPS) for m in hits}
    # every edit of the recut is heard (a kept old hit) or reported as a hit the stretched music cannot mark
    heard = {round(m.time * FPS) for m in hits}
    for frame in cut(VERSION_B, "b").edit_frames:
        assert frame in heard or any(round(t * FPS) == frame for t in result.unaccented)
