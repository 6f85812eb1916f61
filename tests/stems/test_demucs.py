"""Demucs separation on a tiny random HTDemucs saved in demucs's local model-folder layout."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from expotion_engine.errors import Cancelled, EngineError, ModelNotFoundError
from expotion_engine.stems import load_model, locate_model, separate
from tests.stems.conftest import SIGNATURE, save_package, tiny_htdemucs


def music(rate: int, seconds: float, channels: int = 2, seed: int = 0) -> np.ndarray:
    """A few tones, a bass line and noise bursts: something for every stem."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    mix = 0.2 * np.sin(2 * np.pi * 220 * t) + 0.3 * np.sin(2 * np.pi * 55 * t)
    mix = mix + 0.3 * rng.standard_normal(len(t)) * (np.sin(2 * np.pi * 2 * t) > 0.95)
    pan = np.linspace(0.8, 1.2, channels)[:, None]
    return (pan * mix[None]).astype(np.float32)


def residual_db(mix: np.ndarray, stems: list[np.ndarray]) -> float:
    residual = mix.astype(np.float64) - np.sum(stems, axis=0, dtype=np.float64)
    return float(10 * np.log10(np.sum(residual**2) / np.sum(mix.astype(np.float64) ** 2)))


def test_stems_have_the_takes_rate_length_and_names(tiny_repo: Path) -> None:
    mix = music(48000, 2.2)
    stems = separate(mix, 48000, model="htdemucs", repo=tiny_repo, device="cpu")
    assert [s.name for s in stems] == ["drums", "bass", "other", "vocals"]
    for stem in stems:
        assert stem.audio.shape == mix.shape and stem.audio.dtype == np.float32
        assert stem.origin == "separated"
        assert stem.info["model_sample_rate"] == 44100 and stem.info["device"] == "cpu"
        assert np.all(np.isfinite(stem.audio)) and np.abs(stem.audio).max() > 0
    assert stems[0].info["residual_db"] == pytest.approx(residual_db(mix, [s.audio for s in stems]), abs=0.01)


def test_same_result_as_demucs_own_loader_and_split(tiny_repo: Path) -> None:
    """At the model's rate, our streaming overlap-add equals demucs.apply_model(split=True)
    on the model demucs.pretrained.get_model loads from the same folder."""
    from demucs.apply import apply_model
    from demucs.pretrained import get_model

    mix = music(44100, 2.6)
    ours = np.stack([s.audio for s in separate(mix, 44100, model="htdemucs", repo=tiny_repo, device="cpu")])
    reference_model = get_model("htdemucs", repo=tiny_repo)
    tensor = torch.from_numpy(mix)
    ref = tensor.mean(0)
    normalised = (tensor - ref.mean()) / (ref.std() + 1e-8)
    expected = apply_model(reference_model, normalised[None], shifts=0, split=True, overlap=0.25)[0]
    expected = (expected * (ref.std() + 1e-8) + ref.mean()).numpy()
    np.testing.assert_allclose(ours, expected, atol=2e-6, rtol=1e-4)


def test_mono_input_gives_mono_stems_and_resampling_round_trips(tiny_repo: Path) -> None:
    mix = music(32000, 2.5, channels=1)
    stems = separate(mix, 32000, model="htdemucs", repo=tiny_repo, device="cpu")
    assert all(s.audio.shape == (1, mix.shape[1]) for s in stems)
    # The same audio given at the model's rate: the 32 kHz stems are its resampled stems.
    import soxr

    at_model_rate = soxr.resample(mix[0], 32000, 44100, quality="HQ")[None].astype(np.float32)
    direct = separate(at_model_rate, 44100, model="htdemucs", repo=tiny_repo, device="cpu")
    back = soxr.resample(direct[1].audio[0], 44100, 32000, quality="HQ")[: mix.shape[1]]
    inner = slice(3200, mix.shape[1] - 3200)
    np.testing.assert_allclose(stems[1].audio[0, inner], back[inner], atol=2e-3 * np.abs(back).max())


def test_progress_rises_to_one_and_cancel_stops(tiny_repo: Path) -> None:
    reports: list[float] = []
    separate(music(44100, 2.0), 44100, model="htdemucs", repo=tiny_repo, device="cpu",
             progress=lambda f, m: reports.append(f))
    assert reports[-1] == 1.0 and reports == sorted(reports) and len(reports) >= 4
    cancel = threading.Event()

    def cancel_after_first_segment(fraction: float, message: str) -> None:
        if "segment" in message:
            cancel.set()

    with pytest.raises(Cancelled):
        separate(music(44100, 2.0), 44100, model="htdemucs", repo=tiny_repo, device="cpu",
                 progress=cancel_after_first_segment, cancel=cancel)


def test_missing_weights_name_the_pull_command_and_touch_no_network(empty_model_caches: Path) -> None:
    with pytest.raises(ModelNotFoundError) as error:
        separate(music(44100, 1.0), 44100, model="htdemucs")
    message = str(error.value)
    assert "`expotion models pull htdemucs`" in message and str(empty_model_caches / "models" / "demucs") in message
    with pytest.raises(ModelNotFoundError, match="pull htdemucs_6s"):
        locate_model("htdemucs_6s", repo=empty_model_caches)
    with pytest.raises(EngineError, match="Unknown Demucs model 'htdemux'.*htdemucs_ft"):
        separate(music(44100, 1.0), 44100, model="htdemux")


