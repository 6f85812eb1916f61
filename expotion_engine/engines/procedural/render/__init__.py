"""Render a Score to stems and a mastered mix: built-in synths, SoundFont samples or plugins, channel strips, mix bus.

Each part becomes its own stereo float32 stem of exactly ``round(duration * sample_rate)`` samples;
the stems are scaled by one loudness-normalisation gain (limited so that no stem and not the
premix peaks above -1 dBFS) and summed to the premix; the mix is the premix through the bus's
low-pass, glue compression, make-up and a true-peak limiter, on the loudness target. The bus's
gain is one curve computed on the whole premix, and every stem goes through the same low-pass
and curve, so the delivered stems sum to the mix (``stems_null_db`` in the info, below -120 dB).
A part whose voice is ``sampled`` plays from the General MIDI bank :func:`.soundfont.find_soundfont`
finds (named in the info as ``soundfont``); with no bank at all it plays the synthesiser instead.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

import numpy as np

from expotion_engine.audio_io import ON_DISK_ABOVE_S, Spool, WavAudio
from expotion_engine.engines.procedural.render import bus
from expotion_engine.engines.procedural.render.effects import AUTOMATION, EFFECTS, channel_strip, check_part
from expotion_engine.engines.procedural.render.instruments import ALIASES as SYNTH_ALIASES
from expotion_engine.engines.procedural.render.instruments import (
    INSTRUMENTS,
    Instrument,
    NoteCache,
    check_notes,
    instrument,
    is_bass,
    render_notes,
)
from expotion_engine.engines.procedural.render.plugin import load_instrument, render_plugin
from expotion_engine.engines.procedural.render.sampled import STAND_INS, gm_voice, render_sampled, synth_part, voice_of
from expotion_engine.engines.procedural.render.soundfont import Bank, find_soundfont, load_bank, renderer_available
from expotion_engine.engines.procedural.score import Part, Score
from expotion_engine.errors import EngineError
from expotion_engine.progress import CancelEvent, ProgressFn, check_cancel, no_progress

__all__ = ["ALIASES", "AUTOMATION", "EFFECTS", "INSTRUMENTS", "Instrument", "Rendering", "render_score"]

log = logging.getLogger(__name__)
_WORKERS = max(1, min(2, os.cpu_count() or 1))
STEM_PEAK_DB = -1.0  # the stems and the premix peak no higher than this (dBFS)
#: takes longer than this (seconds) are rendered block by block to disk (:mod:`.stream`)
TO_DISK_ABOVE_S = ON_DISK_ABOVE_S
_AUDIO_BLOCK = 1 << 16  # samples per ``on_audio`` block of a take rendered in memory
ROOM = 0.5  # every part but the bass plays in a short stereo room at this send (times the width, at most 1)
MAX_WIDTH = 2.0
#: other instrument names the renderer accepts: the synth aliases, and the bank-only instruments
#: (a SoundFont plays them; without one, their built-in stand-in does)
ALIASES = {**SYNTH_ALIASES, **STAND_INS}


@dataclass(frozen=True, eq=False)
class Rendering:
    """Stems (through the mix bus, so they sum to ``mix``), the premix (their sum before the bus; None for a take
    rendered to disk, whose stems and mix are then float WAVs read through :class:`.WavAudio`), the mastered mix,
    measurements."""

    stems: dict[str, np.ndarray | WavAudio]
    premix: np.ndarray | None
    mix: np.ndarray | WavAudio
    info: dict[str, Any]

    @property
    def premix_peak(self) -> float:
        """The premix's sample peak (linear)."""
        if self.premix is None:
            return float(self.info.get("premix_peak", 0.0))
        return float(np.max(np.abs(self.premix))) if self.premix.size else 0.0


def _seed(score: Score) -> int:
    try:
        return int(score.info.get("seed", 0))
    except (TypeError, ValueError):
        return 0


