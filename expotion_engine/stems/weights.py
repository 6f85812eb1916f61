"""Find a Demucs model's files on this machine and load them (never from the network).

A model is a bag definition (``<name>.yaml``: signatures, optional per-source weights and
segment) plus one checkpoint per signature. Looked for, in order:

1. a local model folder: ``repo`` when given (then only there), else
   ``$EXPOTION_MODELS_DIR/demucs`` (default ``~/.cache/expotion/models/demucs``), where
   ``expotion models pull`` puts them: ``<name>.yaml`` + ``<sig>[-<sha256 prefix>].th``;
2. the torch hub cache (``$TORCH_HOME/hub/checkpoints/<sig>-<sha>.th``), where demucs 4.0
   downloads;
3. the Hugging Face cache (``adefossez/HTDemucs`` etc.: ``<name>.yaml`` + ``<sig>.safetensors``),
   where demucs 4.1 downloads.

Nothing found gives one :class:`ModelNotFoundError` with the command that fetches it.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from expotion_engine.errors import EngineError, ModelNotFoundError
from expotion_engine.paths import models_root
from expotion_engine.stems.catalog import check_model_name, packaged_bag, read_bag, remote_files
from expotion_engine.stems.checkpoint import load_checkpoint

log = logging.getLogger(__name__)

HF_NAMESPACE = "adefossez"


def default_model_folder() -> Path:
    """The local model folder for Demucs weights (``<models_root>/demucs``)."""
    return models_root() / "demucs"


def pull_command(name: str) -> str:
    """The CLI command that downloads ``name`` into the default model folder."""
    return f"expotion models pull {name}"


@dataclass(frozen=True)
class ModelFiles:
    """Where one named model was found: its bag definition and one checkpoint per signature."""

    name: str
    location: str
    bag: dict[str, Any]
    checkpoints: tuple[Path, ...]


def _find_checkpoint(folder: Path, sig: str) -> Path | None:
    for candidate in (folder / f"{sig}.th", folder / f"{sig}.safetensors"):
        if candidate.is_file():
            return candidate
    matches = sorted(folder.glob(f"{sig}-*.th"))
    if len(matches) > 1:
        raise EngineError(
            f"{folder}: several checkpoints for signature {sig} ({', '.join(m.name for m in matches)}); keep one."
        )
    return matches[0] if matches else None


def _in_folder(folder: Path, name: str, location: str) -> ModelFiles | None:
    """The model in a local model folder, or None when its bag or a checkpoint is missing."""
    bag_file = folder / f"{name}.yaml"
    if bag_file.is_file():
        bag = read_bag(bag_file)
    elif folder.is_dir() and _find_checkpoint(folder, name) is not None:
        bag = {"models": [name]}
    else:
        return None
    found = [_find_checkpoint(folder, sig) for sig in bag["models"]]
    if any(path is None for path in found):
        missing = [sig for sig, path in zip(bag["models"], found, strict=True) if path is None]
        log.info("%s: %s lists %s but the checkpoint is missing", folder, bag_file.name, ", ".join(missing))
        return None
    return ModelFiles(name, location, bag, tuple(p for p in found if p is not None))


def _in_torch_hub(name: str) -> ModelFiles | None:
    import torch

    folder = Path(torch.hub.get_dir()) / "checkpoints"
    bag = read_bag(packaged_bag(name))
    urls = remote_files()
    paths = [folder / Path(urls.get(sig, sig)).name for sig in bag["models"]]
    if not all(path.is_file() for path in paths):
        return None
    return ModelFiles(name, f"torch hub cache ({folder})", bag, tuple(paths))


def hf_repo_id(name: str) -> str:
    """The Hugging Face repository demucs 4.1 downloads ``name`` from (``htdemucs_ft`` -> ``HTDemucs-ft``)."""
    if name == "htdemucs":
        return f"{HF_NAMESPACE}/HTDemucs"
    if name.startswith("htdemucs_"):
        return f"{HF_NAMESPACE}/HTDemucs-{name[len('htdemucs_'):]}"
    return f"{HF_NAMESPACE}/Demucs-{name}"


def _in_hf_cache(name: str) -> ModelFiles | None:
    from huggingface_hub import try_to_load_from_cache

    repo_id = hf_repo_id(name)

    def cached(filename: str) -> Path | None:
        hit = try_to_load_from_cache(repo_id, filename)
        return Path(hit) if isinstance(hit, str) else None

    bag_file = cached(f"{name}.yaml")
    if bag_file is None:
        return None
    bag = read_bag(bag_file)
    paths = [cached(f"{sig}.safetensors") for sig in bag["models"]]
    if any(path is None for path in paths):
        return None
    return ModelFiles(name, f"Hugging Face cache ({repo_id})", bag, tuple(p for p in paths if p is not None))


def locate_model(name: str, repo: str | os.PathLike[str] | None = None) -> ModelFiles:
    """Find ``name``'s files (see the module docstring for the order); never downloads."""
    if repo is not None:
        folder = Path(repo)
        if not folder.is_dir():
            raise ModelNotFoundError(f"Model folder {folder} does not exist; pass a folder holding {name}.yaml.")
        found = _in_folder(folder, name, f"model folder {folder}")
        if found is None:
            raise ModelNotFoundError(
                f"Demucs model {name!r} is not in {folder} (expected {name}.yaml and its <signature>.th files); "
                f"fetch it with `{pull_command(name)}` or pass the right folder."
            )
        return found
    check_model_name(name)
    folder = default_model_folder()
    searched = [str(folder), "the torch hub cache", "the Hugging Face cache"]
    for finder in (lambda: _in_folder(folder, name, f"model folder {folder}"),
                   lambda: _in_torch_hub(name),
                   lambda: _in_hf_cache(name)):
        found = finder()
        if found is not None:
            return found
    raise ModelNotFoundError(
        f"Demucs model {name!r} is not installed (looked in {', '.join(searched)}); "
        f"fetch it with `{pull_command(name)}`."
    )


def load_model(files: ModelFiles) -> Any:
    """Build the ``demucs.apply.BagOfModels`` for located files, checking checksums."""
    from demucs.apply import BagOfModels
    from demucs.repo import ModelLoadingError, check_checksum

    models = []
    for path in files.checkpoints:
        stem = path.stem
        if path.suffix == ".th" and "-" in stem:
            try:
                check_checksum(path, stem.rsplit("-", 1)[1])
            except ModelLoadingError as exc:
                raise EngineError(f"{path}: {exc}; delete it and pull the model again.") from None
        models.append(load_checkpoint(path))
    first = models[0]
    for path, other in zip(files.checkpoints, models, strict=True):
        if (other.sources, other.samplerate, other.audio_channels) != (
            first.sources, first.samplerate, first.audio_channels
        ):
            raise EngineError(f"{path}: its sources, rate or channels differ from the other models of {files.name}.")
    weights = files.bag.get("weights")
    if weights is not None and (
        len(weights) != len(models) or any(len(w) != len(first.sources) for w in weights)
    ):
        raise EngineError(f"Bag definition of {files.name}: 'weights' must be {len(models)} lists of "
                          f"{len(first.sources)} numbers.")
    bag = BagOfModels(models, weights, files.bag.get("segment"))
    return bag.eval()


__all__ = [
    "ModelFiles",
    "default_model_folder",
    "load_model",
    "locate_model",
    "models_root",
    "pull_command",
]
