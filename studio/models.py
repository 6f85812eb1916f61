"""Registry of the model weights ``expotion models list|pull`` knows how to find and fetch.

Each family (Demucs stem separation, MusicGen generation, the SoundFont bank, …) registers one
:class:`ModelEntry` per name with two callables: ``installed()`` says where the weights
are on this machine (or None), and ``pull(progress, cancel)`` downloads and verifies them
into Expotion's model folder (``$EXPOTION_MODELS_DIR``, default
``~/.cache/expotion/models``) and returns where they went. Families add their entries in
a ``_register_<family>()`` function called at the bottom of this module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from expotion_engine.errors import EngineError, ModelNotFoundError
from expotion_engine.progress import CancelEvent, ProgressFn


@dataclass(frozen=True)
class ModelEntry:
    """One downloadable model: its name, family, size and how to find or fetch it."""

    name: str
    family: str
    description: str
    size_mb: int
    installed: Callable[[], str | None]
    pull: Callable[[ProgressFn | None, CancelEvent | None], Path]


REGISTRY: dict[str, ModelEntry] = {}


def register(entry: ModelEntry) -> None:
    """Add ``entry``; a second entry with the same name is a programming error."""
    if entry.name in REGISTRY:
        raise ValueError(f"Model {entry.name!r} is registered twice.")
    REGISTRY[entry.name] = entry


def get_entry(name: str) -> ModelEntry:
    """The entry for ``name``, or an EngineError listing the known names."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise EngineError(f"Unknown model {name!r}; known models: {', '.join(sorted(REGISTRY))}.") from None


def entries(family: str | None = None) -> list[ModelEntry]:
    """Registered entries (of one family), in registration order."""
    return [e for e in REGISTRY.values() if family is None or e.family == family]


def _register_demucs() -> None:
    from expotion_engine.stems import MODELS, locate_model, pull_model

    def installed(name: str) -> str | None:
        try:
            return locate_model(name).location
        except ModelNotFoundError:
            return None

    for info in MODELS.values():
        register(ModelEntry(
            name=info.name,
            family="demucs",
            description=f"stems: {info.description}; parts: {', '.join(info.sources)}",
            size_mb=info.download_mb,
            installed=lambda name=info.name: installed(name),
            pull=lambda progress, cancel, name=info.name: pull_model(name, progress=progress, cancel=cancel),
        ))


def _register_musicgen() -> None:
    from expotion_engine.engines.musicgen import hub
    from expotion_engine.engines.musicgen.catalog import VARIANTS

    def installed(name: str) -> str | None:
        rows = {row.name: row for row in hub.installed()}
        return str(rows[name].path) if rows[name].path is not None else None

    for variant in VARIANTS.values():
        register(ModelEntry(
            name=variant.name,
            family="musicgen",
            description=f"music: {variant.description} ({variant.parameters} parameters, {variant.repo_id})",
            size_mb=variant.download_mb,
            installed=lambda name=variant.name: installed(name),
            pull=lambda progress, cancel, name=variant.name: hub.pull(name, progress=progress, cancel=cancel),
        ))


def _register_soundfont() -> None:
    from expotion_engine.engines.procedural.render.soundfont import find_soundfont
    from expotion_engine.engines.procedural.render.soundfont_pull import DOWNLOAD_MB, pull_soundfont

    def installed() -> str | None:
        try:
            bank = find_soundfont()
        except EngineError:
            return None
        if bank is None or bank.source == "pretty_midi":  # the small bundled bank is the fallback, not an install
            return None
        return f"{bank.path} ({bank.source})"

    register(ModelEntry(
        name="soundfont",
        family="soundfont",
        description="sampled instruments: FluidR3 GM General MIDI bank (MIT), from Debian's fluid-soundfont-gm "
                    "package",
        size_mb=DOWNLOAD_MB,
        installed=installed,
        pull=lambda progress, cancel: pull_soundfont(progress=progress, cancel=cancel),
    ))


_register_demucs()
_register_musicgen()
_register_soundfont()

__all__ = ["REGISTRY", "ModelEntry", "entries", "get_entry", "register"]
