"""How the decoder computes: float32, bfloat16, or int8 weights with dynamic activation quantisation.

``int8`` quantises the decoder's ``nn.Linear`` layers with PyTorch's eager dynamic
quantisation (``torch.ao.quantization.quantize_dynamic``, qint8 weights, activations
quantised per call). ``torch.ao`` flags eager quantisation as deprecated in favour of
``torchao``, but ``torchao``'s eager int8 dynamic path ran 8x slower than ``torch.ao``'s
fbgemm kernels on this CPU (torch 2.13, torchao 0.18, no ``torch.compile``), so the
working kernels are used and the deprecation warning is silenced here only. The text
encoder runs once per window and stays in float; LoRA layers are left as they are. Each
quantised layer then calls its kernel's overload directly (:class:`Int8Linear`).
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass

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


_LINEAR_DYNAMIC = torch.ops.quantized.linear_dynamic.default


class Int8Linear(DynamicLinear):
    """``torch.ao``'s dynamic int8 ``Linear`` calling its kernel's overload directly, with the same result.

    The library's ``forward`` checks the weight dtype and module version and resolves the
    overload from its arguments on every call: about 10 µs of a 40 µs call, and a decoder
    step of musicgen-small makes close to 200 of them.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _LINEAR_DYNAMIC(x, self._packed_params._packed_params, True)


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
