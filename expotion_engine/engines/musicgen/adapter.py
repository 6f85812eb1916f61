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

from expotion_engine.engines.musicgen.conditioning import sees_controls
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

    def band(self, memory: torch.Tensor, valid: torch.Tensor) -> Band:
        """A window's controls laid out for :meth:`step` (once per window when sampling; one serves every layer)."""
        return Band.of(memory, valid, self.back, self.ahead)

    def step_weights(self) -> StepWeights:
        """This layer's maps folded per head for :meth:`step` (once per window when sampling)."""
        dim = self.key.weight.shape[1]
        keys = self.key.weight.view(self.heads, self.head_dim, dim)
        query = torch.cat([keys, self.null_key[:, :, None].to(keys.dtype)], dim=-1) * self.head_dim**-0.5
        value = self.value.weight.view(self.heads, self.head_dim, dim).transpose(1, 2)
        value = torch.cat([value, value.new_zeros(self.heads, 1, self.head_dim)], dim=1)
        bias = torch.cat([self.position_bias.new_zeros(self.heads, 1), self.position_bias], dim=-1)
        return StepWeights(query.contiguous(), value.contiguous(), bias, float(self.gate))

    def step(self, query: torch.Tensor, memory: torch.Tensor, valid: torch.Tensor, start: int,
             band: Band, weights: StepWeights | None = None) -> torch.Tensor:
        """:meth:`forward` for one query step (a sampling step) with a precomputed :meth:`band`.

        The key and value maps have no bias and rank ``dim``, so instead of projecting the
        controls to every head's keys and values (a window's worth per layer: hundreds of
        megabytes for three guidance rows), the query is taken down to the embedding's
        width and the attended mixture brought back up: ``q . Wk m = (Wk^T q) . m`` and
        ``sum w Wv m = Wv sum w m``. The null key is one more column of the folded query,
        met by the band's sink row, so a step is three batched products, one gather and
        a softmax, on tensors shared by every head. Other shapes fall back to :meth:`forward`.
        """
        batch, length, hidden = query.shape
        if length != 1 or not 0 <= start < band.index.shape[0]:
            return self.forward(query, memory, valid, start)
        weights = weights or self.step_weights()
        heads = query.view(batch, self.heads, self.head_dim).transpose(0, 1)
        folded = torch.bmm(heads, weights.query).transpose(0, 1)  # (B, H, dim + 1)
        index = band.index[start]
        window = band.memory[:, index]  # (B, 1 + back + ahead + 1, dim + 1): the sink, then the frames
        bias = weights.position_bias if band.clean[start] else weights.position_bias + band.mask[..., index]
        attend = torch.softmax(torch.baddbmm(bias, folded, window.transpose(1, 2)), dim=-1)
        mixed = torch.bmm(attend, window).transpose(0, 1)  # (H, B, dim + 1)
        return torch.bmm(mixed, weights.value).transpose(0, 1).reshape(batch, 1, hidden)

    def forward(self, query: torch.Tensor, memory: torch.Tensor, valid: torch.Tensor, start: int) -> torch.Tensor:
        """Attend from ``query`` ``(B, L, hidden)`` at steps ``start..start+L`` to ``memory`` ``(B, F, dim)``."""
        batch, length, hidden = query.shape
        frames = memory.shape[1]
        lo, hi = max(start - self.back, 0), min(start + length - 1 + self.ahead + 1, frames)
        if hi <= lo:
            return query.new_zeros(query.shape)
        width = hi - lo
        q = query.view(batch, length, self.heads, self.head_dim).transpose(1, 2)
        keys, values = self.key(memory[:, lo:hi]), self.value(memory[:, lo:hi])
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
    """A window's control embeddings laid out for one-step sampling (the same for every layer).

    ``memory`` ``(B, back + F + ahead + 1, dim + 1)`` holds the embeddings padded with zeros,
    a zero last channel, and a last "sink" row that is zero but for that channel; row
    ``index[s]`` of ``index`` ``(F, back + ahead + 2)`` lists the sink and then the padded
    frames step ``s`` sees; ``mask`` ``(B, 1, back + F + ahead + 1)`` is -inf on padding and
    invalid frames, and ``clean[s]`` says that step ``s`` sees none of them.
    """

    memory: torch.Tensor
    index: torch.Tensor
    mask: torch.Tensor
    clean: list[bool]

    @classmethod
    def of(cls, memory: torch.Tensor, valid: torch.Tensor, back: int, ahead: int) -> Band:
        batch, frames, dim = memory.shape
        padded = frames + back + ahead
        layout = memory.new_zeros(batch, padded + 1, dim + 1)
        layout[:, back : back + frames, :dim] = memory
        layout[:, padded, dim] = 1.0
        width = back + ahead + 1
        steps = torch.arange(frames, device=memory.device)[:, None] + torch.arange(width, device=memory.device)
        index = torch.cat([torch.full((frames, 1), padded, device=memory.device), steps], dim=1)
        mask = torch.zeros(batch, frames, dtype=memory.dtype, device=memory.device).masked_fill(~valid, float("-inf"))
        mask = F.pad(mask, (back, ahead + 1), value=float("-inf"))
        mask[:, padded] = 0.0
        clean = (mask[:, :padded].unfold(-1, width, 1) == 0).all(-1).all(0).tolist()
        return cls(layout, index, mask[:, None], clean)


@dataclass(eq=False)
class StepWeights:
    """One layer's maps folded per head for a sampling step: ``query`` ``(H, head_dim, dim + 1)``
    (the scaled key map's transpose, then the scaled null key), ``value`` ``(H, dim + 1,
    head_dim)`` (the value map's transpose, then zeros for the sink), the relative
    ``position_bias`` ``(H, 1 + back + ahead + 1)`` (zero for the sink) and the ``gate``."""

    query: torch.Tensor
    value: torch.Tensor
    position_bias: torch.Tensor
    gate: float


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
        self._band: Band | None = None
        self._weights: dict[int, StepWeights] = {}
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
            else:  # sampling: the band and the folded maps are fixed for the window
                if self._band is None:
                    self._band = prefix.band(memory.embedding, memory.valid)
                weights = self._weights.get(layer)
                if weights is None:
                    weights = self._weights[layer] = prefix.step_weights()
                added = prefix.step(query.to(dtype), memory.embedding, memory.valid, self.query_start, self._band,
                                    weights)
                return (args[0].add(added.to(args[0].dtype), alpha=weights.gate), *args[1:])
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
        self._band = None
        self._weights.clear()
        self.query_start = 0
        try:
            yield
        finally:
            self._memory = None
            self._queries.clear()
            self._band = None
            self._weights.clear()

    def keep_flags(self, batch: int, modalities: Sequence[str] | None, device: torch.device) -> torch.Tensor:
        """``(batch, M)`` True for the modalities to use (all when ``modalities`` is None)."""
        names = self.config.modality_names
        chosen = names if modalities is None else tuple(modalities)
        unknown = [m for m in chosen if m not in names]
        if unknown:
            raise EngineError(f"Unknown modality {unknown[0]!r}; this adapter has {', '.join(names)}.")
        row = torch.tensor([n in chosen for n in names], device=device)
        return row[None].expand(batch, -1).clone()

    def keep_rows(self, rows: Sequence[str], modalities: Sequence[str] | None, device: torch.device) -> torch.Tensor:
        """``(len(rows), M)`` keep flags for guidance ``rows``: ``modalities`` where a row sees controls."""
        return torch.cat([self.keep_flags(1, modalities if sees_controls(kind) else (), device) for kind in rows])

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]
