"""Settings of the visual-control adapter, saved with every checkpoint."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from expotion_engine.controls.channels import BODY_CHANNELS, DERIVED_CHANNELS, FACE_CHANNELS, FLOW_CHANNELS
from expotion_engine.errors import EngineError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModalityGroup:
    """One modality (face, body, flow, …): its own projection, null vector and dropout."""

    name: str
    channels: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.name or not self.channels:
            raise EngineError(f"Adapter modality {self.name!r} needs a name and at least one channel.")
        object.__setattr__(self, "channels", tuple(self.channels))


DEFAULT_GROUPS: tuple[ModalityGroup, ...] = (
    ModalityGroup("face", FACE_CHANNELS),
    ModalityGroup("body", BODY_CHANNELS),
    ModalityGroup("flow", FLOW_CHANNELS),
    ModalityGroup("derived", DERIVED_CHANNELS),
)


def _help(text: str, default: Any) -> Any:
    return field(default=default, metadata={"help": text})


@dataclass(frozen=True)
class AdapterConfig:
    """Shape and behaviour of the gated condition-prefix adapter (and optional LoRA)."""

    groups: tuple[ModalityGroup, ...] = _help("control channels per modality", DEFAULT_GROUPS)
    dim: int = _help("width of the fused control embedding (rank of each layer's key/value map)", 64)
    layers: tuple[int, ...] = _help("decoder layers that get a control prefix; empty means all", ())
    lookback: float = _help("seconds of past video each music frame sees, beyond the codebook delay", 0.1)
    lookahead: float = _help("seconds of future video each music frame may see (bounded look-ahead)", 0.5)
    modality_dropout: float = _help("training: chance to replace one modality by its null vector", 0.1)
    control_dropout: float = _help("training: chance to drop every modality (for control guidance)", 0.1)
    lora_rank: int = _help("rank of LoRA on the decoder's self-attention; 0 switches LoRA off", 0)
    lora_alpha: float = _help("LoRA scaling numerator (scale = alpha / rank)", 16.0)
    lora_targets: tuple[str, ...] = _help("self-attention projections that get LoRA", ("q_proj", "v_proj"))

    def __post_init__(self) -> None:
        object.__setattr__(self, "groups", tuple(self.groups))
        object.__setattr__(self, "layers", tuple(int(i) for i in self.layers))
        object.__setattr__(self, "lora_targets", tuple(self.lora_targets))
        names = [g.name for g in self.groups]
        if not self.groups or len(set(names)) != len(names):
            raise EngineError(f"Adapter modalities must be non-empty and unique, got {names}.")
        if len(set(self.channels)) != len(self.channels):
            raise EngineError("A control channel appears in two adapter modalities.")
        if self.dim < 1 or self.lora_rank < 0 or any(i < 0 for i in self.layers):
            raise EngineError(f"Adapter dim ({self.dim}), lora_rank ({self.lora_rank}) and layers must be >= 0.")
        for name in ("lookback", "lookahead"):
            value = getattr(self, name)
            if not (math.isfinite(value) and 0.0 <= value <= 30.0):
                raise EngineError(f"Adapter {name} must be between 0 and 30 seconds, got {value}.")
        for name in ("modality_dropout", "control_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise EngineError(f"Adapter {name} must be in [0, 1), got {getattr(self, name)}.")
        allowed = {"q_proj", "k_proj", "v_proj", "out_proj"}
        if not set(self.lora_targets) <= allowed:
            raise EngineError(f"LoRA targets {self.lora_targets} must be among {sorted(allowed)}.")

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(c for g in self.groups for c in g.channels)

    @property
    def modality_names(self) -> tuple[str, ...]:
        return tuple(g.name for g in self.groups)

    def band(self, frame_rate: float, max_delay: int) -> tuple[int, int]:
        """Frames each query sees before and after its newest predicted frame.

        The decoder output at step ``s`` predicts frame ``s - d_k`` of codebook ``k``, so the
        window reaches ``max_delay`` frames further back to cover every codebook's target.
        """
        return max_delay + int(round(self.lookback * frame_rate)), int(round(self.lookahead * frame_rate))

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["groups"] = [{"name": g.name, "channels": list(g.channels)} for g in self.groups]
        data["layers"] = list(self.layers)
        data["lora_targets"] = list(self.lora_targets)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AdapterConfig:
        """Build from saved data; keys written by a newer version are ignored with a warning."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            log.warning("ignoring unknown adapter settings %s (written by a newer Expotion?)", ", ".join(unknown))
        kwargs = {k: v for k, v in data.items() if k in known}
        if "groups" in kwargs:
            kwargs["groups"] = tuple(ModalityGroup(g["name"], tuple(g["channels"])) for g in kwargs["groups"])
        return cls(**kwargs)
