"""The Demucs models Expotion knows by name: their parts, signatures and download files.

The bag definitions (``<name>.yaml``: signatures, per-source weights, segment) and the list
of published checkpoint files ship inside the ``demucs`` package (``demucs/remote``); this
module reads them as data, so a model's files can be found, verified and fetched without
importing demucs's network code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from expotion_engine.errors import EngineError

DOWNLOAD_ROOT = "https://dl.fbaipublicfiles.com/demucs/"


@dataclass(frozen=True)
class DemucsModelInfo:
    """A named Demucs model: what it separates and how big a download it is."""

    name: str
    sources: tuple[str, ...]
    description: str
    download_mb: int


MODELS: dict[str, DemucsModelInfo] = {
    info.name: info
    for info in (
        DemucsModelInfo(
            "htdemucs",
            ("drums", "bass", "other", "vocals"),
            "Hybrid Transformer Demucs v4 (default; fast, good quality)",
            80,
        ),
        DemucsModelInfo(
            "htdemucs_ft",
            ("drums", "bass", "other", "vocals"),
            "htdemucs fine-tuned per source (bag of 4; best quality, 4x slower)",
            320,
        ),
        DemucsModelInfo(
            "htdemucs_6s",
            ("drums", "bass", "other", "vocals", "guitar", "piano"),
            "htdemucs with guitar and piano stems (experimental piano)",
            55,
        ),
        DemucsModelInfo(
            "mdx_extra",
            ("drums", "bass", "other", "vocals"),
            "Hybrid Demucs v3 trained with extra data (bag of 4)",
            670,
        ),
    )
}

DEFAULT_MODEL = "htdemucs"


def _remote_root() -> Path:
    """The ``remote`` folder of the installed demucs package (bag yamls and files.txt)."""
    import demucs

    return Path(demucs.__file__).parent / "remote"


def check_model_name(name: str) -> DemucsModelInfo:
    """The catalogue entry for ``name``, or an EngineError listing the known names."""
    try:
        return MODELS[name]
    except KeyError:
        raise EngineError(
            f"Unknown Demucs model {name!r}; choose one of: {', '.join(MODELS)}."
        ) from None


def read_bag(path: Path) -> dict[str, Any]:
    """Parse a bag definition (``models``, optional ``weights`` and ``segment``) safely."""
    try:
        bag = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise EngineError(f"{path}: not a readable Demucs bag definition ({exc}).") from None
    models = bag.get("models") if isinstance(bag, dict) else None
    if not isinstance(models, list) or not models or not all(isinstance(s, str) for s in models):
        raise EngineError(f"{path}: a Demucs bag definition needs a non-empty 'models' list of signatures.")
    return bag


def packaged_bag(name: str) -> Path:
    """Path of the bag definition for ``name`` shipped inside the demucs package."""
    check_model_name(name)
    return _remote_root() / f"{name}.yaml"


def remote_files() -> dict[str, str]:
    """Map of signature -> download URL path (relative to :data:`DOWNLOAD_ROOT`)."""
    files: dict[str, str] = {}
    root = ""
    for line in (_remote_root() / "files.txt").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("root:"):
            root = line.split(":", 1)[1].strip()
            continue
        files[line.split("-", 1)[0]] = root + line
    return files


__all__ = [
    "DEFAULT_MODEL",
    "DOWNLOAD_ROOT",
    "MODELS",
    "DemucsModelInfo",
    "check_model_name",
    "packaged_bag",
    "read_bag",
    "remote_files",
]
