"""``expotion train``: fine-tune the control adapter (and LoRA) on (video, music, text) clips.

Only the adapter and LoRA parameters train; the MusicGen weights stay frozen. AdamW with
linear warm-up and cosine decay, gradient accumulation, gradient clipping, mixed
precision on GPUs and multi-GPU data parallelism all come from ``accelerate`` (launch
with ``accelerate launch -m studio train …`` for several GPUs). Every ``checkpoint_every``
steps a resumable checkpoint is written (adapter files + optimizer, scheduler, step and
random state); ``train_log.jsonl`` gets one line per step and per evaluation.
"""

from __future__ import annotations

import json
import logging
import math
import pickle
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError

from expotion_engine.engines.musicgen.checkpoint import CONFIG_FILE, WEIGHTS_FILE, new_adapter, save_adapter
from expotion_engine.engines.musicgen.config import AdapterConfig
from expotion_engine.engines.musicgen.device import resolve_device
from expotion_engine.engines.musicgen.loading import LoadedModel, load_model
from expotion_engine.engines.musicgen.lora import lora_parameters
from expotion_engine.engines.musicgen.train.batches import Batch, random_batch, validation_batches
from expotion_engine.engines.musicgen.train.data import Clip, split_by_source
from expotion_engine.engines.musicgen.train.features import Analyzer, ClipFeatures, FeatureCache, default_cache_dir
from expotion_engine.engines.musicgen.train.objective import AdapterObjective
from expotion_engine.engines.musicgen.train.state_io import encode_state, read_state
from expotion_engine.errors import Cancelled, EngineError
from expotion_engine.progress import CancelEvent, ProgressFn, check_cancel, sub_progress
from expotion_engine.types import atomic_write_bytes, atomic_write_json, parse_json, read_regular_text

log = logging.getLogger(__name__)

STATE_FILE = "trainer_state.json"
OPTIMIZER_FILE = "optimizer.safetensors"
LEGACY_OPTIMIZER_FILE = "optimizer.pt"  # pickled by torch.save before; still read, with weights_only=True
LOG_FILE = "train_log.jsonl"
PRECISIONS = ("auto", "no", "fp16", "bf16")


@dataclass(frozen=True)
class TrainConfig:
    """Everything one training run needs besides the data."""

    model: str
    output: Path
    adapter: AdapterConfig = field(default_factory=AdapterConfig)
    max_steps: int = 1000
    batch_size: int = 8
    grad_accum: int = 1
    lr: float = 1e-3
    weight_decay: float = 0.02
    warmup_steps: int = 50
    min_lr_ratio: float = 0.01
    clip_grad: float = 1.0
    segment: float = 10.0
    text_dropout: float = 0.1
    val_fraction: float = 0.1
    eval_every: int = 100
    checkpoint_every: int = 200
    keep_checkpoints: int = 3
    seed: int = 0
    device: str = "auto"
    precision: str = "auto"
    cache_dir: Path | None = None
    resume: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "output", Path(self.output))
        positive = ("max_steps", "batch_size", "grad_accum", "eval_every", "checkpoint_every", "keep_checkpoints")
        bad = [f"{name}={getattr(self, name)}" for name in positive if getattr(self, name) < 1]
        if bad:
            raise EngineError(f"Training settings must be at least 1: {', '.join(bad)}.")
        if not (self.lr > 0 and self.segment > 0 and self.warmup_steps >= 0 and 0 <= self.min_lr_ratio <= 1):
            raise EngineError("Training needs lr > 0, segment > 0 s, warmup_steps >= 0 and min_lr_ratio in [0, 1].")
        if not (0.0 <= self.text_dropout < 1.0 and 0.0 <= self.val_fraction < 1.0):
            raise EngineError("text_dropout and val_fraction must be in [0, 1).")
        if self.precision not in PRECISIONS:
            raise EngineError(f"Unknown precision {self.precision!r}; use one of {', '.join(PRECISIONS)}.")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["adapter"] = self.adapter.to_dict()
        data["output"] = str(self.output)
        data["cache_dir"] = None if self.cache_dir is None else str(self.cache_dir)
        return data


