"""LoRA on the MusicGen decoder's self-attention through ``peft`` (injected in place)."""

from __future__ import annotations

import torch
from peft import LoraConfig, get_peft_model_state_dict, inject_adapter_in_model, set_peft_model_state_dict

from expotion_engine.engines.musicgen.config import AdapterConfig
from expotion_engine.engines.musicgen.loading import LoadedModel
from expotion_engine.errors import EngineError


def lora_config(config: AdapterConfig) -> LoraConfig:
    """peft settings: rank/alpha from ``config``, only the chosen layers' self-attention projections."""
    layers = "|".join(str(i) for i in config.layers) if config.layers else r"\d+"
    targets = "|".join(config.lora_targets)
    return LoraConfig(
        r=config.lora_rank,
        lora_alpha=config.lora_alpha,
        lora_dropout=0.0,
        target_modules=rf"model\.decoder\.layers\.({layers})\.self_attn\.({targets})",
    )


def has_lora(lm: LoadedModel) -> bool:
    return any("lora_" in name for name, _ in lm.model.decoder.named_parameters())


def inject_lora(lm: LoadedModel, config: AdapterConfig) -> None:
    """Add zero-initialised LoRA layers to the decoder (no change to its output until trained)."""
    if has_lora(lm):
        raise EngineError("This model already carries LoRA layers; load a fresh base model for another adapter.")
    inject_adapter_in_model(lora_config(config), lm.model.decoder)
    lm.model.decoder.to(lm.device)


def lora_state(lm: LoadedModel) -> dict[str, torch.Tensor]:
    """The LoRA weights (peft's key names, without the adapter name)."""
    return {k: v.detach() for k, v in get_peft_model_state_dict(lm.model.decoder).items()}


def load_lora_state(lm: LoadedModel, state: dict[str, torch.Tensor]) -> None:
    """Load LoRA weights saved by :func:`lora_state`; every key must match."""
    result = set_peft_model_state_dict(lm.model.decoder, state)
    unexpected = list(getattr(result, "unexpected_keys", []) or [])
    missing = [k for k in getattr(result, "missing_keys", []) or [] if "lora_" in k]
    if unexpected or missing:
        raise EngineError(
            f"LoRA weights do not fit this model (unexpected: {unexpected[:3]}, missing: {missing[:3]})."
        )


def lora_parameters(lm: LoadedModel) -> list[torch.nn.Parameter]:
    return [p for name, p in lm.model.decoder.named_parameters() if "lora_" in name]
