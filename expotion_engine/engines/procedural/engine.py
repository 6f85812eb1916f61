"""ProceduralEngine: compose a Score from the request, render it, and hand back a complete Take."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from expotion_engine.audio_io import Spool
from expotion_engine.engines.procedural.compose import compose
from expotion_engine.engines.procedural.score import Score
from expotion_engine.errors import EngineError
from expotion_engine.progress import CancelEvent, ProgressFn, check_cancel, no_progress, sub_progress
from expotion_engine.types import GenerationRequest, Stem, Take

log = logging.getLogger(__name__)

ID = "procedural"
#: options read from the request rather than the preset's [engine] table (hits per minute)
REQUEST_OPTIONS = ("hits_density",)


def loudness_target(preset: dict[str, Any], mean_energy: float) -> float:
    """Target LUFS: the preset's loudness at full energy, up to ``dynamics_db`` quieter for a calm take."""
    mix = preset.get("mix", {})
    lufs = float(mix.get("loudness_lufs", -14.0))
    dynamics = float(mix.get("dynamics_db", 6.0))
    return lufs - dynamics * (1.0 - float(np.clip(mean_energy, 0.0, 1.0)))


class ProceduralEngine:
    """The embedded default engine: no model weights, exact stems and notes, deterministic for a seed."""

    id = ID

    def __init__(self, **options: Any) -> None:
        from expotion_engine.engines.procedural.settings import ENGINE

        known = (*ENGINE, *REQUEST_OPTIONS)
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise EngineError(f"The procedural engine has no option {unknown[0]!r}; its options are "
                              f"{', '.join(known)}.")
        self.options = dict(options)

    def compose(self, request: GenerationRequest) -> Score:
        """The Score (notes, tempo map, markers, report) for ``request`` without rendering it."""
        if self.options:
            request = _with_options(request, {**self.options, **request.options})
        return compose(request)

    def generate(self, request: GenerationRequest, progress: ProgressFn | None = None,
                 cancel: CancelEvent | None = None, *, on_audio: Callable[[int, np.ndarray], None] | None = None,
                 spool: Spool | None = None) -> Take:
        """Compose and render ``request`` into a Take whose stems carry their notes.

        ``on_audio(start_sample, block)`` receives the finished mix as float32 ``(2, n)`` blocks in time order
        while it is made. A long take (see :func:`.render_score`) comes back with its mix and stems as float WAVs
        in ``spool`` (default: a temporary folder that lasts as long as the take refers to it).
        """
        from expotion_engine.engines.procedural.render import render_score
        from expotion_engine.engines.procedural.settings import validate_preset

        report = progress or no_progress
        started = time.perf_counter()
        check_cancel(cancel)
        report(0.0, "composing")
        score = self.compose(request)
        composed = time.perf_counter()
        check_cancel(cancel)
        preset = validate_preset(request.preset or {}, "the request's preset")
        target = loudness_target(preset, float(score.info.get("mean_energy", 0.5)))
        rendering = render_score(score, request.sample_rate, loudness_lufs=target,
                                 true_peak_db=float(preset["mix"]["true_peak_db"]), width=float(preset["mix"]["width"]),
                                 compression=float(preset["mix"]["compression"]),
                                 progress=sub_progress(report, 0.05, 1.0), cancel=cancel, spool=spool,
                                 on_audio=on_audio)
        rendered = time.perf_counter()
        stems = tuple(
            Stem(name=part.name, audio=rendering.stems[part.name], notes=part.notes, origin="rendered",
                 info={"instrument": part.instrument, "plugin": part.plugin, "gain_db": part.gain_db})
            for part in score.parts
        )
        info = {**score.info, "loudness_target_lufs": round(target, 2), "render": rendering.info,
                "premix_peak": rendering.premix_peak}
        take = Take(
            engine=ID, sample_rate=request.sample_rate, mix=rendering.mix, stems=stems,
            tempo_map=score.tempo_map, markers=score.markers, request=request.to_dict(), seed=request.seed,
            timings={"compose_s": composed - started, "render_s": rendered - composed,
                     "total_s": time.perf_counter() - started},
            info=info,
        )
        fit = score.info.get("hit_fit", {})
        log.info("procedural take: %s %s, %.0f BPM (%s), %d parts; hits %d, landed within 30/60 ms of the grid "
                 "%d/%d, accents %s", score.key, score.mode, score.info.get("bpm", 0), score.info.get("tempo_source"),
                 len(stems), fit.get("selected", 0), fit.get("landed_30ms", 0), fit.get("landed_60ms", 0),
                 fit.get("accent_kinds", {}))
        report(1.0, "done")
        return take


def _with_options(request: GenerationRequest, options: dict[str, Any]) -> GenerationRequest:
    from dataclasses import replace

    return replace(request, options=options)
