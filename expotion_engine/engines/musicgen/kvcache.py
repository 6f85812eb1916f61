"""A self-attention KV cache allocated once per window, so a decoder step does not copy the past.

``transformers``' ``DynamicCache`` appends each step's keys and values with ``torch.cat``,
which copies every earlier step of every layer at every step: for a 30 s window (1 500
steps, 24 layers, three guidance rows) that is close to a gigabyte of copying per step by
the window's end, more than the step's own arithmetic on a CPU. :class:`PreallocatedLayer`
writes each step into a tensor sized for the whole window and hands attention a view of
the filled part, so appending costs the step's own keys and values only. The attention
itself still sees exactly the filled positions (no padding to mask), and the library's
cross-attention cache is kept as it is.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers.cache_utils import Cache, DynamicCache, DynamicLayer, EncoderDecoderCache

from expotion_engine.engines.musicgen.loading import LoadedModel


class PreallocatedLayer(DynamicLayer):
    """A :class:`DynamicLayer` whose keys and values live in buffers of ``capacity`` positions."""

    def __init__(self, capacity: int) -> None:
        super().__init__()
        self.capacity = max(int(capacity), 1)
        self.length = 0
        self._key_buffer: torch.Tensor | None = None
        self._value_buffer: torch.Tensor | None = None

    def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        self.device = key_states.device
        batch, heads, _, key_dim = key_states.shape
        self._key_buffer = key_states.new_empty(batch, heads, self.capacity, key_dim)
        self._value_buffer = value_states.new_empty(batch, heads, self.capacity, value_states.shape[-1])
        self.length = 0
        self.keys, self.values = self._key_buffer[:, :, :0], self._value_buffer[:, :, :0]
        self.is_initialized = True

    def _grow(self, needed: int) -> None:
        """Double the buffers (a window longer than planned still works, at one copy per doubling)."""
        assert self._key_buffer is not None and self._value_buffer is not None
        self.capacity = max(needed, 2 * self.capacity)
        keys, values = self._key_buffer, self._value_buffer
        self._key_buffer = keys.new_empty(*keys.shape[:2], self.capacity, keys.shape[-1])
        self._value_buffer = values.new_empty(*values.shape[:2], self.capacity, values.shape[-1])
        self._key_buffer[:, :, : self.length] = keys[:, :, : self.length]
        self._value_buffer[:, :, : self.length] = values[:, :, : self.length]

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any,
               **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        end = self.length + key_states.shape[-2]
        if end > self.capacity:
            self._grow(end)
        assert self._key_buffer is not None and self._value_buffer is not None
        self._key_buffer[:, :, self.length : end] = key_states
        self._value_buffer[:, :, self.length : end] = value_states
        self.length = end
        self.keys, self.values = self._key_buffer[:, :, :end], self._value_buffer[:, :, :end]
        return self.keys, self.values

    def get_seq_length(self) -> int:
        return self.length if self.is_initialized else 0

    def reset(self) -> None:
        super().reset()
        self.length = 0
        self._key_buffer = self._value_buffer = None


def window_cache(lm: LoadedModel, positions: int) -> EncoderDecoderCache:
    """A decoder cache for ``positions`` self-attention positions (the library's cross-attention cache)."""
    layers = [PreallocatedLayer(positions) for _ in range(lm.model.decoder.config.num_hidden_layers)]
    return EncoderDecoderCache(Cache(layers=layers), DynamicCache(config=lm.model.decoder.config))
