"""Adapter checkpoints: ``adapter.safetensors`` plus ``adapter_config.json`` in one folder.

The JSON names the control channels and their modalities, the frame rate, the base
model (name, repository, revision and architecture), the adapter's layers and ranks, the
SHA-256 of the weights file and what training produced it. Loading checks all of it
against the model it is loaded into and says in one sentence what does not match.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from expotion_engine.engines.musicgen.adapter import ControlAdapter
from expotion_engine.engines.musicgen.config import AdapterConfig
from expotion_engine.engines.musicgen.loading import LoadedModel
from expotion_engine.engines.musicgen.lora import inject_lora, load_lora_state, lora_state
from expotion_engine.errors import EngineError
from expotion_engine.types import atomic_write_bytes, atomic_write_json, parse_json, read_regular_text

log = logging.getLogger(__name__)

ADAPTER_FORMAT = "expotion.adapter"
ADAPTER_VERSION = 1
WEIGHTS_FILE = "adapter.safetensors"
CONFIG_FILE = "adapter_config.json"


def _folder(path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    return path.parent if path.name in (WEIGHTS_FILE, CONFIG_FILE) else path


def save_adapter(
    path: str | os.PathLike[str],
    adapter: ControlAdapter,
    lm: LoadedModel,
    training: dict[str, Any] | None = None,
) -> Path:
    """Write the adapter (and LoRA, if any) to folder ``path``; returns the folder."""
    folder = _folder(path)
    tensors = {f"adapter.{k}": v.detach().to("cpu").contiguous() for k, v in adapter.state_dict().items()}
    if adapter.config.lora_rank:
        tensors.update({f"lora.{k}": v.to("cpu").contiguous() for k, v in lora_state(lm).items()})
    data = save_tensors(tensors, metadata={"format": ADAPTER_FORMAT})
    atomic_write_bytes(folder / WEIGHTS_FILE, data)
    meta = {
        "format": ADAPTER_FORMAT,
        "version": ADAPTER_VERSION,
        "config": adapter.config.to_dict(),
        "rate": lm.frame_rate,
        "base": {
            "name": lm.source.name,
            "repo_id": lm.source.repo_id,
            "revision": lm.source.revision,
            "architecture": lm.architecture,
            **({"path": str(lm.source.path.resolve())} if lm.source.origin == "folder" else {}),
        },
        "weights_sha256": hashlib.sha256(data).hexdigest(),
        "training": training or {},
    }
    atomic_write_json(folder / CONFIG_FILE, meta)
    return folder


def read_meta(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The checkpoint's JSON, with its format and version checked."""
    file = _folder(path) / CONFIG_FILE
    if not file.exists():
        raise EngineError(f"No adapter at {_folder(path)}: {CONFIG_FILE} is missing.")
    meta = parse_json(read_regular_text(file, EngineError, "adapter config"), file, EngineError, "adapter config")
    if not isinstance(meta, dict) or meta.get("format") != ADAPTER_FORMAT:
        raise EngineError(f"{file}: not an Expotion adapter config (format {ADAPTER_FORMAT!r} expected).")
    if not isinstance(meta.get("version", 0), int) or not isinstance(meta.get("base", {}), dict):
        raise EngineError(f"{file}: not an Expotion adapter config (bad 'version' or 'base' field).")
    if meta.get("version", 0) > ADAPTER_VERSION:
        raise EngineError(
            f"{file}: written by a newer Expotion (adapter version {meta.get('version')}, "
            f"this one reads up to {ADAPTER_VERSION})."
        )
    return meta


def base_model(meta: dict[str, Any]) -> str:
    """What ``--model`` loads the adapter's base: the local folder it was trained on where it still exists,
    else the model's name (a folder's name alone would be looked up as a catalogue name)."""
    base = meta.get("base", {})
    path = base.get("path")
    if isinstance(path, str) and Path(path).is_dir():
        return path
    return str(base.get("name", "?"))


def check_compatible(meta: dict[str, Any], lm: LoadedModel, where: Path) -> None:
    """Refuse an adapter trained on a different network; warn about a different checkpoint of the same shape."""
    base = meta.get("base", {})
    trained = base.get("architecture", {})
    differences = [
        f"{key} {trained.get(key)!r} vs {value!r}"
        for key, value in lm.architecture.items()
        if trained.get(key) != value
    ]
    if differences:
        raise EngineError(
            f"Adapter {where} was trained for {base.get('name', 'another model')} and does not fit "
            f"{lm.source.name} ({'; '.join(differences)}); load it with --model {base_model(meta)}."
        )
    if base.get("name") not in (None, lm.source.name) or base.get("revision") not in (None, lm.source.revision):
        log.warning(
            "adapter %s was trained on %s@%s, now used with %s@%s (same architecture)",
            where, base.get("name"), base.get("revision"), lm.source.name, lm.source.revision,
        )


def load_adapter(path: str | os.PathLike[str], lm: LoadedModel, *, attach: bool = True) -> ControlAdapter:
    """Load an adapter onto ``lm`` (injecting its LoRA, if any) and attach it to the decoder."""
    folder = _folder(path)
    meta = read_meta(folder)
    check_compatible(meta, lm, folder)
    weights = folder / WEIGHTS_FILE
    try:
        data = weights.read_bytes()
    except OSError as exc:
        raise EngineError(f"Cannot read adapter weights {weights} ({exc}).") from None
    expected = meta.get("weights_sha256")
    if expected and hashlib.sha256(data).hexdigest() != expected:
        raise EngineError(f"{weights} does not match the checksum in {CONFIG_FILE}; the checkpoint is damaged.")
    try:
        tensors = load_tensors(data)
    except SafetensorError as exc:
        raise EngineError(f"{weights}: not a safetensors file ({' '.join(str(exc).split())}); adapters are "
                          "only loaded from safetensors, never from pickles.") from None
    try:
        config = AdapterConfig.from_dict(meta["config"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise EngineError(f"Adapter {folder} is damaged or incomplete ({exc}).") from None
    adapter = ControlAdapter(config, lm.architecture)
    own = {k[len("adapter."):]: v for k, v in tensors.items() if k.startswith("adapter.")}
    try:
        adapter.load_state_dict(own, strict=True)
    except RuntimeError as exc:
        raise EngineError(f"Adapter weights in {weights} do not fit its config ({exc}).") from None
    adapter.to(lm.device)
    if config.lora_rank:
        inject_lora(lm, config)
        load_lora_state(lm, {k[len("lora."):]: v.to(lm.device) for k, v in tensors.items() if k.startswith("lora.")})
    adapter.eval()
    adapter.requires_grad_(False)
    if attach:
        adapter.attach(lm.decoder_layers)
    return adapter


def new_adapter(config: AdapterConfig, lm: LoadedModel, *, attach: bool = True) -> ControlAdapter:
    """A fresh adapter (zero gates; LoRA injected with zero B if asked) for training."""
    adapter = ControlAdapter(config, lm.architecture).to(lm.device, torch.float32)
    if config.lora_rank:
        inject_lora(lm, config)
    if attach:
        adapter.attach(lm.decoder_layers)
    return adapter
