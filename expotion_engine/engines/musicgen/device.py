"""Choosing where the model runs: CUDA, Apple MPS or CPU, and its precision there."""

from __future__ import annotations

import torch

from expotion_engine.errors import EngineError

DEVICES = ("auto", "cpu", "cuda", "mps")
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def resolve_device(name: str | None = "auto") -> torch.device:
    """``auto`` picks CUDA, then MPS, then CPU; an explicit name must be available here."""
    name = (name or "auto").lower()
    kind = name.split(":", 1)[0]
    if kind not in DEVICES:
        raise EngineError(f"Unknown device {name!r}; use one of {', '.join(DEVICES)} (cuda:N for a given GPU).")
    if kind == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    if kind == "cuda" and not torch.cuda.is_available():
        raise EngineError(f"Device {name!r} was asked for but this PyTorch build sees no CUDA GPU; use --device cpu.")
    if kind == "mps" and not _mps_available():
        raise EngineError(f"Device {name!r} was asked for but Apple MPS is not available here; use --device cpu.")
    return torch.device(name)


def resolve_dtype(name: str | None, device: torch.device) -> torch.dtype:
    """``None``/``auto``: half precision on a GPU (bfloat16 where CUDA supports it), float32 on CPU."""
    if name in (None, "auto"):
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float16 if device.type == "mps" else torch.float32
    try:
        dtype = DTYPES[name]
    except KeyError:
        raise EngineError(f"Unknown precision {name!r}; use one of auto, {', '.join(DTYPES)}.") from None
    if device.type == "cpu" and dtype is torch.float16:
        raise EngineError("float16 is not supported for generation on the CPU; use float32 or bfloat16.")
    return dtype
