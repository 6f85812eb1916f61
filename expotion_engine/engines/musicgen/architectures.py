"""MusicGen networks with random weights, built from an :class:`ArchitectureSpec` offline.

Tests use the tiny spec (a fraction of a second to build); the benchmark uses the real
musicgen-small shape. The text tokenizer is a SentencePiece-style Unigram model over a
fixed music vocabulary, built with ``tokenizers`` (no file has to be downloaded) and
wrapped in ``T5TokenizerFast`` as the real checkpoints' tokenizer is.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from transformers import (
    EncodecConfig,
    MusicgenConfig,
    MusicgenDecoderConfig,
    MusicgenForConditionalGeneration,
    MusicgenMelodyConfig,
    MusicgenMelodyDecoderConfig,
    MusicgenMelodyForConditionalGeneration,
    PreTrainedModel,
    T5Config,
    T5TokenizerFast,
)

from expotion_engine.engines.musicgen.catalog import ArchitectureSpec

_WORDS = (
    "music song track beat drums bass guitar piano strings synth pad lead choir brass organ "
    "ambient cinematic epic calm gentle soft warm bright dark sad happy joyful tense intense "
    "energetic aggressive peaceful melancholic hopeful dramatic playful slow medium fast tempo "
    "pop rock jazz lofi electronic orchestral folk dance house techno hip hop acoustic with and "
    "a the of in no for building rising falling steady accents hits groove rhythm melody catchy"
).split()
_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789,.-'"


def build_tokenizer() -> T5TokenizerFast:
    """A deterministic Unigram tokenizer over music words, wrapped like T5's tokenizer."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    specials = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    words = [(f"\u2581{w}", -2.0 - 0.01 * i) for i, w in enumerate(_WORDS)]
    chars = [("\u2581", -6.0)] + [(c, -8.0) for c in _CHARS] + [(f"\u2581{c}", -7.0) for c in _CHARS]
    model = models.Unigram(specials + words + chars, unk_id=2, byte_fallback=False)
    tok = Tokenizer(model)
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    return T5TokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>", extra_ids=0)


def model_config(spec: ArchitectureSpec) -> MusicgenConfig | MusicgenMelodyConfig:
    """The transformers config of a network with shape ``spec``."""
    codec = spec.codec
    text = T5Config(
        vocab_size=spec.text.vocab_size,
        d_model=spec.text.d_model,
        d_kv=spec.text.d_kv,
        d_ff=spec.text.d_ff,
        num_layers=spec.text.num_layers,
        num_heads=spec.text.num_heads,
        relative_attention_num_buckets=spec.text.relative_attention_num_buckets,
    )
    audio = EncodecConfig(
        sampling_rate=codec.sampling_rate,
        audio_channels=1,
        num_filters=codec.num_filters,
        hidden_size=codec.hidden_size,
        upsampling_ratios=list(codec.upsampling_ratios),
        codebook_size=codec.codebook_size,
        codebook_dim=codec.codebook_dim,
        target_bandwidths=[codec.target_bandwidth],
        num_lstm_layers=codec.num_lstm_layers,
        num_residual_layers=codec.num_residual_layers,
        use_causal_conv=False,
        normalize=False,
        use_conv_shortcut=False,
    )
    special = spec.vocab_size
    decoder_kwargs = {
        "vocab_size": spec.vocab_size,
        "max_position_embeddings": spec.max_positions,
        "num_hidden_layers": spec.num_layers,
        "ffn_dim": spec.ffn_dim,
        "num_attention_heads": spec.num_heads,
        "hidden_size": spec.hidden_size,
        "num_codebooks": spec.num_codebooks,
        "audio_channels": spec.audio_channels,
        "pad_token_id": special,
        "bos_token_id": special,
    }
    if spec.melody:
        decoder = MusicgenMelodyDecoderConfig(**decoder_kwargs)
        config = MusicgenMelodyConfig(
            text_encoder=text, audio_encoder=audio, decoder=decoder, num_chroma=12, chroma_length=spec.chroma_length
        )
    else:
        config = MusicgenConfig(text_encoder=text, audio_encoder=audio, decoder=MusicgenDecoderConfig(**decoder_kwargs))
    config.decoder.decoder_start_token_id = special
    return config


