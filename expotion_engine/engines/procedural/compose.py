"""ControlTrack + prompt + preset + seed -> Score: the whole composition, no audio.

Order of decisions: prompt and preset settle style, parts and tempo bounds; the motion
gives the tempo, the hits bend the map and the range end fixes the final cadence; the
valence picks the mode and, among the preset's key centres, the key; the energy the
sections (each with its texture), tension and, note by note, density, velocity and
register. The preset's name joins the seed in the random stream, so one seed gives
different music in different presets.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
from scipy.ndimage import uniform_filter1d

from expotion_engine.engines.procedural.accents import accent_pass
from expotion_engine.engines.procedural.fit import BASE_SEARCH, fit_tempo_map
from expotion_engine.engines.procedural.harmony import (
    NOTE_NAMES,
    bar_symbols,
    choose_tonic,
    mode_for_valence,
    parse_tonic,
    progression,
    scale_pcs,
)
from expotion_engine.engines.procedural.hits import Hit, HitSettings, rhythm_hits, select_hits
from expotion_engine.engines.procedural.parts.bass import bass_notes
from expotion_engine.engines.procedural.parts.chords import chord_notes
from expotion_engine.engines.procedural.parts.context import Context, monophonic
from expotion_engine.engines.procedural.parts.drums import drum_notes
from expotion_engine.engines.procedural.parts.melody import melody_notes
from expotion_engine.engines.procedural.prompt import PromptSettings, parse_prompt
from expotion_engine.engines.procedural.replan import fixed_fit
from expotion_engine.engines.procedural.score import Automation, Part, Score
from expotion_engine.engines.procedural.sections import find_sections
from expotion_engine.engines.procedural.settings import PART_NAMES, STYLES, validate_preset
from expotion_engine.engines.procedural.tempo import TempoChoice, choose_tempo_meter, motion_pulses
from expotion_engine.errors import EngineError
from expotion_engine.types import ControlTrack, GenerationRequest, Marker, TempoMap

MIN_DURATION_S = 2.0
AUTOMATION_RATE = 10.0
#: parts that play one note at a time (an accent that rings into the next note is ended there)
MONOPHONIC = ("bass", "melody")


def energy_curve(controls: ControlTrack, bias: float = 0.0, smooth_s: float = 0.4) -> np.ndarray:
    """Energy 0..1 per control frame, smoothed; unknown frames take the mean of the known ones."""
    n = controls.n_frames
    if controls.has("energy") and controls.valid("energy").any():
        values = controls.channel("energy").astype(np.float64)
        valid = controls.valid("energy")
        values = np.where(valid, values, float(values[valid].mean()))
    else:
        values = np.full(n, 0.5)
    size = max(int(round(smooth_s * controls.rate)), 1)
    return np.clip(uniform_filter1d(values, size, mode="nearest") + bias, 0.0, 1.0)


def mean_valence(controls: ControlTrack) -> float:
    """Mean valence over the frames where it is known (0 when it never is)."""
    if not controls.has("valence") or not controls.valid("valence").any():
        return 0.0
    return float(controls.channel("valence")[controls.valid("valence")].mean())


def collect_hits(request: GenerationRequest, preset: Mapping[str, Any], min_strength: float = 0.0) -> list[Hit]:
    """The hits the score marks: every user cue, detected hits by the preset's density (or the option
    ``hits_density``) strongest first, none so late that no accent fits before the final cadence."""
    settings = HitSettings.from_preset(preset["hits"], request.options)
    duration = request.duration
    hits = select_hits(request.controls.markers, request.cues, duration, settings,
                       latest=duration - min(1.2, 0.2 * duration))
    return [h for h in hits if h.is_cue or h.strength >= min_strength]


def choose_tempo(request: GenerationRequest, preset: Mapping[str, Any], words: PromptSettings,
                 energy: np.ndarray) -> TempoChoice:
    """Tempo and meter: --bpm, prompt "N bpm" or preset bpm when given, else motion rhythm, the rhythm of every
    detected hit (not only those the density keeps) and energy."""
    tempo = preset["tempo"]
    meter = tempo.get("meter")
    if request.bpm is not None:
        if not 30 <= request.bpm <= 300:
            raise EngineError(f"BPM {request.bpm:g} is outside 30..300.")
        return TempoChoice(float(request.bpm), meter or 4, "request", 1.0)
    if words.bpm is not None:
        return TempoChoice(words.bpm, meter or 4, "prompt", 1.0)
    if "bpm" in tempo:
        return TempoChoice(float(tempo["bpm"]), meter or 4, "preset", 1.0)
    rhythm = rhythm_hits(request.controls.markers, request.cues)
    choice = choose_tempo_meter(request.controls, rhythm, float(np.mean(energy)), tempo["min"], tempo["max"], meter)
    bpm = min(max(choice.bpm * words.tempo_factor, 40.0), 220.0)
    source = choice.source + ("+prompt" if words.tempo_factor != 1.0 else "")
    return TempoChoice(round(bpm, 2), choice.numerator, source, choice.confidence, choice.terms)


def _bar_means(values: np.ndarray, rate: float, bar_times: np.ndarray) -> np.ndarray:
    out = []
    for t0, t1 in zip(bar_times[:-1], bar_times[1:], strict=False):
        a, b = int(t0 * rate), max(int(t1 * rate), int(t0 * rate) + 1)
        chunk = values[min(a, len(values) - 1): min(b, len(values))]
        out.append(float(chunk.mean()) if chunk.size else float(values[-1]))
    return np.array(out)


def _merge_words(preset: Mapping[str, Any], request: GenerationRequest) -> tuple[PromptSettings, PromptSettings]:
    return parse_prompt(str(preset.get("prompt", ""))), parse_prompt(request.prompt)


def compose(request: GenerationRequest, tempo_map: TempoMap | None = None) -> Score:
    """The Score for one request; deterministic for its seed (on ``tempo_map`` when given: a conform's re-plan)."""
    duration = request.duration
    if duration < MIN_DURATION_S:
        raise EngineError(f"The range is {duration:.2f} s long; the procedural engine needs at least "
                          f"{MIN_DURATION_S:g} s.")
    preset = validate_preset(request.preset or {}, "the request's preset")
    engine = {**preset["engine"], **{k: v for k, v in request.options.items() if k in preset["engine"]}}
    base_words, words = _merge_words(preset, request)
    style = words.genre or base_words.genre or preset["style"]
    style = style if style in STYLES else preset["style"]
    energy = energy_curve(request.controls, engine["energy_bias"] + words.energy_shift + base_words.energy_shift)
    rate = request.controls.rate
    hits = collect_hits(request, preset, engine["hit_strength"])
    choice = choose_tempo(request, preset, words, energy)
    bpm, tempo_source, confidence, numerator = choice.bpm, choice.source, choice.confidence, choice.numerator
    fixed = tempo_source in ("request", "prompt", "preset")
    pulses = motion_pulses(request.controls, bpm, confidence, numerator) if tempo_source.startswith("motion") else []
    if tempo_map is not None and tempo_map.beat_at(duration) < 2 * tempo_map.meters[0].numerator:
        tempo_map = None  # no whole bar before a cadence on the given map: the engine fits its own
    if tempo_map is not None:
        numerator = tempo_map.meters[0].numerator
    fit = fixed_fit(tempo_map, duration, hits) if tempo_map is not None else fit_tempo_map(
        duration, bpm, numerator, hits, max_bend=engine["max_bend"], ritardando=engine["ritardando"], pulses=pulses,
        rubato=HitSettings.from_preset(preset["hits"], style=style).rubato,
        search=0.0 if fixed else max(engine["max_bend"], BASE_SEARCH),
        bounds=(preset["tempo"]["min"], preset["tempo"]["max"]))
    tempo_map = fit.tempo_map
    bpm = round(float(fit.report["base_bpm"]), 2)
    n_bars = int(math.ceil(tempo_map.beat_at(duration) / numerator - 1e-9))
    cadence_bar = min(fit.cadence_beat // numerator, n_bars - 1)
    bar_times = np.array([tempo_map.time_at(b * numerator) for b in range(n_bars + 1)])
    bar_energy = _bar_means(energy, rate, bar_times)
    valence_curve = (request.controls.channel("valence").astype(np.float64) if request.controls.has("valence")
                     else np.zeros(request.controls.n_frames))
    sections = find_sections(bar_energy, _bar_means(valence_curve, rate, bar_times), cadence_bar, n_bars)

    stream = preset_stream(preset)
    rng = np.random.default_rng([request.seed & 0xFFFFFFFF, stream, 7])
    valence = mean_valence(request.controls) + preset["key"]["valence_bias"] + words.valence_shift \
        + base_words.valence_shift
    mode = mode_for_valence(valence, tuple(preset["key"]["modes"]))
    tonic = parse_tonic(preset["key"]["tonic"]) if "tonic" in preset["key"] else \
        choose_tonic(valence, tuple(parse_tonic(t) for t in preset["key"]["tonics"]), rng)
    tension = np.clip(bar_energy + np.array([0.1 if s.name == "peak" else 0.0
                                             for s in sections for _ in range(s.end_bar - s.start_bar)]), 0, 1)
    chords = progression(tonic, mode, tension, numerator, n_bars, cadence_bar, rng,
                         tuple(s.start_bar for s in sections))
    enabled, instruments = _arrangement(preset, base_words, words, style)
    ctx = Context(
        tempo_map=tempo_map, duration=duration, numerator=numerator, n_bars=n_bars, cadence_bar=cadence_bar,
        energy=energy, rate=rate, chords=tuple(chords), sections=tuple(sections), tonic=tonic, mode=mode,
        scale=scale_pcs(tonic, mode), style=style, seed=request.seed, hits=tuple(hits),
        swing=float(preset["tempo"]["swing"]), humanize=float(engine["humanize"]),
        register_shift=int(engine["register_shift"]), parts=frozenset(enabled), stream=stream,
        instruments=dict(instruments),
    )
    parts, accent_report = accent_pass(ctx, _parts(ctx, preset, instruments), fit.placements)
    parts = [replace(p, notes=tuple(monophonic(p.notes))) if p.name in MONOPHONIC else p for p in parts]
    markers = [Marker(bar_times[s.start_bar], s.label, "section") for s in sections]
    markers += [Marker(h.event_time, h.name, h.kind, strength=h.marker_strength, cause=h.cause) for h in hits]
    info = {
        "seed": request.seed,
        "style": style,
        "key": NOTE_NAMES[tonic],
        "mode": mode,
        "valence": round(valence, 3),
        "bpm": bpm,
        "tempo_source": tempo_source,
        "tempo_confidence": round(confidence, 3),
        "meter": f"{numerator}/4",
        "bars": n_bars,
        "cadence_time": round(ctx.cadence_time, 4),
        "sections": [{"name": s.label, "start": round(float(bar_times[s.start_bar]), 4),
                      "bars": s.end_bar - s.start_bar} for s in sections],
        "chords": [c.symbol for c in chords],
        "chord_bars": bar_symbols(chords, numerator, n_bars),
        "prompt": words.report(),
        "preset_prompt": base_words.report(),
        "tempo_terms": choice.terms,
        "hit_fit": {**fit.report, **accent_report},
        "mean_energy": round(float(energy.mean()), 3),
        "parts": [p.name for p in parts],
    }
    return Score(duration=duration, tempo_map=tempo_map, parts=tuple(parts), markers=tuple(markers),
                 key=NOTE_NAMES[tonic], mode=mode, info=info)


def preset_stream(preset: Mapping[str, Any]) -> int:
    """The preset's own random stream: its name (or style and instruments), so a seed differs per preset."""
    name = str(preset.get("name") or preset["style"] + ":" + ",".join(
        str(preset["parts"][p]["instrument"]) for p in PART_NAMES))
    return zlib.crc32(name.encode())


def _arrangement(preset: Mapping[str, Any], base_words: PromptSettings, words: PromptSettings,
                 style: str) -> tuple[set[str], dict[str, str]]:
    """Which parts play and on which sound: the preset, then its prompt words, then the user's prompt."""
    tables = preset["parts"]
    excluded = words.excluded | base_words.excluded
    instruments = {p: tables[p]["instrument"] for p in PART_NAMES}
    instruments.update(base_words.instruments)
    instruments.update(words.instruments)
    enabled = {p for p in PART_NAMES if tables[p]["enabled"]} - excluded
    if style == "solo":
        solo = words.solo or base_words.solo or instruments["harmony"]
        instruments["harmony"] = instruments["melody"] = solo
        enabled &= {"harmony", "melody"}
    for part in PART_NAMES:
        if part in words.instruments and part not in excluded:
            enabled.add(part)
    return enabled, instruments


def _parts(ctx: Context, preset: Mapping[str, Any], instruments: Mapping[str, str]) -> list[Part]:
    """The enabled parts with their notes, sounds, levels, effects and brightness automation following the energy
    (left out when the energy hardly moves)."""
    tables = preset["parts"]
    makers = {
        "drums": lambda: drum_notes(ctx),
        "bass": lambda: bass_notes(ctx),
        "harmony": lambda: chord_notes(ctx),
        "melody": lambda: melody_notes(ctx),
    }
    frames = np.arange(int(math.ceil(ctx.duration * AUTOMATION_RATE)) + 1) / AUTOMATION_RATE
    curve = [0.35 + 0.6 * ctx.energy_at(t) for t in frames]
    brightness = Automation(AUTOMATION_RATE, tuple(curve)) if max(curve) - min(curve) > 0.05 else None
    parts = []
    for name in PART_NAMES:
        if name not in ctx.parts:
            continue
        table = tables[name]
        automation = {"brightness": brightness} if brightness and name in ("harmony", "melody") else {}
        parts.append(Part(
            name=name, instrument=instruments[name], notes=tuple(makers[name]()), gain_db=table["gain_db"],
            pan=table["pan"], effects=dict(table["effects"]), automation=automation, plugin=table.get("plugin"),
            voice=table.get("voice"),
        ))
    return parts
