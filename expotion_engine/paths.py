"""Where Expotion keeps files on this machine, importable without any heavy library."""

from __future__ import annotations

import os
from pathlib import Path


def models_root() -> Path:
    """Where Expotion keeps downloaded model weights (``$EXPOTION_MODELS_DIR``)."""
    configured = os.environ.get("EXPOTION_MODELS_DIR")
    if configured:
        return Path(configured).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "expotion" / "models"
