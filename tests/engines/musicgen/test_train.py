"""Fine-tuning on a synthetic dataset whose music gets loud where a control channel is
high: 30 steps lower the held-out loss, the adapter learns to use the controls (and does
not where they say nothing about the music), only adapter weights change, runs resume,
and ``expotion train`` drives it all from the command line."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from expotion_engine.engines.musicgen.checkpoint import load_adapter
from expotion_engine.engines.musicgen.config import AdapterConfig
from expotion_engine.engines.musicgen.loading import load_model
from expotion_engine.engines.musicgen.train import (
    DatasetError,
    TrainConfig,
    Trainer,
    load_clips,
    split_by_source,
    train,
)
from expotion_engine.engines.musicgen.train.trainer import lr_factor
from expotion_engine.errors import EngineError
from studio.cli import main
from tests.factories import make_control_track

RATE = 32000
SECONDS = 3.0
STEP = 0.25  # the energy switches between quiet and loud every quarter second


def _pattern(seed: int) -> Callable[[np.ndarray], np.ndarray]:
    levels = np.random.default_rng(seed).choice([0.1, 0.9], size=int(SECONDS / STEP))
    return lambda t: levels[np.minimum((np.asarray(t) / STEP).astype(int), levels.size - 1)]


def _make_dataset(folder: Path, follows: bool) -> Path:
    """8 clips from 4 sources: a ControlTrack and noise whose loudness (-40 to -6 dB) follows
    the track's energy, or (``follows=False``) another, unrelated energy pattern."""
    folder.mkdir()
    rng = np.random.default_rng(0)
    t = np.arange(int(SECONDS * RATE)) / RATE
    for source in range(4):
        for part in range(2):
            seed = 2 * source + part
            name = f"dancer{source}__take{part}"
            make_control_track(SECONDS, energy=_pattern(seed), seed=seed).save(folder / f"{name}.npz")
            loudness = _pattern(seed if follows else 100 + seed)(t)
            gain = 10 ** ((-40.0 + 34.0 * loudness) / 20.0)
            sf.write(folder / f"{name}.wav", (gain * rng.standard_normal(t.size)).astype(np.float32), RATE)
            (folder / f"{name}.txt").write_text("noise bursts")
    return folder


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("datasets")
    return {"follows": _make_dataset(root / "follows", True), "unrelated": _make_dataset(root / "unrelated", False)}


def _config(tiny_dir: Path, output: Path, **overrides: object) -> TrainConfig:
    settings = dict(
        model=str(tiny_dir), output=output, adapter=AdapterConfig(dim=16), max_steps=30, batch_size=4,
        lr=0.1, warmup_steps=3, segment=1.0, val_fraction=0.25, eval_every=10, checkpoint_every=100,
        device="cpu", cache_dir=output.parent / f"{output.name}-cache", text_dropout=0.0,
    )
    settings.update(overrides)
    return TrainConfig(**settings)


