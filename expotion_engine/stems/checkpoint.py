"""Read one Demucs checkpoint without executing it: ``.th`` or ``.safetensors``.

``demucs.states.load_model`` calls ``torch.load(weights_only=False)``, which unpickles
whatever the file names. Here ``.th`` files go through ``torch.load(weights_only=True)``
with only the Demucs model classes and ``Fraction`` allowed as globals, and the model is
built from an allow-list of classes; ``.safetensors`` files (the Hugging Face layout of
demucs 4.1) carry the class name and arguments as JSON metadata, checked the same way.
"""

from __future__ import annotations

import inspect
import json
import logging
import pickle
import re
from fractions import Fraction
from pathlib import Path
from typing import Any

import torch
from demucs.demucs import Demucs
from demucs.hdemucs import HDemucs
from demucs.htdemucs import HTDemucs
from torch import nn

from expotion_engine.errors import EngineError

log = logging.getLogger(__name__)

MODEL_CLASSES: dict[str, type[nn.Module]] = {
    f"{cls.__module__}.{cls.__qualname__}": cls for cls in (Demucs, HDemucs, HTDemucs)
}
_SAFE_GLOBALS = [*MODEL_CLASSES.values(), Fraction]


def _bad(path: Path, why: str) -> EngineError:
    return EngineError(f"{path}: not a usable Demucs checkpoint ({why}); delete it and pull the model again.")


def read_th(path: Path) -> dict[str, Any]:
    """The ``{'klass', 'args', 'kwargs', 'state'}`` package of a ``.th`` file, unpickled safely."""
    try:
        with torch.serialization.safe_globals(_SAFE_GLOBALS):
            package = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL (\S+)", str(exc))
        why = f"it refers to {found.group(1)}, which is not allowed" if found else str(exc).splitlines()[0]
        raise _bad(path, why) from None
    except (OSError, RuntimeError, EOFError) as exc:
        raise _bad(path, str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
    if not isinstance(package, dict) or not {"klass", "args", "kwargs", "state"} <= set(package):
        raise _bad(path, "expected a dict with klass, args, kwargs and state")
    return package


def _decode(value: Any) -> Any:
    """Decode the JSON form of Demucs init arguments (fractions are ``{"_type": "fraction"}``)."""
    if isinstance(value, dict):
        if value.get("_type") == "fraction":
            return Fraction(int(value["numerator"]), int(value["denominator"]))
        return {str(k): _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def read_safetensors(path: Path) -> dict[str, Any]:
    """The same package from a demucs 4.1 ``.safetensors`` file (class and arguments in metadata)."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            state = {key: handle.get_tensor(key) for key in handle.keys()}
    except (OSError, SafetensorError) as exc:
        raise _bad(path, str(exc)) from None
    if "structure" in metadata:
        raise _bad(path, "it holds a quantised state, which needs the diffq package")
    try:
        klass = metadata["klass"]
        args = _decode(json.loads(metadata["args"]))
        kwargs = _decode(json.loads(metadata["kwargs"]))
    except (KeyError, json.JSONDecodeError) as exc:
        raise _bad(path, f"metadata is missing or malformed: {exc}") from None
    if klass not in MODEL_CLASSES:
        raise _bad(path, f"model class {klass!r} is not one of {', '.join(MODEL_CLASSES)}")
    return {"klass": MODEL_CLASSES[klass], "args": args, "kwargs": kwargs, "state": state}


def build_model(package: dict[str, Any], path: Path) -> nn.Module:
    """Instantiate an allow-listed Demucs class from a package and load its state."""
    klass = package["klass"]
    if klass not in MODEL_CLASSES.values():
        raise _bad(path, f"model class {klass!r} is not allowed")
    args, kwargs, state = package["args"], package["kwargs"], package["state"]
    if not isinstance(args, (list, tuple)) or not isinstance(kwargs, dict) or not isinstance(state, dict):
        raise _bad(path, "args, kwargs or state have the wrong type")
    if state.get("__quantized"):
        raise _bad(path, "it holds a quantised state, which needs the diffq package")
    accepted = inspect.signature(klass).parameters
    unknown = [key for key in kwargs if key not in accepted]
    if unknown:
        log.warning("%s: ignoring arguments this demucs version does not know: %s", path, ", ".join(unknown))
    try:
        model = klass(*args, **{k: v for k, v in kwargs.items() if k in accepted})
        model.load_state_dict(state)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise _bad(path, str(exc).splitlines()[0]) from None
    return model.eval()


def load_checkpoint(path: Path) -> nn.Module:
    """Load one Demucs model from a ``.th`` or ``.safetensors`` file, safely."""
    package = read_safetensors(path) if path.suffix == ".safetensors" else read_th(path)
    return build_model(package, path)


__all__ = ["MODEL_CLASSES", "build_model", "load_checkpoint", "read_safetensors", "read_th"]
