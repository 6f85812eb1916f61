"""Which engines the Score panel can offer on this machine, and why others are not.

``procedural`` is built in and always available; each MusicGen model is offered when its
weights are installed and listed as unavailable, with the command that installs it, when
they are not. The MusicGen catalogue and its installed-check (``hub``) load neither torch
nor transformers, so listing them costs a fraction of a second; ``studio.models`` would
also import the Demucs stack (seconds of GIL-holding imports that would stall the window).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EngineChoice:
    """One entry of the engine menu."""

    engine: str
    label: str
    available: bool
    detail: str
    options: dict[str, Any] = field(default_factory=dict)


PROCEDURAL = EngineChoice(
    "procedural",
    "Procedural (built in)",
    True,
    "Composes from the video's controls on the CPU; exact stems, MIDI and tempo map; no model weights.",
)


def engine_choices() -> list[EngineChoice]:
    """The procedural engine, then every MusicGen model with whether its weights are installed."""
    choices = [PROCEDURAL]
    try:
        from expotion_engine.engines.musicgen import hub
        from expotion_engine.engines.musicgen.catalog import VARIANTS

        rows = hub.installed()
    except Exception as exc:  # noqa: BLE001 - a broken optional stack must not hide the built-in engine
        log.warning("cannot list MusicGen models: %s", exc)
        return choices
    for row in rows:
        variant = VARIANTS[row.name]
        description = f"{variant.description} ({variant.parameters} parameters, {variant.repo_id})"
        if row.path is not None:
            detail = f"{description}; installed at {row.path}."
        else:
            detail = (f"{description}; not installed ({variant.download_mb / 1000:.1f} GB): "
                      f"run `expotion models pull {row.name}`.")
        choices.append(EngineChoice("musicgen", f"MusicGen — {row.name}", row.path is not None, detail,
                                    {"model": row.name}))
    return choices


def session_choice(engine: str, options: Mapping[str, Any]) -> EngineChoice:
    """The menu entry for a session's engine settings that no listed entry matches (a model folder or
    ``auto``, an adapter): shown as they are, so the menu never claims another engine than Generate uses."""
    if engine != "musicgen":
        return EngineChoice(engine, engine, True, f"This session's engine, {engine}.", dict(options))
    model = str(options.get("model") or "auto")
    name = PurePath(model).name if "/" in model or "\\" in model else model
    label = f"MusicGen — {name}" + (" + adapter" if options.get("adapter") else "")
    settings = [f"model {model}" + (" (the best installed)" if model == "auto" else "")]
    settings += [f"{key} {options[key]}" for key in ("adapter", "device", "precision") if options.get(key)]
    return EngineChoice("musicgen", label, True, f"This session's MusicGen settings: {', '.join(settings)}.",
                        dict(options))


def availability_summary(choices: list[EngineChoice]) -> str:
    """One line for the status bar: which models can run here."""
    ready = [c.label for c in choices if c.available]
    missing = sum(1 for c in choices if not c.available)
    text = "Engines available: " + ", ".join(ready)
    if missing:
        text += f" ({missing} MusicGen model{'s' if missing != 1 else ''} not installed)"
    return text
