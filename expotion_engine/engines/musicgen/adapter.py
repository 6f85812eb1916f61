"""The gated condition-prefix adapter: visual controls steer MusicGen's self-attention.

As in the paper (a Coco-Mulla style adaptor), every chosen decoder layer gets keys and
values computed from the controls, attended to with that layer's own queries, and added
to its self-attention through a scalar gate initialised at zero, so an untrained adapter
leaves the base model's output bit-for-bit unchanged. Changed from the paper:

* each modality (face, body, flow, derived) has its own projection and a learned null
  vector used where it is missing, masked or dropped; the modalities are fused by an
  explicit MLP;
* a query at decoder step ``s`` sees only control frames ``s - back .. s + ahead`` (the
  codebook delays plus a look-back, and a bounded look-ahead), with a relative position
  bias per head and offset instead of a 50M-parameter absolute table, so any length and
  any window offset work;
* padded frames are masked; a per-layer "sink" key with a zero value lets a query take
  nothing from the controls.

It is wired into ``transformers``' MusicGen without forking it: a forward hook on each
layer's ``self_attn.q_proj`` keeps the queries, and a pre-hook on ``self_attn.out_proj``
adds the gated control attention to the heads' output before the output projection.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from expotion_engine.engines.musicgen.config import AdapterConfig
from expotion_engine.engines.musicgen.delay import codebook_delays
from expotion_engine.errors import EngineError


class ControlEncoder(nn.Module):
    """Per-modality projections with learned null vectors, fused into one embedding per frame."""

    def __init__(self, config: AdapterConfig) -> None:
        super().__init__()
        dim, groups = config.dim, config.groups
        self.proj = nn.ModuleList(nn.Linear(len(g.channels), dim) for g in groups)
        self.null = nn.Parameter(0.02 * torch.randn(len(groups), dim))
        self.fuse = nn.Sequential(nn.Linear(len(groups) * dim, dim), nn.GELU(), nn.Linear(dim, dim))
        self.norm = nn.LayerNorm(dim)
        self.register_buffer("mean", torch.zeros(len(config.channels)))
        self.register_buffer("std", torch.ones(len(config.channels)))
        bounds, start = [], 0
        for g in groups:
            bounds.append((start, start + len(g.channels)))
            start += len(g.channels)
        self.bounds = tuple(bounds)

    def forward(self, values: torch.Tensor, mask: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        """``values``/``mask`` ``(B, F, C)``, ``keep`` ``(B, M)`` → embeddings ``(B, F, dim)``."""
        x = torch.where(mask, (values - self.mean) / self.std, torch.zeros_like(values))
        parts = []
        for m, (lo, hi) in enumerate(self.bounds):
            present = (mask[..., lo:hi].float().mean(-1) >= 0.5) & keep[:, m, None]
            h = self.proj[m](x[..., lo:hi])
            parts.append(torch.where(present[..., None], h, self.null[m].to(h.dtype)))
        return self.norm(self.fuse(torch.cat(parts, dim=-1)))


class PrefixAttention(nn.Module):
    """One layer's control keys/values, relative position bias and zero-initialised gate."""

    def __init__(self, dim: int, hidden: int, heads: int, back: int, ahead: int) -> None:
        super().__init__()
        self.heads, self.head_dim, self.back, self.ahead = heads, hidden // heads, back, ahead
        self.key = nn.Linear(dim, hidden, bias=False)
        self.value = nn.Linear(dim, hidden, bias=False)
        self.null_key = nn.Parameter(torch.zeros(heads, self.head_dim))
        self.position_bias = nn.Parameter(torch.zeros(heads, back + ahead + 1))
        self.gate = nn.Parameter(torch.zeros(()))

    def project(self, memory: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Keys and values ``(B, F, hidden)`` of every frame of ``memory`` ``(B, F, dim)``."""
        return self.key(memory), self.value(memory)

    def band(self, memory: torch.Tensor, valid: torch.Tensor) -> Band:
        """A window's keys and values laid out for :meth:`step` (computed once per window when sampling)."""
        keys, values = self.project(memory)
        batch, frames, hidden = keys.shape
        pad = (0, 0, self.back, self.ahead)

        def heads(x: torch.Tensor) -> torch.Tensor:
            return F.pad(x, pad).view(batch, -1, self.heads, self.head_dim).transpose(1, 2).contiguous()

        mask = torch.zeros(batch, frames, dtype=keys.dtype, device=keys.device).masked_fill(~valid, float("-inf"))
        mask = F.pad(mask, (self.back, self.ahead), value=float("-inf"))[:, None, None]
        return Band(self.back, frames, heads(keys).transpose(-1, -2).contiguous(), heads(values), mask)

    def step(self, query: torch.Tensor, memory: torch.Tensor, valid: torch.Tensor, start: int,
             band: Band) -> torch.Tensor:
        """:meth:`forward` for one query step (a sampling step) with a precomputed :meth:`band`.

        The band of step ``s`` is the slice ``s .. s + back + ahead`` of the padded keys, so a
        step is two small matrix products instead of gathering offsets and masks per layer;
        the null key's logit joins the softmax as the first column. Other shapes fall back
        to :meth:`forward`.
        """
        batch, length, hidden = query.shape
        width = self.back + self.ahead + 1
        if length != 1 or start < 0 or start + width > band.keys.shape[-1]:
            return self.forward(query, memory, valid, start, band.projected())
        q = query.view(batch, 1, self.heads, self.head_dim).transpose(1, 2) * self.head_dim**-0.5
        scores = q @ band.keys[..., start : start + width]
        scores = scores + self.position_bias[None, :, None].to(q.dtype) + band.mask[..., start : start + width]
        sink = q @ self.null_key[None, :, :, None].to(q.dtype)
        weights = torch.softmax(torch.cat([sink, scores], dim=-1), dim=-1)[..., 1:]
        out = weights @ band.values[:, :, start : start + width]
        return out.transpose(1, 2).reshape(batch, 1, hidden)

    def forward(self, query: torch.Tensor, memory: torch.Tensor, valid: torch.Tensor, start: int,
                projected: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        """Attend from ``query`` ``(B, L, hidden)`` at steps ``start..start+L`` to ``memory`` ``(B, F, dim)``.

        ``projected`` is :meth:`project` of the same memory, computed once per window when sampling.
        """
        batch, length, hidden = query.shape
        frames = memory.shape[1]
        lo, hi = max(start - self.back, 0), min(start + length - 1 + self.ahead + 1, frames)
        if hi <= lo:
            return query.new_zeros(query.shape)
        width = hi - lo
        q = query.view(batch, length, self.heads, self.head_dim).transpose(1, 2)
        if projected is None:
            keys, values = self.key(memory[:, lo:hi]), self.value(memory[:, lo:hi])
        else:
            keys, values = projected[0][:, lo:hi], projected[1][:, lo:hi]
        k = keys.reshape(batch, width, self.heads, self.head_dim).transpose(1, 2)
        v = values.reshape(batch, width, self.heads, self.head_dim).transpose(1, 2)
        k = torch.cat([self.null_key[None, :, None].expand(batch, -1, -1, -1).to(k.dtype), k], dim=2)
        v = torch.cat([v.new_zeros(batch, self.heads, 1, self.head_dim), v], dim=2)
        steps = torch.arange(start, start + length, device=query.device)
        offset = (lo + torch.arange(width, device=query.device))[None, :] - steps[:, None]
        in_band = (offset >= -self.back) & (offset <= self.ahead)
        bias = self.position_bias[:, (offset + self.back).clamp(0, self.back + self.ahead)].to(q.dtype)
        allowed = in_band[None, None] & valid[:, None, None, lo:hi]
        bias = bias[None].masked_fill(~allowed, float("-inf"))
        bias = torch.cat([bias.new_zeros(batch, self.heads, length, 1), bias], dim=-1)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        return out.transpose(1, 2).reshape(batch, length, hidden)


@dataclass(eq=False)
class Band:
    """One layer's control keys and values for a window, per head and padded by ``back`` frames
    before and ``ahead`` after the ``frames``: keys ``(B, H, head_dim, P)``, values ``(B, H, P,
    head_dim)``, and an additive mask ``(B, 1, 1, P)`` (-inf: padding or invalid)."""

    back: int
    frames: int
    keys: torch.Tensor
    values: torch.Tensor
    mask: torch.Tensor

    def projected(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The keys and values as :meth:`PrefixAttention.project` gives them, ``(B, F, hidden)`` (a copy)."""
        span = slice(self.back, self.back + self.frames)
        keys = self.keys[..., span].permute(0, 3, 1, 2)
        values = self.values[:, :, span].transpose(1, 2)
        return keys.reshape(*keys.shape[:2], -1), values.reshape(*values.shape[:2], -1)


@dataclass(eq=False)
class _Memory:
    embedding: torch.Tensor  # (B, F, dim)
    valid: torch.Tensor  # (B, F)


class ControlAdapter(nn.Module):
    """The whole adapter: control encoder plus one :class:`PrefixAttention` per chosen layer."""

    def __init__(self, config: AdapterConfig, architecture: Mapping[str, Any]) -> None:
        super().__init__()
        self.config = config
        self.architecture = dict(architecture)
        layers = int(architecture["num_layers"])
        bad = [i for i in config.layers if i >= layers]
        if bad:
            raise EngineError(f"Adapter layers {bad} do not exist in a decoder with {layers} layers.")
        self.layer_ids = config.layers or tuple(range(layers))
        delays = codebook_delays(int(architecture["num_codebooks"]), int(architecture["audio_channels"]))
        self.back, self.ahead = config.band(float(architecture["frame_rate"]), max(delays))
        hidden, heads = int(architecture["hidden_size"]), int(architecture["num_heads"])
        self.encoder = ControlEncoder(config)
        self.prefixes = nn.ModuleDict(
            {str(i): PrefixAttention(config.dim, hidden, heads, self.back, self.ahead) for i in self.layer_ids}
        )
        self.query_start = 0
        self._memory: _Memory | None = None
        self._queries: dict[int, torch.Tensor] = {}
        self._bands: dict[int, Band] = {}
        self._handles: list[Any] = []

    # -------------------------------------------------------------- wiring

    def attach(self, decoder_layers: Sequence[nn.Module]) -> ControlAdapter:
        """Register the hooks on ``decoder_layers`` (attach after any LoRA injection)."""
        if self._handles:
            raise EngineError("This adapter is already attached to a model.")
        for i in self.layer_ids:
            attn = decoder_layers[i].self_attn
            self._handles.append(attn.q_proj.register_forward_hook(self._keep_query(i)))
            self._handles.append(attn.out_proj.register_forward_pre_hook(self._add_controls(i)))
        return self

    def detach(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        self._queries.clear()

    def _keep_query(self, layer: int) -> Any:
        def hook(module: nn.Module, args: tuple[Any, ...], output: torch.Tensor) -> None:
            if self._memory is not None:
                self._queries[layer] = output

        return hook

    def _add_controls(self, layer: int) -> Any:
        def pre_hook(module: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
            query = self._queries.pop(layer, None)
            if query is None or self._memory is None:
                return None
            memory = self._memory
            if query.shape[0] != memory.embedding.shape[0]:
                raise RuntimeError(
                    f"decoder batch {query.shape[0]} does not match the control batch {memory.embedding.shape[0]}"
                )
            prefix = self.prefixes[str(layer)]
            dtype = prefix.gate.dtype
            if torch.is_grad_enabled():
                added = prefix(query.to(dtype), memory.embedding, memory.valid, self.query_start)
            else:  # sampling: the controls' keys and values are fixed for the window
                band = self._bands.get(layer)
                if band is None:
                    band = self._bands[layer] = prefix.band(memory.embedding, memory.valid)
                added = prefix.step(query.to(dtype), memory.embedding, memory.valid, self.query_start, band)
            return (args[0] + (prefix.gate * added).to(args[0].dtype), *args[1:])

        return pre_hook

    # -------------------------------------------------------------- controls

    def embed(self, values: torch.Tensor, mask: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        """Fused control embeddings ``(B, F, dim)`` for frames ``values``/``mask`` ``(B, F, C)``."""
        return self.encoder(values, mask, keep)

    @contextmanager
    def conditioned(
        self, values: torch.Tensor, mask: torch.Tensor, keep: torch.Tensor, frame_valid: torch.Tensor
    ) -> Iterator[None]:
        """Within the block, decoder calls see these controls; ``query_start`` is the first step."""
        self._memory = _Memory(self.embed(values, mask, keep), frame_valid)
        self._bands.clear()
        self.query_start = 0
        try:
            yield
        finally:
            self._memory = None
            self._queries.clear()
            self._bands.clear()

    def keep_flags(self, batch: int, modalities: Sequence[str] | None, device: torch.device) -> torch.Tensor:
        """``(batch, M)`` True for the modalities to use (all when ``modalities`` is None)."""
        names = self.config.modality_names
        chosen = names if modalities is None else tuple(modalities)
        unknown = [m for m in chosen if m not in names]
        if unknown:
            raise EngineError(f"Unknown modality {unknown[0]!r}; this adapter has {', '.join(names)}.")
        row = torch.tensor([n in chosen for n in names], device=device)
        return row[None].expand(batch, -1).clone()

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]