def test_fallback_gives_dsp_stems_and_says_why() -> None:
    mix = music(44100, 2.0)
    stems = separate(mix, 44100, model="htdemucs", fallback=True)
    assert [s.name for s in stems] == ["drums", "bass", "other"]
    assert all(s.origin == "dsp" and "expotion models pull htdemucs" in s.info["fallback_reason"] for s in stems)
    np.testing.assert_allclose(np.sum([s.audio for s in stems], axis=0), mix, atol=1e-4)


def test_untrusted_checkpoint_is_refused_without_running_it(tmp_path: Path) -> None:
    folder = tmp_path / "evil"
    folder.mkdir()
    ran = tmp_path / "ran"
    torch.save({"klass": exec, "args": [f"open({str(ran)!r}, 'w')"], "kwargs": {}, "state": {}},
               folder / f"{SIGNATURE}.th")
    (folder / "htdemucs.yaml").write_text(f"models: ['{SIGNATURE}']\n")
    with pytest.raises(EngineError, match=r"refers to (builtins\.)?exec, which is not allowed"):
        load_model(locate_model("htdemucs", repo=folder))
    assert not ran.exists()


def test_corrupted_checkpoint_fails_its_checksum(tiny_repo: Path, tmp_path: Path) -> None:
    folder = tmp_path / "copy"
    shutil.copytree(tiny_repo, folder)
    checkpoint = next(folder.glob("*.th"))
    data = bytearray(checkpoint.read_bytes())
    data[-10] ^= 0xFF
    checkpoint.write_bytes(bytes(data))
    with pytest.raises(EngineError, match="checksum"):
        load_model(locate_model("htdemucs", repo=folder))


def test_found_in_the_hugging_face_cache_as_safetensors(tiny_repo: Path, empty_model_caches: Path) -> None:
    """demucs 4.1's own download layout: ``<name>.yaml`` + ``<sig>.safetensors`` with JSON metadata."""
    from safetensors.torch import save_file

    model = tiny_htdemucs()
    args, kwargs = model._init_args_kwargs
    encoded = {k: ({"_type": "fraction", "numerator": v.numerator, "denominator": v.denominator}
                   if k == "segment" else v) for k, v in kwargs.items()}
    repo = empty_model_caches / "hf" / "models--adefossez--HTDemucs"
    snapshot = repo / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0" * 40)
    (snapshot / "htdemucs.yaml").write_text(f"models: ['{SIGNATURE}']\n")
    save_file(model.state_dict(), str(snapshot / f"{SIGNATURE}.safetensors"), metadata={
        "klass": "demucs.htdemucs.HTDemucs", "args": json.dumps(list(args)), "kwargs": json.dumps(encoded)})
    files = locate_model("htdemucs")
    assert files.location.startswith("Hugging Face cache")
    mix = music(44100, 1.0)
    from_cache = separate(mix, 44100, model="htdemucs", device="cpu")
    from_folder = separate(mix, 44100, model="htdemucs", repo=tiny_repo, device="cpu")
    for a, b in zip(from_cache, from_folder, strict=True):
        np.testing.assert_allclose(a.audio, b.audio, atol=1e-6)


def test_found_in_the_torch_hub_cache(empty_model_caches: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """demucs 4.0's download layout: ``$TORCH_HOME/hub/checkpoints/<sig>-<sha>.th``."""
    from expotion_engine.stems import weights

    path = save_package(tiny_htdemucs(), empty_model_caches / "torch" / "hub" / "checkpoints")
    monkeypatch.setattr(weights, "remote_files", lambda: {SIGNATURE: f"hybrid_transformer/{path.name}"})
    files = locate_model("htdemucs")
    assert files.location.startswith("torch hub cache") and files.checkpoints == (path,)
    assert load_model(files).sources == ["drums", "bass", "other", "vocals"]


def test_pull_verifies_and_installs_from_a_mirror(tmp_path: Path, empty_model_caches: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from expotion_engine.stems import download, pull_model

    mirror = tmp_path / "mirror"
    path = save_package(tiny_htdemucs(), mirror / "hybrid_transformer")
    monkeypatch.setattr(download, "remote_files", lambda: {SIGNATURE: f"hybrid_transformer/{path.name}"})
    reports: list[float] = []
    folder = pull_model("htdemucs", base_url=mirror.as_uri(), progress=lambda f, m: reports.append(f))
    assert folder == empty_model_caches / "models" / "demucs" and reports[-1] == 1.0
    assert locate_model("htdemucs").location == f"model folder {folder}"
    assert sorted(p.name for p in folder.iterdir()) == sorted([path.name, "htdemucs.yaml"])

    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    other = tmp_path / "other"
    with pytest.raises(EngineError, match="does not match its checksum"):
        pull_model("htdemucs", other, base_url=mirror.as_uri())
    assert not any(p.suffix == ".th" for p in other.iterdir()) and not (other / "htdemucs.yaml").exists()
    with pytest.raises(ModelNotFoundError, match="`expotion models pull htdemucs` again"):
        pull_model("htdemucs", other, base_url=(tmp_path / "nowhere").as_uri())
