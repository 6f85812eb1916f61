"""The Expotion model: MusicGen (``transformers``) steered by the video's controls.

Public API: :class:`MusicgenEngine` (the ``musicgen`` engine), :func:`load_model`,
:class:`AdapterConfig`, :func:`new_adapter` / :func:`load_adapter` / :func:`save_adapter`,
:func:`generate_audio`, and the model catalogue (:data:`VARIANTS`). Training lives in
:mod:`expotion_engine.engines.musicgen.train`. Names are imported on first use, so that
listing or locating models (``hub``, ``catalog``) does not load torch and transformers.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ControlAdapter": "adapter",
    "TINY": "catalog",
    "VARIANTS": "catalog",
    "ArchitectureSpec": "catalog",
    "ModelVariant": "catalog",
    "get_variant": "catalog",
    "load_adapter": "checkpoint",
    "new_adapter": "checkpoint",
    "save_adapter": "checkpoint",
    "DEFAULT_GROUPS": "config",
    "AdapterConfig": "config",
    "ModalityGroup": "config",
    "MusicgenEngine": "engine",
    "MusicgenOptions": "engine",
    "ControlInput": "generate",
    "WindowSettings": "generate",
    "generate_audio": "generate",
    "LoadedModel": "loading",
    "load_model": "loading",
    "SamplingSettings": "sampling",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