def _log(path: Path) -> list[dict[str, float]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_validation_split_is_by_source(datasets: dict[str, Path]) -> None:
    clips = load_clips(datasets["follows"])
    train_clips, val_clips = split_by_source(clips, 0.25)
    assert len(clips) == 8 and len(val_clips) == 2
    assert {c.source for c in train_clips}.isdisjoint({c.source for c in val_clips})


def test_thirty_steps_lower_the_loss_and_the_adapter_learns_to_use_the_controls(
    tiny_dir: Path, datasets: dict[str, Path], tmp_path: Path
) -> None:
    gaps = {}
    for name, folder in datasets.items():
        result = train(_config(tiny_dir, tmp_path / name), load_clips(folder))
        records = _log(result.log_path)
        steps = [r for r in records if "loss" in r]
        evaluations = [r for r in records if "val_loss" in r]
        assert result.steps == 30 and [r["step"] for r in steps] == list(range(1, 31))
        assert [r["step"] for r in evaluations] == [0, 10, 20, 30]
        assert evaluations[0]["val_loss"] == evaluations[0]["val_loss_null_controls"]  # zero gates: no effect yet
        gaps[name] = result.val_loss_null_controls - result.val_loss
        if name == "follows":
            assert result.val_loss < evaluations[0]["val_loss"] - 0.03
            assert np.mean([r["loss"] for r in steps[-5:]]) < np.mean([r["loss"] for r in steps[:5]]) - 0.03
            assert steps[2]["lr"] == pytest.approx(0.1) and steps[-1]["lr"] == pytest.approx(0.1 * 0.01)
    # controls that predict the loudness of held-out clips lower their loss; unrelated ones do not
    assert gaps["follows"] > 0.02 and gaps["unrelated"] < gaps["follows"] / 3


def test_only_adapter_weights_train_and_the_result_loads(tiny_dir: Path, datasets: dict[str, Path],
                                                         tmp_path: Path) -> None:
    config = _config(tiny_dir, tmp_path / "run", max_steps=4, eval_every=4,
                     adapter=AdapterConfig(dim=16, lora_rank=2, layers=(1,)))
    trainer = Trainer(config, load_clips(datasets["follows"]))
    result = trainer.run()
    fresh = load_model(tiny_dir, device="cpu")
    base = fresh.model.state_dict()
    trained = {k.replace(".base_layer", ""): v for k, v in trainer.lm.model.state_dict().items() if "lora_" not in k}
    assert trained.keys() == base.keys() and all(torch.equal(trained[k], base[k]) for k in base)
    adapter = load_adapter(result.adapter_path, fresh)
    assert all(float(p.gate.abs()) > 0 for p in adapter.prefixes.values())
    lora_b = [v for k, v in fresh.model.state_dict().items() if "lora_B" in k]
    assert lora_b and all(float(v.abs().max()) > 0 for v in lora_b)  # zero-initialised B has moved


def test_resume_continues_from_the_last_checkpoint_and_features_are_cached(
    tiny_dir: Path, datasets: dict[str, Path], tmp_path: Path
) -> None:
    clips = load_clips(datasets["follows"])
    first = train(_config(tiny_dir, tmp_path / "run", max_steps=3, checkpoint_every=3, eval_every=3, grad_accum=2),
                  clips)
    assert (tmp_path / "run" / "checkpoints" / "step-0000003" / "trainer_state.json").is_file()
    cached = {p: p.stat().st_mtime_ns for p in (tmp_path / "run-cache").glob("*.safetensors")}
    assert len(cached) == 8  # every clip's codes and control frames, computed once
    resumed = train(_config(tiny_dir, tmp_path / "run", max_steps=5, checkpoint_every=3, eval_every=5,
                            grad_accum=2, resume=True), clips)
    steps = [r["step"] for r in _log(resumed.log_path) if "loss" in r]
    assert first.steps == 3 and resumed.steps == 5 and steps == [1, 2, 3, 4, 5]
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "run-cache").glob("*.safetensors")} == cached
    with pytest.raises(EngineError, match="different adapter"):
        train(_config(tiny_dir, tmp_path / "run", max_steps=6, adapter=AdapterConfig(dim=8), resume=True), clips)


def test_learning_rate_warms_up_then_decays_to_the_floor() -> None:
    factors = [lr_factor(s, 10, 110, 0.01) for s in range(111)]
    assert factors[0] == pytest.approx(0.1) and factors[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(factors[9:], factors[10:], strict=False))
    assert factors[60] == pytest.approx(0.505) and factors[110] == pytest.approx(0.01)


def test_expotion_train_command(tiny_dir: Path, datasets: dict[str, Path], tmp_path: Path,
                                capfd: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli-run"
    code = main(["train", str(datasets["follows"]), "-o", str(out), "--model", str(tiny_dir), "--max-steps", "2",
                 "--batch-size", "2", "--segment", "0.5", "--device", "cpu", "--cache-dir", str(tmp_path / "cache"),
                 "--adapter-dim", "8", "--modalities", "derived,flow", "--eval-every", "2"])
    assert code == 0
    assert "trained 2 steps" in capfd.readouterr().err
    meta = json.loads((out / "adapter" / "adapter_config.json").read_text())
    assert [g["name"] for g in meta["config"]["groups"]] == ["derived", "flow"] and meta["config"]["dim"] == 8
    assert main(["train", str(datasets["follows"]), "-o", str(out), "--model", str(tiny_dir),
                 "--modalities", "face,tail"]) == 2
    assert "Unknown modality 'tail'" in capfd.readouterr().err


def test_manifests_in_csv_and_jsonl_name_their_clips_and_bad_lines(datasets: dict[str, Path], tmp_path: Path) -> None:
    folder = datasets["follows"]
    (tmp_path / "clips.csv").write_text(
        "audio,controls,prompt,source\n"
        f"{folder}/dancer0__take0.wav,{folder}/dancer0__take0.npz,slow pads,studio-a\n"
    )
    rows = [{"audio": f"follows/{name}.wav", "controls": f"follows/{name}.npz"}  # relative to the manifest
            for name in ("dancer1__take0", "dancer2__take1")]
    (folder.parent / "clips.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    csv_clips = load_clips(tmp_path / "clips.csv")
    assert [(c.prompt, c.source) for c in csv_clips] == [("slow pads", "studio-a")]
    assert load_clips(folder.parent / "clips.jsonl")[1].source == "dancer2"
    for text, error in (
        ('{"audio": "a.wav", "controls": "a.npz"}\n', r"bad\.jsonl, line 1: Dataset file .*a\.wav does not exist"),
        ('{"audio": "a.wav"}\nnot json\n', r"bad\.jsonl, line 2: not JSON"),
        ('\n["audio"]\n', r"bad\.jsonl, line 2: expected a JSON object"),
    ):
        (tmp_path / "bad.jsonl").write_text(text)
        with pytest.raises(DatasetError, match=error):
            load_clips(tmp_path / "bad.jsonl")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="No clips found"):
        load_clips(tmp_path / "empty")
