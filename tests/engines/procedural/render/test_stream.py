"""A take rendered block by block to disk sounds as the same score rendered whole in memory.

The scores come from the engine (dance: synth parts with drive, chorus, a ping-pong delay,
reverbs and a bass mono-maker; cinematic: SoundFont parts), long enough for several render
blocks and bus segments at 22.05 kHz, and are rendered both ways.
"""

from __future__ import annotations

import numpy as np
import pytest

from expotion_engine.audio_io import WavAudio, WavWriter, iter_blocks
from expotion_engine.engines.procedural import ProceduralEngine
from expotion_engine.engines.procedural.engine import loudness_target
from expotion_engine.engines.procedural.render import bus, render_score
from expotion_engine.engines.procedural.render.instruments import NoteCache, NoteStream, instrument, render_notes
from expotion_engine.engines.procedural.render.stream import BLOCK, SEGMENT
from expotion_engine.engines.procedural.settings import validate_preset
from expotion_engine.types import GenerationRequest
from studio.presets import load_preset
from tests.factories import make_control_track

SR = 22050
SECONDS = 2.5 * SEGMENT / SR  # three bus segments, six render blocks


def _db(difference: np.ndarray, reference: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(np.square(difference, dtype=np.float64)) / np.sum(np.square(
        reference, dtype=np.float64))))


def _score_and_mix(preset: str):
    track = make_control_track(SECONDS, energy=0.7, valence=0.2, hits=[20.0, 61.0], seed=4)
    request = GenerationRequest(controls=track, preset=load_preset(preset).table, seed=9, sample_rate=SR)
    score = ProceduralEngine().compose(request)
    table = validate_preset(request.preset, "the preset")
    mix = {"loudness_lufs": loudness_target(table, float(score.info.get("mean_energy", 0.5))),
           "true_peak_db": float(table["mix"]["true_peak_db"]), "width": float(table["mix"]["width"]),
           "compression": float(table["mix"]["compression"])}
    return score, mix


@pytest.fixture(scope="module", params=["dance", "cinematic"])
def both(request):
    score, mix = _score_and_mix(request.param)
    blocks: list[tuple[int, np.ndarray]] = []
    whole = render_score(score, SR, to_disk=False, **mix)
    disk = render_score(score, SR, to_disk=True, on_audio=lambda a, block: blocks.append((a, block.copy())), **mix)
    return request.param, whole, disk, blocks


def test_the_disk_render_is_the_memory_render(both):
    preset, whole, disk, _ = both
    assert isinstance(disk.mix, WavAudio) and disk.premix is None
    mix = np.asarray(disk.mix)
    assert mix.shape == whole.mix.shape
    assert _db(mix - whole.mix, whole.mix) < -85.0
    for name, stem in whole.stems.items():
        assert _db(np.asarray(disk.stems[name]) - stem, whole.mix) < -85.0
    for key in ("loudness_lufs", "true_peak_db", "bus_makeup_db", "normalisation_gain_db", "premix_lufs"):
        assert disk.info[key] == pytest.approx(whole.info[key], abs=0.01), key
    assert disk.info["parts"].keys() == whole.info["parts"].keys()
    assert [p["sound"] for p in disk.info["parts"].values()] == [p["sound"] for p in whole.info["parts"].values()]


def test_the_disk_render_s_stems_null_against_its_mix(both):
    _, _, disk, _ = both
    stems = sum(np.asarray(s, dtype=np.float64) for s in disk.stems.values())
    mix = np.asarray(disk.mix, dtype=np.float64)
    assert _db(mix - stems, mix) < -120.0
    assert disk.info["stems_null_db"] < -120.0


def test_on_audio_hears_the_finished_mix_in_time_order(both):
    _, _, disk, blocks = both
    starts = [a for a, _ in blocks]
    assert starts == sorted(starts) and starts[0] == 0
    heard = np.concatenate([b for _, b in blocks], axis=1)
    np.testing.assert_array_equal(heard, np.asarray(disk.mix))


def test_notes_rendered_in_windows_are_the_whole_rendering_exactly():
    score, _ = _score_and_mix("dance")
    n = round(SECONDS * SR)
    for part in score.parts:
        inst = instrument(part)
        whole = render_notes(part, inst, SR, n, 3, NoteCache())
        stream = NoteStream(part, inst, SR, n, 3, NoteCache())
        pieces = [stream.render(a, min(n, a + BLOCK // 3)) for a in range(0, n, BLOCK // 3)]
        np.testing.assert_array_equal(np.concatenate(pieces, axis=1), whole, err_msg=part.name)


def test_loudness_measured_in_blocks_is_the_whole_measurement():
    rng = np.random.default_rng(1)
    audio = (rng.standard_normal((2, 7 * SR + 123)) * np.linspace(0.01, 0.3, 7 * SR + 123)).astype(np.float32)
    meter = bus.LoudnessMeter(audio.shape[1], SR)
    for a in range(0, audio.shape[1], 10_007):
        meter.add(audio[:, a:a + 10_007])
    assert meter.result() == pytest.approx(bus.integrated_loudness(audio, SR), abs=1e-9)


def test_a_wav_on_disk_reads_only_the_frames_sliced(tmp_path):
    audio = np.random.default_rng(2).standard_normal((2, 50_001)).astype(np.float32)
    with WavWriter(tmp_path / "a.wav", SR, 2, audio.shape[1]) as writer:
        for a in range(0, audio.shape[1], 7_000):
            writer.write(audio[:, a:a + 7_000])
    lazy = WavAudio(tmp_path / "a.wav")
    assert lazy.shape == audio.shape and lazy.sample_rate == SR
    np.testing.assert_array_equal(lazy[:, 1234:5678], audio[:, 1234:5678])
    np.testing.assert_array_equal(lazy[1], audio[1])
    np.testing.assert_array_equal(np.concatenate([b for _, b in iter_blocks(lazy, 4096)], axis=1), audio)
    assert not list(tmp_path.glob(".*.part"))
