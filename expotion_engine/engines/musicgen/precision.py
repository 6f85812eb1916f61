"""How the decoder computes: float32, bfloat16, or int8 weights with dynamic activation quantisation.

``int8`` quantises the decoder's ``nn.Linear`` layers with PyTorch's eager dynamic
quantisation (``torch.ao.quantization.quantize_dynamic``, qint8 weights, activations
quantised per call). ``torch.ao`` flags eager quantisation as deprecated in favour of
``torchao``, but ``torchao``'s eager int8 dynamic path ran 8x slower than ``torch.ao``'s
fbgemm kernels on this CPU (torch 2.13, torchao 0.18, no ``torch.compile``), so the
working kernels are used and the deprecation warning is silenced here only. The text
encoder runs once per window and stays in float; LoRA layers are left as they are. Each
quantised layer then calls its kernel through a scripted function (:class:`Int8Linear`).
"""

from __future__ import annotations

import functools
import logging
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear

from expotion_engine.errors import EngineError

log = logging.getLogger(__name__)

PRECISIONS = ("auto", "fp32", "bf16", "int8")
_DTYPE_NAMES = {"fp32": "float32", "bf16": "bfloat16", "int8": "float32"}


@dataclass(frozen=True)
class Precision:
    """A resolved precision: the weights' dtype name and whether the decoder is quantised to int8."""

    name: str
    dtype: str | None
    quantize: bool


def resolve_precision(name: str | None, dtype: str | None, device: torch.device) -> Precision:
    """``auto``: int8 on CPU unless a ``dtype`` is named, else the device's default dtype."""
    name = (name or "auto").lower()
    if name not in PRECISIONS:
        raise EngineError(f"Unknown precision {name!r}; use one of {', '.join(PRECISIONS)}.")
    if name == "auto":
        if dtype not in (None, "auto") or device.type != "cpu":
            return Precision("auto", dtype, False)
        name = "int8"
    if name == "int8" and device.type != "cpu":
        raise EngineError(f"int8 precision runs on the CPU only, not on {device}; use --precision fp32 or bf16.")
    return Precision(name, _DTYPE_NAMES[name], name == "int8")


@functools.cache
def _int8_kernel() -> Callable[[torch.Tensor, Any], torch.Tensor]:
    """The dynamic int8 kernel behind a TorchScript function: from Python, a scripted call skips the
    operator's overload resolution and its ``__torch_function__`` check of the arguments (the packed
    weights included): 20 µs a call instead of 30, 6-9 % of a step.
    ``torch.jit`` is deprecated in favour of ``torch.compile``, which made the int8 decoder 3x slower
    (docs/musicgen.md); where scripting fails, the operator is called as it is."""

    def linear(x: torch.Tensor, packed: torch.classes.quantized.LinearPackedParamsBase) -> torch.Tensor:
        return torch.ops.quantized.linear_dynamic(x, packed, True)

    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            return torch.jit.script(linear)
    except Exception as error:  # torch.jit raises many kinds; any of them leaves the plain call
        log.info("int8 kernel not scripted (%s); calling the operator directly", error)
        return linear


class Int8Linear(DynamicLinear):
    """``torch.ao``'s dynamic int8 ``Linear`` with the same result from a leaner call.

    The library's ``forward`` checks the weight dtype and module version and resolves the
    kernel's overload from its arguments on every call; a decoder step of musicgen-small
    makes close to 200 of them, so this one calls a scripted kernel directly: 20 µs a call
    where the library's took 48 µs (a 1024-wide layer, two rows).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _int8_kernel()(x, self._packed_params._packed_params)


def quantize_decoder(model: nn.Module) -> int:
    """Swap the decoder's plain ``nn.Linear`` layers for int8 dynamic ones in place; returns how many."""
    decoder = model.decoder
    names = {
        name for name, module in decoder.named_modules()
        if type(module) is nn.Linear and "lora_" not in name and "base_layer" not in name
    }
    if not names:
        return 0
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=UserWarning, message=".*quantize_per_tensor.*")
        torch.ao.quantization.quantize_dynamic(decoder, names, dtype=torch.qint8, inplace=True)
    for module in decoder.modules():
        if type(module) is DynamicLinear and module._packed_params.dtype == torch.qint8 and module.version >= 4:
            module.__class__ = Int8Linear  # same state, the lean forward (reduce_range as version 4 uses it)
    log.info("decoder quantised to int8: %d linear layers", len(names))
    return len(names)


def use_all_cores() -> int:
    """Give torch every core this process may use, unless ``OMP_NUM_THREADS`` says otherwise; returns the count."""
    if os.environ.get("OMP_NUM_THREADS"):
        threads = torch.get_num_threads()
        log.info("torch threads: %d (OMP_NUM_THREADS)", threads)
        return threads
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if torch.get_num_threads() != cores:
        torch.set_num_threads(cores)
    log.info("torch threads: %d (all available cores)", cores)
    return cores