def _db(x: float) -> float | None:
    return 20.0 * math.log10(x) if x > 0 else None


def _bank_for(score: Score, soundfont: str | os.PathLike[str] | None) -> Bank | None:
    """The bank the score's sampled parts play (None when no part is sampled, or there is no bank: then synth)."""
    sampled = [p.name for p in score.parts if p.plugin is None and voice_of(p) == "sampled"]
    if not sampled:
        return None
    if not renderer_available():
        log.warning("tinysoundfont is not installed (pip install --no-deps tinysoundfont); %s play the synthesiser",
                    ", ".join(sampled))
        return None
    bank = find_soundfont(soundfont)
    if bank is None:
        log.warning("no SoundFont bank found (run `expotion models pull soundfont`); %s play the synthesiser",
                    ", ".join(sampled))
    else:
        log.info("sampled parts %s play %s (%s, %s)", ", ".join(sampled), bank.name, bank.source, bank.path)
    return bank


def render_score(score: Score, sample_rate: int, *, loudness_lufs: float = -14.0, true_peak_db: float = -1.0,
                 soundfont: str | os.PathLike[str] | None = None, width: float = 1.0, compression: float = 0.3,
                 progress: ProgressFn | None = None, cancel: CancelEvent | None = None,
                 to_disk: bool | None = None, spool: Spool | None = None,
                 on_audio: Callable[[int, np.ndarray], None] | None = None) -> Rendering:
    """Render every part of ``score`` to its stem, normalise to ``loudness_lufs`` and limit to ``true_peak_db``.

    ``soundfont`` is a bank file for the sampled parts (default: the one :func:`find_soundfont` finds);
    ``width`` scales the stereo image (0 mono, 1 as placed, up to 2 wider); ``compression`` (0 open .. 1 dense)
    sets how hard the bus's glue compressor works. A take longer than :data:`TO_DISK_ABOVE_S` (or any with
    ``to_disk``) is rendered block by block into float WAVs in ``spool``, so memory does not grow with its length
    (:mod:`.stream`): a caller with an output passes one on the output's disk (what a stopped rendering wrote is
    removed from it); without one (a library call) it is a temporary folder, removed when its audio is no longer
    referred to, or at once when the rendering fails, is cancelled or interrupted.
    ``on_audio(start_sample, block)`` receives the finished mix in blocks, in time order.
    """
    if not (isinstance(sample_rate, int | np.integer) and 8000 <= sample_rate <= 384000):
        raise EngineError(f"Sample rate {sample_rate!r} is not supported; use a whole number of Hz, 8000 to 384000.")
    if not (math.isfinite(loudness_lufs) and -70.0 <= loudness_lufs <= 0.0):
        raise EngineError(f"Loudness target {loudness_lufs!r} LUFS is outside -70..0.")
    if not (math.isfinite(true_peak_db) and -20.0 <= true_peak_db <= 0.0):
        raise EngineError(f"True-peak ceiling {true_peak_db!r} dBTP is outside -20..0.")
    if not (math.isfinite(width) and 0.0 <= width <= MAX_WIDTH):
        raise EngineError(f"Stereo width {width!r} is outside 0..{MAX_WIDTH:g}.")
    if not (math.isfinite(compression) and 0.0 <= compression <= 1.0):
        raise EngineError(f"Bus compression {compression!r} is outside 0..1.")
    report = progress or no_progress
    started = time.perf_counter()
    n = int(round(score.duration * sample_rate))
    sample_rate = int(sample_rate)
    plugins = {}
    bank = _bank_for(score, soundfont)
    synths: dict[str, Part] = {}
    for part in score.parts:  # every mistake in the score is reported before any rendering starts
        check_part(part)
        if part.plugin is not None:
            plugins[part.name] = load_instrument(part)
        elif bank is not None and voice_of(part) == "sampled":
            gm_voice(part)
        else:
            synths[part.name] = synth_part(part)
            check_notes(synths[part.name], instrument(synths[part.name]))
    if bank is not None:
        report(0.0, f"loading SoundFont {bank.name}")
        load_bank(bank)
    seed = _seed(score)
    bpm = score.tempo_map.bpm_at(0.0)
    if to_disk if to_disk is not None else n > TO_DISK_ABOVE_S * sample_rate:
        return _render_to_disk(score, sample_rate, n, plugins, bank, synths, seed, bpm, loudness_lufs, true_peak_db,
                               width, compression, spool, report, cancel, on_audio, started)
    parts_info: dict[str, dict[str, Any]] = {}

    def render_part(part: Part) -> np.ndarray:
        check_cancel(cancel)
        if part.plugin is not None:
            dry = [render_plugin(part, plugins[part.name], sample_rate, n)]
            voicing, sound, voice = None, f"plugin:{part.plugin}", "plugin"
        elif part.name in synths:
            inst = instrument(synths[part.name])
            dry = [render_notes(synths[part.name], inst, sample_rate, n, seed, NoteCache(), cancel, width)]
            voicing, sound, voice = (inst.voicing() if inst.voicing else None), inst.name, "synth"
        else:
            played = render_sampled(part, bank, sample_rate, n, cancel)
            dry = [played.audio]
            voicing, sound, voice = None, played.describe(bank), "sampled"
            del played
        check_cancel(cancel)
        room = 0.0 if is_bass(part) else min(1.0, ROOM * width)
        stem, strip = channel_strip(dry.pop(), part, sample_rate, bpm, voicing, width, room)  # in place
        parts_info[part.name] = {"sound": sound, "voice": voice, "notes": len(part.notes), **strip}
        return stem

    report(0.0, "rendering parts")
    raw: dict[str, np.ndarray] = {}
    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:  # numpy and pedalboard release the GIL
        futures = {pool.submit(render_part, part): part.name for part in score.parts}
        try:
            for done, future in enumerate(as_completed(futures), start=1):
                raw[futures[future]] = future.result()
                report(0.85 * done / len(futures), f"rendered {futures[future]}")
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    raw = {part.name: raw[part.name] for part in score.parts}
    parts_info = {part.name: parts_info[part.name] for part in score.parts}
    check_cancel(cancel)
    report(0.87, "mix bus")
    total = np.zeros((2, n), dtype=np.float32)
    for stem in raw.values():
        total += stem
    level = bus.integrated_loudness(total, sample_rate)
    gain_db = loudness_lufs - level if math.isfinite(level) else 0.0
    peak = max((float(np.abs(audio).max()) for audio in (total, *raw.values())), default=0.0) if n else 0.0
    if peak > 0:  # stems and premix keep headroom (they never clip); the bus makes up the rest
        gain_db = min(gain_db, STEM_PEAK_DB - 20.0 * math.log10(peak))
    gain = np.float32(10.0 ** (gain_db / 20.0))
    stems = raw
    premix = total
    premix[:] = 0.0
    for stem in stems.values():
        stem *= gain
        premix += stem
    check_cancel(cancel)
    report(0.92, "limiting")
    premix_lufs = level + gain_db if math.isfinite(level) else None
    mix, mastered, bus_info = bus.master(premix, sample_rate, loudness_lufs, true_peak_db, premix_lufs, compression)
    for name in stems:  # through the same bus filter and gain curve: the stems sum to the mix
        stems[name] = mastered.finish(stems[name], sample_rate)
        parts_info[name]["peak_db"] = _db(float(np.max(np.abs(stems[name])))) if n else None
    bus_info["stems_null_db"] = bus.null_residual_db(mix, list(stems.values())) if n else None
    info = _info(score, sample_rate, n, seed, loudness_lufs, true_peak_db, bank, started,
                 {"normalisation_gain_db": gain_db, "premix_lufs": premix_lufs, **bus_info, "parts": parts_info})
    if on_audio is not None:
        for a in range(0, n, _AUDIO_BLOCK):
            on_audio(a, np.ascontiguousarray(mix[:, a:a + _AUDIO_BLOCK]))
    report(1.0, "rendered")
    log.info("rendered %.1f s of music in %.2f s (%s LUFS, %s dBTP)", score.duration, info["render_seconds"],
             info["loudness_lufs"], info["true_peak_db"])
    return Rendering(stems=stems, premix=premix, mix=mix, info=info)