def _synthetic_audio(sample_rate: int, seconds: float, generator: torch.Generator) -> torch.Tensor:
    """Noise bursts and tones at many loudness levels, ``(1, 1, samples)``."""
    pieces = []
    segment = int(0.25 * sample_rate)
    t = torch.arange(segment) / sample_rate
    for _ in range(int(seconds / 0.25)):
        level = 10 ** (-3 * torch.rand((), generator=generator))
        if torch.rand((), generator=generator) < 0.5:
            pieces.append(level * torch.randn(segment, generator=generator))
        else:
            freq = 55.0 * 2 ** (6 * torch.rand((), generator=generator))
            pieces.append(level * torch.sin(2 * torch.pi * freq * t))
    return torch.cat(pieces)[None, None]


def _make_codec_responsive(codec: torch.nn.Module, sample_rate: int, generator: torch.Generator) -> None:
    """Turn a random EnCodec into one whose codes and audio depend on each other.

    Freshly initialised, EnCodec's codebooks are all zeros and its biases add a fixed
    pattern that drowns the input. Here the biases are zeroed, each residual codebook
    takes its entries from the residuals of the encoder's own latents for synthetic audio
    (as EnCodec's k-means initialisation does), and the last decoder layer is scaled so
    decoded audio has an RMS near 0.1. Codes then follow the loudness and spectrum of the
    sound, and decoding different codes gives different audio.
    """
    with torch.no_grad():
        for name, param in codec.named_parameters():
            if name.endswith("bias") or ".bias_" in name:
                param.zero_()
        latents = codec.encoder(_synthetic_audio(sample_rate, 8.0, generator))[0].T  # (frames, dim)
        residual = latents
        for layer in codec.quantizer.layers:
            book = layer.codebook
            pick = torch.randint(0, residual.shape[0], (book.embed.shape[0],), generator=generator)
            jitter = 0.05 * residual.std() * torch.randn(book.embed.shape, generator=generator)
            book.embed.copy_(residual[pick] + jitter)
            book.embed_avg.copy_(book.embed)
            book.cluster_size.fill_(1.0)
            residual = residual - book.decode(book.encode(residual))
        books = len(codec.quantizer.layers)
        codes = torch.randint(0, codec.config.codebook_size, (1, 1, books, 50), generator=generator)
        rms = codec.decode(codes, audio_scales=[None]).audio_values.pow(2).mean().sqrt()
        last = codec.decoder.layers[-1].conv
        gain = last.parametrizations.weight.original0 if hasattr(last, "parametrizations") else last.weight
        gain.mul_(0.1 / max(float(rms), 1e-12))


def build_random_model(spec: ArchitectureSpec, seed: int = 0) -> PreTrainedModel:
    """A MusicGen model of shape ``spec`` with seeded random weights, in eval mode."""
    config = model_config(spec)
    cls = MusicgenMelodyForConditionalGeneration if spec.melody else MusicgenForConditionalGeneration
    fork_devices = [] if not torch.cuda.is_available() else list(range(torch.cuda.device_count()))
    with torch.random.fork_rng(devices=fork_devices):
        torch.manual_seed(seed)
        model = cls(config)
    _make_codec_responsive(model.audio_encoder, spec.codec.sampling_rate, torch.Generator().manual_seed(seed))
    special = spec.vocab_size
    model.generation_config.decoder_start_token_id = special
    model.generation_config.pad_token_id = special
    model.generation_config.bos_token_id = special
    return model.eval()


def save_model_folder(model: PreTrainedModel, path: str | os.PathLike[str]) -> Path:
    """Write ``model`` and the tokenizer in the Hugging Face folder layout (safetensors)."""
    path = Path(path)
    model.save_pretrained(path)
    build_tokenizer().save_pretrained(path)
    return path
