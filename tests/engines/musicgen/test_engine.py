"""The ``musicgen`` engine end to end: a ControlTrack in, a Take out (mix to the sample,
tempo map, markers, stems), with an adapter, with the melody guide, with progress that
reports tokens/s and an ETA, and with a cancel that stops within one decoding step."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import huggingface_hub.constants
import numpy as np
import pytest
import soundfile as sf
import torch

from expotion_engine.engines import get_engine
from expotion_engine.engines.musicgen.checkpoint import new_adapter, save_adapter
from expotion_engine.engines.musicgen.config import AdapterConfig
from expotion_engine.engines.musicgen.engine import MusicgenEngine
from expotion_engine.engines.musicgen.generate import StepMeter
from expotion_engine.engines.musicgen.loading import load_model
from expotion_engine.errors import Cancelled, EngineError
from expotion_engine.types import GenerationRequest, Marker, Take
from tests.factories import make_control_track

DURATION = 2.3  # not a whole number of MusicGen frames at 48 kHz, nor of EnCodec hops
SHORT = 1.0
FAST = {"device": "cpu", "tempo": False, "stems": False}


@pytest.fixture
def no_demucs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Every place Demucs weights could be found is empty, so the stems stage takes its DSP fallback."""
    monkeypatch.setenv("EXPOTION_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf"))


def _request(seed: int = 1, duration: float = DURATION, **options: object) -> GenerationRequest:
    track = make_control_track(duration, energy=lambda t: t / duration, valence=0.5, hits=(0.5, 1.7))
    return GenerationRequest(controls=track, prompt="warm piano", seed=seed, sample_rate=48000,
                             cues=(Marker(1.0, "cue A", kind="cue"),), options=options)


