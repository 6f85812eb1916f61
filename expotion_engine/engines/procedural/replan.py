"""Re-plan a recut: the old score's notes where its bars are kept, the same seed's new notes in the bars between.

The recut's score is composed with the same seed and preset on a tempo map given from
outside (the kept bars' own tempos, shifted with the picture, and the bridges' tempos
between them), so its random streams, key, chords and parts are the old score's choices
where the controls agree; a hit of the recut that the map puts on its 16th grid is
fitted there, any other gets its off-grid accent. Then every part takes the old notes
that start in a kept span (moved with it, ringing on as they did) and the new notes
that start anywhere else (cut where the next kept span starts).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from expotion_engine.audio_io import Spool
from expotion_engine.engines.procedural.fit import FitResult, Placement
from expotion_engine.engines.procedural.hits import Hit
from expotion_engine.engines.procedural.score import Score
from expotion_engine.progress import CancelEvent, ProgressFn
from expotion_engine.types import GenerationRequest, Note, Stem, Take, TempoMap

#: a hit within this (s) of a 16th of the given map is fitted there
ON_GRID_S = 1e-3


@dataclass(frozen=True)
class Kept:
    """Music time ``start..end`` (s) of the recut plays the old score from ``old_start`` on."""

    start: float
    end: float
    old_start: float

    @property
    def shift(self) -> float:
        """Seconds the old notes move by (new minus old)."""
        return self.start - self.old_start


def fixed_fit(tempo_map: TempoMap, duration: float, hits: Sequence[Hit]) -> FitResult:
    """A fit on a given map: hits on its 16th grid are fitted, the cadence is the last bar line with room after it."""
    numerator = tempo_map.meters[0].numerator
    beat_s = 60.0 / tempo_map.bpm_at(duration)
    latest = duration - min(max(1.5 * beat_s, 1.2), 0.2 * duration)
    bar = max(int(tempo_map.beat_at(latest) // numerator), 1)
    cadence_beat = bar * numerator
    placements = []
    for hit in sorted(hits, key=lambda h: h.accent_time):
        beat = round(tempo_map.beat_at(hit.accent_time) * 4) / 4
        on_grid = abs(tempo_map.time_at(beat) - hit.accent_time) <= ON_GRID_S
        placements.append(Placement(hit, beat if on_grid and beat < cadence_beat else None))
    fitted = [p.hit for p in placements if p.fitted]
    report = {"base_bpm": tempo_map.bpm_at(0.0), "hits_fitted": len(fitted),
              "fitted_strength": float(sum(h.strength for h in fitted)), "total_bend": 0.0, "largest_bend": 0.0,
              "cadence_on_hit": False, "pulses_fitted": 0, "cost": 0.0, "given_map": True}
    return FitResult(tempo_map, tempo_map.time_at(cadence_beat), cadence_beat, tuple(placements), report)


def hit_anchors(request: GenerationRequest) -> list[tuple[float, float]]:
    """The recut's hits the score marks, as ``(accent time s, strength)``: where bridges should put a beat."""
    from expotion_engine.engines.procedural.compose import collect_hits
    from expotion_engine.engines.procedural.settings import validate_preset

    preset = validate_preset(request.preset or {}, "the request's preset")
    engine = {**preset["engine"], **{k: v for k, v in request.options.items() if k in preset["engine"]}}
    return [(h.accent_time, h.strength + (1.0 if h.is_cue else 0.0))
            for h in collect_hits(request, preset, engine["hit_strength"])]


def _inside(kept: Sequence[Kept], time: float) -> Kept | None:
    for span in kept:
        if span.start <= time < span.end:
            return span
    return None


def _next_start(kept: Sequence[Kept], time: float, duration: float) -> float:
    return min((span.start for span in kept if span.start > time), default=duration)


def splice_notes(old: Sequence[Note], new: Sequence[Note], kept: Sequence[Kept], duration: float) -> list[Note]:
    """Old notes starting in a kept span (moved with it), new ones starting elsewhere (cut at the next kept span)."""
    out = []
    for note in old:
        for span in kept:
            start = note.start + span.shift
            if span.start <= start < span.end and start < duration:
                out.append(replace(note, start=start, end=min(note.end + span.shift, duration)))
                break
    for note in new:
        if _inside(kept, note.start) is None:
            end = min(note.end, _next_start(kept, note.start, duration))
            if end - note.start >= 0.02:
                out.append(replace(note, end=end))
    return sorted(out, key=lambda n: (n.start, n.pitch))


def replan(request: GenerationRequest, old_notes: Mapping[str, Sequence[Note]], kept: Sequence[Kept],
           tempo_map: TempoMap) -> Score:
    """The recut's score: composed on ``tempo_map`` with the request's seed, the old notes in the ``kept`` spans."""
    from expotion_engine.engines.procedural.compose import MONOPHONIC, compose
    from expotion_engine.engines.procedural.parts.context import monophonic

    fresh = compose(request, tempo_map=tempo_map)
    parts = []
    for part in fresh.parts:
        notes = splice_notes(old_notes.get(part.name, ()), part.notes, kept, fresh.duration)
        parts.append(replace(part, notes=tuple(monophonic(notes) if part.name in MONOPHONIC else notes)))
    markers = tuple(m for m in fresh.markers if _inside(kept, m.time) is None)
    info = {**fresh.info, "replan": {"kept": [[round(k.start, 6), round(k.end, 6), round(k.old_start, 6)]
                                              for k in kept]}}
    return replace(fresh, parts=tuple(parts), markers=markers, info=info)


def render_replan(request: GenerationRequest, score: Score, loudness_lufs: float,
                  progress: ProgressFn | None = None, cancel: CancelEvent | None = None, *,
                  spool: Spool | None = None) -> Take:
    """``score`` rendered as the engine renders a take (preset's bus), on the old take's loudness target; a long
    recut comes back on disk (float WAVs in ``spool``, as :func:`.render_score` renders any long take)."""
    from expotion_engine.engines.procedural.engine import ID
    from expotion_engine.engines.procedural.render import render_score
    from expotion_engine.engines.procedural.settings import validate_preset

    started = time.perf_counter()
    preset = validate_preset(request.preset or {}, "the request's preset")
    mix = preset["mix"]
    rendering = render_score(score, request.sample_rate, loudness_lufs=loudness_lufs,
                             true_peak_db=float(mix["true_peak_db"]), width=float(mix["width"]),
                             compression=float(mix["compression"]), progress=progress, cancel=cancel,
                             spool=spool)
    stems = tuple(Stem(name=part.name, audio=rendering.stems[part.name], notes=part.notes, origin="rendered",
                       info={"instrument": part.instrument, "plugin": part.plugin, "gain_db": part.gain_db})
                  for part in score.parts)
    info = {**score.info, "loudness_target_lufs": round(loudness_lufs, 2), "render": rendering.info,
            "premix_peak": rendering.premix_peak}
    return Take(engine=ID, sample_rate=request.sample_rate, mix=rendering.mix, stems=stems,
                tempo_map=score.tempo_map, markers=score.markers, request=request.to_dict(), seed=request.seed,
                timings={"render_s": time.perf_counter() - started}, info=info)


__all__ = ["Kept", "fixed_fit", "hit_anchors", "render_replan", "replan", "splice_notes"]