@dataclass(frozen=True)
class TrainResult:
    """Where the final adapter went and how the run ended."""

    adapter_path: Path
    log_path: Path
    steps: int
    train_loss: float
    val_loss: float | None
    val_loss_null_controls: float | None


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def lr_factor(step: int, warmup: int, total: int, floor: float) -> float:
    """Linear warm-up to 1, then cosine decay to ``floor`` at ``total`` steps."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


def _mixed_precision(config: TrainConfig, device: torch.device) -> str:
    if config.precision != "auto":
        return config.precision
    if device.type != "cuda":
        return "no"
    return "bf16" if torch.cuda.is_bf16_supported() else "fp16"


class Trainer:
    """One training run; :meth:`run` does it all, the pieces are public for tests and tools."""

    def __init__(self, config: TrainConfig, clips: Sequence[Clip], analyze: Analyzer | None = None) -> None:
        from accelerate import Accelerator

        self.config = config
        device = resolve_device(config.device)
        self.accelerator = Accelerator(
            cpu=device.type == "cpu",
            mixed_precision=_mixed_precision(config, device),
            gradient_accumulation_steps=config.grad_accum,
        )
        self.train_clips, self.val_clips = split_by_source(list(clips), config.val_fraction)
        self.analyze = analyze
        self.rng = np.random.default_rng(config.seed)
        self.step = 0
        self.lm: LoadedModel | None = None

    @property
    def log_path(self) -> Path:
        return self.config.output / LOG_FILE

    # ------------------------------------------------------------------ setup

    def _setup(self, progress: ProgressFn | None, cancel: CancelEvent | None) -> None:
        config, acc = self.config, self.accelerator
        self.lm = lm = load_model(config.model, device=acc.device, dtype="float32")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            self.adapter = new_adapter(config.adapter, lm)
        cache = FeatureCache(config.cache_dir or default_cache_dir(), lm, config.adapter.channels, self.analyze)
        with acc.main_process_first():
            self.train_features = cache.build(self.train_clips, sub_progress(progress, 0.0, 0.7), cancel)
            self.val_features = cache.build(self.val_clips, sub_progress(progress, 0.7, 1.0), cancel)
        self._set_statistics(self.train_features)
        self.parameters = [p for p in self.adapter.parameters()] + lora_parameters(lm)
        for p in self.parameters:
            p.requires_grad_(True)
        self.optimizer = torch.optim.AdamW(self.parameters, lr=config.lr, weight_decay=config.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer,
            lambda s: lr_factor(s, config.warmup_steps, config.max_steps, config.min_lr_ratio),
        )
        self.objective, self.optimizer = acc.prepare(AdapterObjective(lm, self.adapter), self.optimizer)
        self.segment = max(1, int(round(config.segment * lm.frame_rate)))

    def _set_statistics(self, features: Sequence[ClipFeatures]) -> None:
        """Normalise each control channel by its mean and spread over the valid training frames."""
        values = np.concatenate([f.values for f in features])
        mask = np.concatenate([f.mask for f in features])
        counts = np.maximum(mask.sum(0), 1)
        mean = (values * mask).sum(0) / counts
        std = np.sqrt(((values - mean) ** 2 * mask).sum(0) / counts)
        encoder = self.adapter.encoder
        encoder.mean.copy_(torch.from_numpy(mean.astype(np.float32)))
        encoder.std.copy_(torch.from_numpy(np.maximum(std, 1e-3).astype(np.float32)))

    # ------------------------------------------------------------------ steps

    def _dropout(self, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-item modality keep flags and text drops (for guidance over both)."""
        cfg = self.config.adapter
        modalities = len(cfg.groups)
        keep = self.rng.random((size, modalities)) >= cfg.modality_dropout
        keep &= (self.rng.random(size) >= cfg.control_dropout)[:, None]
        null_text = self.rng.random(size) < self.config.text_dropout
        device = self.accelerator.device
        return torch.from_numpy(keep).to(device), torch.from_numpy(null_text).to(device)

    def _batch(self) -> Batch:
        lm = self.lm
        batch = random_batch(self.train_features, self.config.batch_size, self.segment, self.adapter.ahead,
                             lm.special_token, self.rng)
        return batch.to(self.accelerator.device)

    @torch.no_grad()
    def evaluate(self) -> tuple[float | None, float | None]:
        """Validation loss with every modality, and with null controls (their difference is what the video adds)."""
        if not self.val_features:
            return None, None
        lm, objective = self.lm, self.objective
        objective.eval()
        results = []
        for use_controls in (True, False):
            total, count = 0.0, 0
            for batch in validation_batches(self.val_features, self.config.batch_size, self.segment,
                                            self.adapter.ahead, lm.special_token):
                batch = batch.to(self.accelerator.device)
                size = batch.codes.shape[0]
                keep = torch.full((size, len(self.config.adapter.groups)), use_controls,
                                  device=self.accelerator.device)
                null_text = torch.zeros(size, dtype=torch.bool, device=self.accelerator.device)
                total += float(objective(batch, keep, null_text)) * size
                count += size
            results.append(total / count)
        objective.train()
        return results[0], results[1]

    # ------------------------------------------------------------------ checkpoints

    def _checkpoint_dir(self, step: int) -> Path:
        return self.config.output / "checkpoints" / f"step-{step:07d}"

    def save_checkpoint(self) -> Path:
        """Adapter files plus optimizer/scheduler/step/random state, so a run can resume here."""
        folder = self._checkpoint_dir(self.step)
        adapter = self.accelerator.unwrap_model(self.objective).adapter
        save_adapter(folder, adapter, self.lm, self._training_info())
        state = {"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict()}
        atomic_write_bytes(folder / OPTIMIZER_FILE, encode_state(state))
        atomic_write_json(folder / STATE_FILE, {
            "step": self.step,
            "rng": self.rng.bit_generator.state,
            "config": self.config.to_dict(),
        })
        checkpoints = sorted((self.config.output / "checkpoints").glob("step-*"))
        for old in checkpoints[: -self.config.keep_checkpoints]:
            shutil.rmtree(old, ignore_errors=True)
        return folder

    def latest_checkpoint(self) -> Path | None:
        folder = self.config.output / "checkpoints"
        complete = [p for p in sorted(folder.glob("step-*")) if (p / STATE_FILE).is_file()
                    and (p / CONFIG_FILE).is_file() and (p / WEIGHTS_FILE).is_file()
                    and ((p / OPTIMIZER_FILE).is_file() or (p / LEGACY_OPTIMIZER_FILE).is_file())]
        return complete[-1] if complete else None

    def _resume(self, folder: Path) -> None:
        """Continue from a checkpoint folder; any damaged file in it is one EngineError naming that file."""
        from safetensors.torch import load_file

        state_file = folder / STATE_FILE
        state = parse_json(read_regular_text(state_file, EngineError, "trainer state"), state_file, EngineError,
                           "trainer state")
        if not isinstance(state, dict) or not isinstance(state.get("config", {}), dict):
            raise EngineError(f"{state_file}: not an Expotion trainer state (expected a JSON object).")
        saved = state.get("config", {})
        for key in ("model", "adapter"):
            if saved.get(key) != self.config.to_dict()[key]:
                raise EngineError(
                    f"Cannot resume from {folder}: it was trained with a different {key}; "
                    "use a new output folder or the same settings."
                )
        try:
            tensors = load_file(folder / WEIGHTS_FILE, device=str(self.accelerator.device))
            adapter = self.accelerator.unwrap_model(self.objective).adapter
            adapter.load_state_dict({k[8:]: v for k, v in tensors.items() if k.startswith("adapter.")})
        except (SafetensorError, OSError, RuntimeError) as exc:
            raise EngineError(f"{folder / WEIGHTS_FILE}: cannot resume from these adapter weights "
                              f"({_one_line(exc)}).") from None
        lora = {k[5:]: v for k, v in tensors.items() if k.startswith("lora.")}
        if lora:
            from expotion_engine.engines.musicgen.lora import load_lora_state

            load_lora_state(self.lm, lora)
        optimizer_file = folder / OPTIMIZER_FILE
        if not optimizer_file.is_file():
            optimizer_file = folder / LEGACY_OPTIMIZER_FILE
        try:
            if optimizer_file.suffix == ".safetensors":
                opt = read_state(optimizer_file, self.accelerator.device)
            else:  # an older checkpoint; weights_only=True: tensors and plain containers, no code from the file
                opt = torch.load(optimizer_file, map_location=self.accelerator.device, weights_only=True)
            self.optimizer.load_state_dict(opt["optimizer"])
            self.scheduler.load_state_dict(opt["scheduler"])
        except (pickle.UnpicklingError, SafetensorError, RuntimeError, EOFError, OSError, ValueError, KeyError,
                TypeError, AttributeError, IndexError, RecursionError) as exc:
            raise EngineError(f"{optimizer_file}: not optimizer state this trainer wrote, so the run cannot resume "
                              f"({_one_line(exc)[:200]}); start a new output folder.") from None
        try:
            self.step = int(state["step"])
            self.rng.bit_generator.state = state["rng"]
        except (KeyError, TypeError, ValueError) as exc:
            raise EngineError(f"{state_file}: the trainer state is damaged ({_one_line(exc)}).") from None
        log.info("resumed from %s at step %d", folder, self.step)

    def _training_info(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "clips": len(self.train_clips),
            "validation_clips": len(self.val_clips),
            "config": self.config.to_dict(),
        }

    # ------------------------------------------------------------------ run

    def _log(self, record: dict[str, Any]) -> None:
        if self.accelerator.is_main_process:
            with self.log_path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(record) + "\n")

    def run(self, progress: ProgressFn | None = None, cancel: CancelEvent | None = None) -> TrainResult:
        """Train to ``max_steps`` (resuming if asked), evaluating and checkpointing on the way."""
        config, acc = self.config, self.accelerator
        config.output.mkdir(parents=True, exist_ok=True)
        self._setup(sub_progress(progress, 0.0, 0.1), cancel)
        val, val_null = None, None
        if config.resume:
            latest = self.latest_checkpoint()
            if latest is None:
                log.warning("--resume: no checkpoint in %s, starting from step 0", config.output)
            else:
                self._resume(latest)
        report = sub_progress(progress, 0.1, 1.0)
        if self.step == 0:
            val, val_null = self.evaluate()
            if val is not None:
                self._log({"step": 0, "val_loss": val, "val_loss_null_controls": val_null})
        self.objective.train()
        loss_value, grad_norm = float("nan"), float("nan")
        started = time.perf_counter()
        try:
            while self.step < config.max_steps:
                tick = time.perf_counter()
                losses = []
                for _ in range(config.grad_accum):
                    check_cancel(cancel)
                    with acc.accumulate(self.objective):
                        batch = self._batch()
                        keep, null_text = self._dropout(batch.codes.shape[0])
                        loss = self.objective(batch, keep, null_text)
                        acc.backward(loss)
                        if acc.sync_gradients:
                            grad_norm = float(acc.clip_grad_norm_(self.parameters, config.clip_grad))
                        self.optimizer.step()
                        self.optimizer.zero_grad()
                    losses.append(float(loss.detach()))
                self.scheduler.step()
                self.step += 1
                loss_value = float(np.mean(losses))
                self._log({"step": self.step, "loss": loss_value, "lr": self.scheduler.get_last_lr()[0],
                           "grad_norm": grad_norm, "seconds": time.perf_counter() - tick})
                if self.step % config.eval_every == 0 or self.step == config.max_steps:
                    val, val_null = self.evaluate()
                    if val is not None:
                        self._log({"step": self.step, "val_loss": val, "val_loss_null_controls": val_null})
                if acc.is_main_process and (self.step % config.checkpoint_every == 0):
                    self.save_checkpoint()
                elapsed = time.perf_counter() - started
                eta = elapsed / self.step * (config.max_steps - self.step) if self.step else 0.0
                report(self.step / config.max_steps,
                       f"step {self.step}/{config.max_steps} · loss {loss_value:.3f} · ETA {eta:.0f} s")
        except Cancelled:
            if acc.is_main_process and self.step > 0:
                self.save_checkpoint()
            raise
        final = config.output / "adapter"
        if acc.is_main_process:
            save_adapter(final, acc.unwrap_model(self.objective).adapter, self.lm, self._training_info())
        acc.wait_for_everyone()
        return TrainResult(final, self.log_path, self.step, loss_value, val, val_null)


def train(
    config: TrainConfig,
    clips: Sequence[Clip],
    analyze: Analyzer | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelEvent | None = None,
) -> TrainResult:
    """Run one training (see :class:`Trainer`)."""
    return Trainer(config, clips, analyze).run(progress, cancel)
