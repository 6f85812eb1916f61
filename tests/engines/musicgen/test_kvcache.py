"""The preallocated KV cache: steps are written in place (no copy of the past per step), the
decoder's logits are those of the library's growing cache, and a longer run than planned grows."""

from __future__ import annotations

import torch

from expotion_engine.engines.musicgen.conditioning import build_conditions, decoder_step
from expotion_engine.engines.musicgen.kvcache import PreallocatedLayer, window_cache
from expotion_engine.engines.musicgen.loading import LoadedModel


def test_decoder_with_the_preallocated_cache_gives_the_librarys_logits_in_place(lm: LoadedModel) -> None:
    rows = ("full", "none")
    conditions = build_conditions(lm, ["warm piano"], rows)
    ids = torch.randint(0, 64, (len(rows) * lm.num_codebooks, 9), generator=torch.Generator().manual_seed(0))
    ours = window_cache(lm, 9)
    library = None
    buffers = set()
    with torch.no_grad():
        for begin, end in [(0, 3)] + [(i, i + 1) for i in range(3, 9)]:  # a 3-frame prompt, then one per step
            chunk = ids[:, begin:end]
            mine = decoder_step(lm, chunk, conditions, ours, begin == 0).logits
            theirs = decoder_step(lm, chunk, conditions, library, begin == 0)
            library = theirs.cache
            torch.testing.assert_close(mine, theirs.logits, rtol=1e-5, atol=1e-5)
            layer = ours.self_attention_cache.layers[0]
            buffers.add(layer._key_buffer.data_ptr())
            assert layer.keys.data_ptr() == layer._key_buffer.data_ptr() and layer.get_seq_length() == end
    assert len(buffers) == 1  # one allocation for the whole run
    assert ours.get_seq_length() == library.get_seq_length() == 9


def test_a_layer_grows_past_its_capacity_and_keeps_what_it_had() -> None:
    layer = PreallocatedLayer(capacity=2)
    steps = [torch.full((1, 2, 1, 4), float(i)) for i in range(5)]
    for step in steps:
        keys, values = layer.update(step, -step)
    assert layer.capacity >= 5 and layer.get_seq_length() == 5
    torch.testing.assert_close(keys, torch.cat(steps, dim=2))
    torch.testing.assert_close(values, -torch.cat(steps, dim=2))
