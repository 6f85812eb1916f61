"""Music engines behind one protocol: ``generate(request, progress, cancel) -> Take``.

Engines register by id in :data:`ENGINES` (module path of a factory), imported only when
asked for, so a missing optional stack never breaks the others.
"""

from __future__ import annotations

import importlib
from typing import Any, Protocol

from expotion_engine.errors import EngineError
from expotion_engine.progress import CancelEvent, ProgressFn
from expotion_engine.types import GenerationRequest, Take

#: engine id -> "module:factory"; the factory takes keyword options and returns an Engine.
ENGINES: dict[str, str] = {
    "procedural": "expotion_engine.engines.procedural:ProceduralEngine",
    "musicgen": "expotion_engine.engines.musicgen:MusicgenEngine",
}


class Engine(Protocol):
    """What every engine provides."""

    id: str

    def generate(
        self,
        request: GenerationRequest,
        progress: ProgressFn | None = None,
        cancel: CancelEvent | None = None,
    ) -> Take: ...


def get_engine(name: str, **options: Any) -> Engine:
    """Build the engine called ``name`` with engine-specific ``options``."""
    if name not in ENGINES:
        raise EngineError(f"Unknown engine {name!r}; available: {', '.join(sorted(ENGINES))}.")
    module_name, factory = ENGINES[name].split(":")
    return getattr(importlib.import_module(module_name), factory)(**options)
