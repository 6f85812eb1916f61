"""What a MusicGen Take needs beyond its mix: a tempo map and stems, from the later stages.

MusicGen does not know its own tempo or parts, so they are recovered from the audio by
``expotion_engine.tempo.estimate_tempo_map`` and ``expotion_engine.stems.separate``.
Where a stage is not installed, the Take says so in its info (never silently): the
tempo map then falls back to the requested BPM (or 120) and the stem list stays empty.
"""

from __future__ import annotations

import importlib
import inspect
import logging
from collections.abc import Callable
from typing import Any

import numpy as np

from expotion_engine.progress import CancelEvent, ProgressFn
from expotion_engine.types import Stem, TempoMap

log = logging.getLogger(__name__)


def _stage(module: str, name: str) -> Callable[..., Any] | None:
    try:
        return getattr(importlib.import_module(module), name, None)
    except ImportError as exc:
        log.info("%s.%s is not available (%s)", module, name, exc)
        return None


def _call(fn: Callable[..., Any], *args: Any, **options: Any) -> Any:
    """Call a stage with the keyword options it accepts (progress, cancel, fallback, device)."""
    params = inspect.signature(fn).parameters
    return fn(*args, **{k: v for k, v in options.items() if k in params})


def tempo_map_for(
    mix: np.ndarray, sample_rate: int, bpm: float | None, notes: list[str],
    progress: ProgressFn | None = None, cancel: CancelEvent | None = None,
) -> TempoMap:
    """The tempo stage's map of ``mix``, or a constant map at ``bpm`` (default 120) with a note."""
    estimate = _stage("expotion_engine.tempo", "estimate_tempo_map")
    if estimate is None:
        notes.append("tempo map not estimated (expotion_engine.tempo unavailable): constant "
                     f"{bpm or 120:g} BPM")
        return TempoMap.constant(float(bpm or 120.0))
    return _call(estimate, mix, sample_rate, progress=progress, cancel=cancel)


def stems_for(
    mix: np.ndarray, sample_rate: int, notes: list[str], device: str | None = None,
    progress: ProgressFn | None = None, cancel: CancelEvent | None = None,
) -> tuple[Stem, ...]:
    """Stems separated from ``mix`` by the stems stage (Demucs, or its marked DSP fallback where
    the weights are missing), or none (with a note) where the stage is not installed."""
    separate = _stage("expotion_engine.stems", "separate")
    if separate is None:
        notes.append("stems not separated (expotion_engine.stems unavailable)")
        return ()
    return tuple(_call(separate, mix, sample_rate, fallback=True, device=device, progress=progress, cancel=cancel))