@pytest.fixture(scope="module")
def trained_looking_adapter(tiny_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An adapter checkpoint with random weights and open gates (as if trained)."""
    lm = load_model(tiny_dir, device="cpu")
    adapter = new_adapter(AdapterConfig(dim=16), lm)
    gen = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for p in adapter.parameters():
            p.copy_(0.5 * torch.randn(p.shape, generator=gen))
    return save_adapter(tmp_path_factory.mktemp("adapters") / "open", adapter, lm)


def _sharpen(engine: MusicgenEngine) -> None:
    """Scale the loaded model's output heads ×10: random heads give near-uniform logits, so
    the small changes a condition makes to the hidden states would rarely change a token
    (float heads: the engine is built with ``precision="fp32"``)."""
    lm, _ = engine.load()
    with torch.no_grad():
        for head in lm.model.decoder.lm_heads:
            head.weight.mul_(10.0)


def test_take_from_control_track_has_exact_length_tempo_map_markers_and_dsp_stems(
    tiny_dir: Path, trained_looking_adapter: Path, no_demucs: None, tmp_path: Path
) -> None:
    request = _request()
    engine = get_engine("musicgen", model=str(tiny_dir), adapter=str(trained_looking_adapter), device="cpu")
    take = engine.generate(request)
    assert take.engine == "musicgen" and take.sample_rate == 48000
    assert take.mix.shape == (2, request.n_samples) == (2, int(round(DURATION * 48000)))
    assert np.isfinite(take.mix).all() and 0.001 < float(np.sqrt(np.mean(take.mix**2))) < 1.0
    assert [m.name for m in take.markers] == ["hit 1", "cue A", "hit 2"]
    assert 30.0 <= take.tempo_map.bpm_at(0.0) <= 300.0
    assert [s.name for s in take.stems] == ["drums", "bass", "other"]
    assert all(s.origin == "dsp" and "htdemucs" in s.info["fallback_reason"] for s in take.stems)
    np.testing.assert_allclose(np.sum([s.audio for s in take.stems], axis=0), take.mix, atol=1e-4)
    assert take.info["adapter"] == str(trained_looking_adapter) and take.info["tokens_per_second"] > 0
    assert take.info["prompts"][0].startswith("warm piano, ") and "building" in take.info["prompts"][0]
    take.save(tmp_path / "take")
    audio, rate = sf.read(tmp_path / "take" / "mix.wav", always_2d=True)
    assert rate == 48000 and audio.shape == (request.n_samples, 2)
    assert Take.load(tmp_path / "take").tempo_map.to_dict() == take.tempo_map.to_dict()


def test_zero_gated_adapter_gives_the_base_models_mix_and_open_gates_follow_the_controls(
    tiny_dir: Path, trained_looking_adapter: Path, tmp_path: Path
) -> None:
    lm = load_model(tiny_dir, device="cpu")
    zero = save_adapter(tmp_path / "zero", new_adapter(AdapterConfig(dim=16), lm), lm)
    short = _request(duration=SHORT)
    base = MusicgenEngine(model=str(tiny_dir), **FAST).generate(short).mix
    with_zero = MusicgenEngine(model=str(tiny_dir), adapter=str(zero), **FAST).generate(short).mix
    np.testing.assert_array_equal(with_zero, base)
    opened = MusicgenEngine(model=str(tiny_dir), adapter=str(trained_looking_adapter), precision="fp32", **FAST)
    assert not np.array_equal(opened.generate(short).mix, base)
    _sharpen(opened)
    _, adapter = opened.load()
    with torch.no_grad():  # the controls' share of the logits x10 too, so that a flat and a ramp surely differ
        for prefix in adapter.prefixes.values():
            prefix.gate.mul_(10.0)
    flat = GenerationRequest(controls=make_control_track(SHORT, energy=0.5, valence=0.5), prompt=short.prompt,
                             seed=1, options={"mood_words": False})
    ramp = GenerationRequest(controls=short.controls, prompt=short.prompt, seed=1, options={"mood_words": False})
    assert not np.array_equal(opened.generate(flat).mix, opened.generate(ramp).mix)


def test_melody_model_is_steered_by_the_guide(tiny_melody_dir: Path) -> None:
    engine = MusicgenEngine(model=str(tiny_melody_dir), guide="built-in", precision="fp32", **FAST)
    _sharpen(engine)
    guided = engine.generate(_request(duration=SHORT))
    assert guided.info["guide"] == "built-in" and guided.mix.shape == (2, _request(duration=SHORT).n_samples)
    unguided = engine.generate(_request(duration=SHORT, guide="off"))
    assert unguided.info["guide"] is None
    assert not np.array_equal(guided.mix, unguided.mix)


def test_progress_reports_every_decoding_step_with_tokens_per_second_and_eta(tiny_dir: Path) -> None:
    reports: list[tuple[float, str]] = []
    MusicgenEngine(model=str(tiny_dir), window=1.0, overlap=0.4, crossfade=0.2, **FAST).generate(
        _request(), progress=lambda f, m: reports.append((f, m)))
    pattern = re.compile(r"window (\d)/4 · (\d+\.\d) tok/s · ETA \d+:\d\d$")
    steps = [pattern.match(m) for _, m in reports if "tok/s" in m]
    assert steps and all(steps)
    # 2.3 s = 115 frames in windows of 50 frames overlapping by 20 (0-50, 30-80, 60-110, 90-115): the
    # first window takes 50 steps plus 3 for the codebook delays, the others 20 steps fewer (their prompt)
    assert [int(s.group(1)) for s in steps] == [1] * 53 + [2] * 33 + [3] * 33 + [4] * 8
    assert all(float(s.group(2)) > 0 for s in steps)
    fractions = [f for f, _ in reports]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_step_meter_rate_and_eta_follow_the_clock() -> None:
    now = [100.0]
    reports: list[tuple[float, str]] = []
    meter = StepMeter(total=400, windows=2, progress=lambda f, m: reports.append((f, m)), span=0.5,
                      clock=lambda: now[0])
    for _ in range(10):
        now[0] += 0.5  # 2 steps per second
        meter.step()
    assert reports[-1] == (0.5 * 10 / 400, "window 1/2 · 2.0 tok/s · ETA 3:15")  # 390 steps at 2/s
    meter.window = 1
    for _ in range(390):
        now[0] += 0.25
        meter.step()
    assert reports[-1] == (0.5, "window 2/2 · 3.9 tok/s · ETA 0:00")  # 400 steps in 102.5 s


def test_cancel_stops_generation_within_one_decoding_step(tiny_dir: Path, trained_looking_adapter: Path) -> None:
    engine = MusicgenEngine(model=str(tiny_dir), adapter=str(trained_looking_adapter), window=1.0, overlap=0.4,
                            crossfade=0.2, **FAST)
    lm, _ = engine.load()
    cancel = threading.Event()
    decoder_calls: list[int] = []
    reported = 0

    def progress(fraction: float, message: str) -> None:
        nonlocal reported
        if "tok/s" in message:
            reported += 1
            if "window 2/" in message and not cancel.is_set():
                cancel.set()  # as a Cancel button pressed while step ``reported`` was drawn

    handle = lm.model.decoder.register_forward_hook(lambda *args: decoder_calls.append(1))
    try:
        with pytest.raises(Cancelled):
            engine.generate(_request(), progress=progress, cancel=cancel)
    finally:
        handle.remove()
    assert reported == 53 + 1 and len(decoder_calls) == reported


def test_bad_options_are_refused_before_any_work(tiny_dir: Path) -> None:
    with pytest.raises(EngineError, match="Unknown musicgen option"):
        MusicgenEngine(model=str(tiny_dir), windw=3.0)
    with pytest.raises(EngineError, match="crossfade <= overlap < window"):
        MusicgenEngine(model=str(tiny_dir), window=5.0, overlap=6.0)
    with pytest.raises(EngineError, match="Unknown guide"):
        MusicgenEngine(guide="hum")
