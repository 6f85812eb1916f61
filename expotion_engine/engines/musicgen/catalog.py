"""The MusicGen checkpoints Expotion knows by name, with the architecture of each.

Names are the Hugging Face repository names without the ``facebook/`` owner
(``musicgen-small`` …); the architecture is what the published ``config.json`` of each
repository holds, so a model with random weights can be built offline for tests and
benchmarks, and an adapter can check that it was trained on the same network.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from expotion_engine.errors import ModelNotFoundError


@dataclass(frozen=True)
class TextEncoderSpec:
    """A T5 encoder (MusicGen uses t5-base)."""

    vocab_size: int = 32128
    d_model: int = 768
    d_kv: int = 64
    d_ff: int = 3072
    num_layers: int = 12
    num_heads: int = 12
    relative_attention_num_buckets: int = 32


@dataclass(frozen=True)
class CodecSpec:
    """An EnCodec model; the defaults are facebook/encodec_32khz (4 codebooks at 50 Hz)."""

    sampling_rate: int = 32000
    num_filters: int = 64
    hidden_size: int = 128
    upsampling_ratios: tuple[int, ...] = (8, 5, 4, 4)
    codebook_size: int = 2048
    codebook_dim: int = 128
    target_bandwidth: float = 2.2
    num_lstm_layers: int = 2
    num_residual_layers: int = 1

    @property
    def hop_length(self) -> int:
        hop = 1
        for ratio in self.upsampling_ratios:
            hop *= ratio
        return hop

    @property
    def frame_rate(self) -> float:
        return self.sampling_rate / self.hop_length


@dataclass(frozen=True)
class ArchitectureSpec:
    """The shape of one MusicGen network: decoder, text encoder, codec, melody conditioning."""

    num_layers: int
    hidden_size: int
    num_heads: int
    ffn_dim: int
    num_codebooks: int = 4
    audio_channels: int = 1
    melody: bool = False
    chroma_length: int = 235
    max_positions: int = 2048
    text: TextEncoderSpec = field(default_factory=TextEncoderSpec)
    codec: CodecSpec = field(default_factory=CodecSpec)

    def __post_init__(self) -> None:
        if self.hidden_size % self.num_heads:
            raise ValueError(f"hidden_size {self.hidden_size} is not divisible by num_heads {self.num_heads}.")
        if self.audio_channels not in (1, 2) or self.num_codebooks % self.audio_channels:
            raise ValueError(f"{self.num_codebooks} codebooks cannot carry {self.audio_channels} audio channels.")

    @property
    def vocab_size(self) -> int:
        return self.codec.codebook_size

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ModelVariant:
    """A named, downloadable MusicGen checkpoint."""

    name: str
    repo_id: str
    architecture: ArchitectureSpec
    parameters: str
    description: str

    @property
    def download_mb(self) -> int:
        """Approximate download size: float32 safetensors of every parameter, plus tokenizer."""
        return int(round(float(self.parameters.rstrip("B")) * 4000)) + 3


def _variant(name: str, params: str, desc: str, layers: int, width: int, heads: int, **kw: Any) -> ModelVariant:
    arch = ArchitectureSpec(num_layers=layers, hidden_size=width, num_heads=heads, ffn_dim=4 * width, **kw)
    return ModelVariant(name, f"facebook/{name}", arch, params, desc)


_STEREO = {"num_codebooks": 8, "audio_channels": 2}

VARIANTS: dict[str, ModelVariant] = {
    v.name: v
    for v in (
        _variant("musicgen-small", "0.6B", "text to music, mono, fastest", 24, 1024, 16),
        _variant("musicgen-medium", "1.5B", "text to music, mono", 48, 1536, 24),
        _variant("musicgen-large", "3.3B", "text to music, mono, best quality, slowest", 48, 2048, 32),
        _variant("musicgen-melody", "1.5B", "text + melody guide (chroma), mono", 48, 1536, 24, melody=True),
        _variant("musicgen-melody-large", "3.3B", "text + melody guide (chroma), mono", 48, 2048, 32, melody=True),
        _variant("musicgen-stereo-small", "0.6B", "text to music, stereo", 24, 1024, 16, **_STEREO),
        _variant("musicgen-stereo-medium", "1.5B", "text to music, stereo", 48, 1536, 24, **_STEREO),
        _variant("musicgen-stereo-large", "3.3B", "text to music, stereo", 48, 2048, 32, **_STEREO),
        _variant("musicgen-stereo-melody", "1.5B", "text + melody guide, stereo", 48, 1536, 24, melody=True, **_STEREO),
        _variant(
            "musicgen-stereo-melody-large", "3.3B", "text + melody guide, stereo", 48, 2048, 32, melody=True, **_STEREO
        ),
    )
}

#: A network small enough to build and run in a fraction of a second, for tests and CI.
TINY = ArchitectureSpec(
    num_layers=2,
    hidden_size=64,
    num_heads=4,
    ffn_dim=128,
    max_positions=1024,
    chroma_length=16,
    text=TextEncoderSpec(vocab_size=256, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4,
                         relative_attention_num_buckets=8),
    codec=CodecSpec(num_filters=8, hidden_size=16, codebook_size=64, codebook_dim=16, target_bandwidth=1.2,
                    num_lstm_layers=1),
)


def get_variant(name: str) -> ModelVariant:
    """The catalogue entry for ``name`` (``musicgen-small`` or ``facebook/musicgen-small``)."""
    key = name.split("/", 1)[1] if name.startswith("facebook/") else name
    try:
        return VARIANTS[key]
    except KeyError:
        raise ModelNotFoundError(
            f"Unknown MusicGen model {name!r}; known names: {', '.join(VARIANTS)} (or pass a local model folder)."
        ) from None