def _info(score: Score, sample_rate: int, n: int, seed: int, loudness_lufs: float, true_peak_db: float,
          bank: Bank | None, started: float, measured: dict[str, Any]) -> dict[str, Any]:
    """The rendering's report, the same keys in memory and on disk: what was asked, what was measured, how long."""
    return {
        "sample_rate": sample_rate,
        "samples": n,
        "seed": seed,
        "target_lufs": loudness_lufs,
        "target_true_peak_db": true_peak_db,
        **measured,
        "plugins": {p.name: p.plugin for p in score.parts if p.plugin is not None},
        "soundfont": bank.name if bank is not None else None,
        "soundfont_path": str(bank.path) if bank is not None else None,
        "render_seconds": time.perf_counter() - started,
    }


def _render_to_disk(score: Score, sample_rate: int, n: int, plugins: dict[str, Any], bank: Bank | None,
                    synths: dict[str, Part], seed: int, bpm: float, loudness_lufs: float, true_peak_db: float,
                    width: float, compression: float, spool: Spool | None, report: ProgressFn,
                    cancel: CancelEvent | None, on_audio: Callable[[int, np.ndarray], None] | None,
                    started: float) -> Rendering:
    """:func:`render_score` of a long take, block by block into float WAVs (:func:`.stream.render_to_disk`)."""
    from expotion_engine.engines.procedural.render.stream import render_to_disk

    own = spool is None
    spool = spool or Spool()
    plan, voicings, rooms = {}, {}, {}
    for part in score.parts:
        if part.plugin is not None:
            plan[part.name] = ("plugin", plugins[part.name], None, None)
        elif part.name in synths:
            plan[part.name] = ("synth", None, None, synths[part.name])
            voicings[part.name] = instrument(synths[part.name]).voicing
        else:
            plan[part.name] = ("sampled", None, bank, None)
        rooms[part.name] = 0.0 if is_bass(part) else min(1.0, ROOM * width)
    try:
        stem_paths, mix_path, measured = render_to_disk(
            score, sample_rate, n, plan, seed=seed, bpm=bpm, voicings=voicings, rooms=rooms, width=width,
            loudness_lufs=loudness_lufs, true_peak_db=true_peak_db, compression=compression, spool=spool,
            report=report, cancel=cancel, on_audio=on_audio, workers=_WORKERS)
    except BaseException:  # a failure, cancel or Ctrl-C: its own spool goes now, not when the traceback is freed
        if own:
            spool.close()
        raise
    parts = measured.pop("parts")
    for part in score.parts:
        kind, _, _, synth = plan[part.name]
        sound = (f"plugin:{part.plugin}" if kind == "plugin" else instrument(synth).name if kind == "synth"
                 else parts[part.name].pop("sound"))
        parts[part.name] = {"sound": sound, "voice": kind, **parts[part.name]}
    info = _info(score, sample_rate, n, seed, loudness_lufs, true_peak_db, bank, started, {**measured, "parts": parts})
    report(1.0, "rendered")
    log.info("rendered %.1f s of music to disk in %.2f s (%s LUFS, %s dBTP)", score.duration, info["render_seconds"],
             info["loudness_lufs"], info["true_peak_db"])
    return Rendering(stems={name: spool.audio(path) for name, path in stem_paths.items()}, premix=None,
                     mix=spool.audio(mix_path), info=info)
