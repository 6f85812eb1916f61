"""Optimizer and scheduler state as one safetensors file, so a checkpoint holds no pickle.

The tensors are stored as safetensors; the rest of the nested structure (dicts with int or
str keys, lists, tuples, numbers, strings, booleans, None) is JSON in the file's metadata,
with each tensor replaced by a reference to its key. Reading never runs code from the file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save as save_tensors

STATE_FORMAT = "expotion.trainer-state"
_TENSOR, _TUPLE, _MAP = "$tensor", "$tuple", "$map"


def encode_state(state: Any) -> bytes:
    """``state`` (e.g. ``{"optimizer": ..., "scheduler": ...}``) as safetensors bytes; TypeError for other objects."""
    tensors: dict[str, torch.Tensor] = {}

    def encode(value: Any) -> Any:
        if isinstance(value, torch.Tensor):
            key = f"t{len(tensors)}"
            tensors[key] = value.detach().to("cpu").contiguous()
            return {_TENSOR: key}
        if isinstance(value, dict):
            return {_MAP: [[encode(k), encode(v)] for k, v in value.items()]}
        if isinstance(value, tuple):
            return {_TUPLE: [encode(v) for v in value]}
        if isinstance(value, list):
            return [encode(v) for v in value]
        if value is None or isinstance(value, bool | int | float | str):
            return value
        raise TypeError(f"cannot store a {type(value).__name__} in trainer state")

    tree = encode(state)
    return save_tensors(tensors, metadata={"format": STATE_FORMAT, "tree": json.dumps(tree)})


def read_state(path: str | os.PathLike[str], device: str | torch.device = "cpu") -> Any:
    """The structure :func:`encode_state` stored in ``path``; ValueError if the file is not such a state."""
    with safe_open(str(Path(path)), framework="pt", device=str(device)) as handle:
        metadata = handle.metadata() or {}
        if metadata.get("format") != STATE_FORMAT or "tree" not in metadata:
            raise ValueError(f"not an Expotion trainer state (format {STATE_FORMAT!r} expected)")
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    tree = json.loads(metadata["tree"])

    def decode(value: Any) -> Any:
        if isinstance(value, list):
            return [decode(v) for v in value]
        if isinstance(value, dict):
            if set(value) == {_TENSOR}:
                return tensors[value[_TENSOR]]
            if set(value) == {_TUPLE}:
                return tuple(decode(v) for v in value[_TUPLE])
            if set(value) == {_MAP}:
                return {decode(k): decode(v) for k, v in value[_MAP]}
            raise ValueError(f"unknown entry {sorted(value)!r} in the stored structure")
        return value

    return decode(tree)
