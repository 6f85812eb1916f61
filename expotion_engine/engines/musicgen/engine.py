"""The ``musicgen`` engine: a GenerationRequest in, a Take out, like every engine.

The video steers the music three ways, each optional: a trained adapter (visual
controls inside the decoder, in both guidance rows as in the paper, optionally with a
scale of their own), a melody/rhythm guide for the melody models' chroma input (rendered
from the procedural engine's plan), and mood and energy words added to the prompt for
each window.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

from expotion_engine.audio_io import Spool
from expotion_engine.engines.musicgen import hub
from expotion_engine.engines.musicgen.adapter import ControlAdapter
from expotion_engine.engines.musicgen.checkpoint import base_model, load_adapter, read_meta
from expotion_engine.engines.musicgen.controls import to_frames
from expotion_engine.engines.musicgen.device import resolve_device
from expotion_engine.engines.musicgen.finishing import stems_for, tempo_map_for
from expotion_engine.engines.musicgen.generate import ControlInput, WindowSettings, generate_audio, window_plan
from expotion_engine.engines.musicgen.guide import render_guide
from expotion_engine.engines.musicgen.loading import LoadedModel, load_model
from expotion_engine.engines.musicgen.precision import (
    PRECISIONS,
    quantize_decoder,
    resolve_precision,
    use_all_cores,
)
from expotion_engine.engines.musicgen.prompt import compose_prompt
from expotion_engine.engines.musicgen.sampling import SamplingSettings
from expotion_engine.engines.musicgen.streaming import StreamingMix
from expotion_engine.errors import EngineError, ModelNotFoundError
from expotion_engine.progress import CancelEvent, ProgressFn, check_cancel, sub_progress
from expotion_engine.types import GenerationRequest, Take, TempoMap

log = logging.getLogger(__name__)

GUIDES = ("auto", "procedural", "built-in", "off")
#: Preferred models when none is named (the melody model takes the video's guide); else any installed one.
AUTO_MODELS = ("musicgen-melody", "musicgen-small")


@dataclass(frozen=True)
class MusicgenOptions:
    """Engine settings; any of them may also come in ``GenerationRequest.options``."""

    model: str = "auto"
    adapter: str | None = None
    device: str = "auto"
    dtype: str | None = None
    precision: str = "auto"
    window: float = 30.0
    overlap: float = 10.0
    crossfade: float = 1.0
    top_k: int = 250
    top_p: float = 0.0
    temperature: float = 1.0
    text_guidance: float = 3.0
    control_guidance: float = 1.0
    guide: str = "auto"
    mood_words: bool = True
    modalities: tuple[str, ...] | None = None
    stems: bool = True
    tempo: bool = True
    allow_download: bool | None = None

    def __post_init__(self) -> None:
        if self.guide not in GUIDES:
            raise EngineError(f"Unknown guide {self.guide!r}; use one of {', '.join(GUIDES)}.")
        if self.precision not in PRECISIONS:
            raise EngineError(f"Unknown precision {self.precision!r}; use one of {', '.join(PRECISIONS)}.")
        if self.modalities is not None:
            object.__setattr__(self, "modalities", tuple(self.modalities))
        _ = self.sampling, self.windows  # built once so that bad numbers fail here, not mid-generation

    @classmethod
    def build(cls, options: dict[str, Any]) -> MusicgenOptions:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise EngineError(f"Unknown musicgen option(s) {', '.join(unknown)}; valid: {', '.join(sorted(known))}.")
        return cls(**options)

    def merged(self, overrides: dict[str, Any]) -> MusicgenOptions:
        ours = {k: v for k, v in overrides.items() if k in {f.name for f in fields(self)}}
        return replace(self, **ours)

    @property
    def sampling(self) -> SamplingSettings:
        return SamplingSettings(self.top_k, self.top_p, self.temperature, self.text_guidance, self.control_guidance)

    @property
    def windows(self) -> WindowSettings:
        return WindowSettings(self.window, self.overlap, self.crossfade)


class MusicgenEngine:
    """MusicGen (``transformers``) with Expotion's visual-control adapter and windowing."""

    id = "musicgen"

    def __init__(self, **options: Any) -> None:
        self.options = MusicgenOptions.build(options)
        self._loaded: tuple[tuple[Any, ...], LoadedModel, ControlAdapter | None] | None = None

    def _model_name(self, options: MusicgenOptions) -> str:
        if options.model != "auto":
            return options.model
        if options.adapter is not None:
            return base_model(read_meta(options.adapter))
        found = [row.name for row in hub.installed() if row.path is not None]
        for name in (*AUTO_MODELS, *found):
            if name in found:
                return name
        raise ModelNotFoundError(
            "No MusicGen model is installed; fetch one with `expotion models pull musicgen-melody` "
            "(follows the video's melody guide) or `expotion models pull musicgen-small` (fastest)."
        )

    def load(self, options: MusicgenOptions | None = None, progress: ProgressFn | None = None
             ) -> tuple[LoadedModel, ControlAdapter | None]:
        """Load (or reuse) the base model and adapter the options name."""
        options = options or self.options
        name = self._model_name(options)
        key = (name, options.adapter, options.device, options.dtype, options.precision)
        if self._loaded is not None and self._loaded[0] == key:
            return self._loaded[1], self._loaded[2]
        self._loaded = None
        device = resolve_device(options.device)
        precision = resolve_precision(options.precision, options.dtype, device)
        if device.type == "cpu":
            use_all_cores()
        lm = load_model(name, device=device, dtype=precision.dtype, allow_download=options.allow_download,
                        progress=progress)
        adapter = None
        if options.adapter is not None:
            adapter = load_adapter(options.adapter, lm)
            adapter.to(lm.dtype)
        if precision.quantize:
            lm.quantized = quantize_decoder(lm.model) > 0
        self._loaded = (key, lm, adapter)
        return lm, adapter

    def generate(
        self, request: GenerationRequest, progress: ProgressFn | None = None, cancel: CancelEvent | None = None,
        *, on_audio: Callable[[int, np.ndarray], None] | None = None, spool: Spool | None = None,
    ) -> Take:
        """Score ``request`` into a Take whose mix is exactly the range's length at its sample rate.

        ``on_audio(start, block)`` hears the mix window by window as it is generated: float32
        stereo blocks at the request's rate, in time order, which together are the take's mix.
        ``spool`` (on the output's disk) holds a long melody guide's rendering while it is read.
        """
        options = self.options.merged(dict(request.options))
        timings: dict[str, float] = {}
        notes: list[str] = []
        started = time.perf_counter()
        lm, adapter = self.load(options, sub_progress(progress, 0.0, 0.05))
        timings["load"] = time.perf_counter() - started
        check_cancel(cancel)
        model_samples = int(round(request.duration * lm.sampling_rate))
        if model_samples <= 0:
            raise EngineError(f"The range of {request.controls.source.path} is empty; nothing to score.")
        guide, guide_source = None, None
        if lm.melody and options.guide != "off":
            tick = time.perf_counter()
            guide, guide_source = render_guide(request, lm.sampling_rate, options.guide,
                                               progress=sub_progress(progress, 0.05, 0.1), cancel=cancel,
                                               spool=spool)
            timings["guide"] = time.perf_counter() - tick
        plan = window_plan(lm, model_samples, options.windows)
        user_prompt = request.prompt or str(request.preset.get("prompt", ""))
        prompts = [
            compose_prompt(user_prompt, request.controls, w.start / lm.frame_rate, w.stop / lm.frame_rate)
            if options.mood_words else user_prompt
            for w in plan
        ]
        controls = None
        if adapter is not None:
            controls = ControlInput(to_frames(request.controls, adapter.config.channels, lm.frame_rate),
                                    options.modalities)
        stream = StreamingMix(lm.sampling_rate, request.sample_rate, lm.audio_channels, request.n_samples, on_audio)
        generated = generate_audio(
            lm, prompts, model_samples, seed=request.seed, sampling=options.sampling, windows=options.windows,
            adapter=adapter, controls=controls, guide=guide, progress=sub_progress(progress, 0.1, 0.85),
            cancel=cancel, on_audio=lambda start, block: stream.feed(block),
        )
        timings["generate"] = generated.seconds
        mix = stream.finish()
        tick = time.perf_counter()
        if options.tempo:
            tempo_map = tempo_map_for(mix, request.sample_rate, request.bpm, notes,
                                      sub_progress(progress, 0.85, 0.9), cancel)
        else:
            tempo_map = TempoMap.constant(float(request.bpm or 120.0))
            notes.append("tempo estimation switched off")
        timings["tempo"] = time.perf_counter() - tick
        tick = time.perf_counter()
        stems = stems_for(mix, request.sample_rate, notes, lm.device.type, sub_progress(progress, 0.9, 1.0),
                          cancel) if options.stems else ()
        timings["stems"] = time.perf_counter() - tick
        timings["total"] = time.perf_counter() - started
        if progress is not None:
            progress(1.0, "done")
        return Take(
            engine=self.id,
            sample_rate=request.sample_rate,
            mix=mix,
            stems=stems,
            tempo_map=tempo_map,
            markers=tuple(sorted((*request.controls.markers, *request.cues), key=lambda m: m.time)),
            request=request.to_dict(),
            seed=request.seed,
            timings=timings,
            info={
                "model": lm.source.name,
                "model_path": str(lm.source.path),
                "model_revision": lm.source.revision,
                "adapter": options.adapter,
                "device": str(lm.device),
                "dtype": str(lm.dtype).replace("torch.", ""),
                "int8_decoder": lm.quantized,
                "windows": [[w.start / lm.frame_rate, w.stop / lm.frame_rate] for w in generated.windows],
                "prompts": generated.prompts,
                "guide": guide_source,
                "sampling": options.sampling.__dict__,
                "tokens_per_second": round(generated.steps_per_second, 2),
                "notes": notes,
            },
        )

