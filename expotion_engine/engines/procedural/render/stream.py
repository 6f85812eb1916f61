"""Render a long Score to disk in blocks: memory stays flat however long the take is.

The same sound as :func:`.render_score`, made in passes over blocks in time order, every
intermediate written to a spool folder instead of held:

1. every part's notes are rendered block by block (notes and tails crossing a block boundary
   carry on, :class:`.NoteStream`), through its channel strip (:class:`.StripStream`, every
   effect keeping its state) into a raw stem file; a part with ``drive`` is run once more first
   to measure the drive's level change;
2. the stems are read back, each scaled by its :func:`.cap_side` width (known only now), and
   summed: the premix's loudness and every peak give the one normalisation gain;
3. the normalised premix goes through the bus's low-pass into a file, its glue-compressor
   detector fed on the way (:class:`.GlueCurve`);
4. the make-up gain is searched as :func:`.bus.master` searches it, each try limiting the
   compressed premix segment by segment (each with margins either side, so the look-ahead and
   release see their neighbours) and measuring the loudness as it goes (:class:`.LoudnessMeter`);
5. the last pass limits once more with the chosen make-up and writes the mix and every finished
   stem (the same low-pass and gain curve as the mix, so the stems sum to it) as float WAVs,
   handing each mix block to ``on_audio`` as it is written.

Peak memory is a few blocks per part, the note caches and the glue curve (8 bytes per 64
samples). The spool holds each part's raw stem and the filtered premix until the end, beside the
finished mix and stems: about ten times the mix's size for four parts.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from scipy.signal import sosfilt

from expotion_engine.audio_io import Spool, WavWriter
from expotion_engine.engines.procedural.render import STEM_PEAK_DB, bus
from expotion_engine.engines.procedural.render.effects import StripStream, widen
from expotion_engine.engines.procedural.render.instruments import NoteCache, NoteStream, instrument
from expotion_engine.engines.procedural.render.plugin import midi_messages, play_plugin
from expotion_engine.engines.procedural.render.sampled import SampledPart, SampledStream
from expotion_engine.engines.procedural.score import Part
from expotion_engine.progress import CancelEvent, ProgressFn, check_cancel

log = logging.getLogger(__name__)

#: samples rendered per block: a whole number of pedalboard's 8192-sample buffers (and of every detector block)
BLOCK = 1 << 19
#: samples the bus limits per segment, and the margin limited either side of it and thrown away
SEGMENT = 1 << 20
MARGIN = 1 << 17
#: bytes each part's cache of rendered note waveforms may hold while streaming
CACHE_BYTES = 64 * 2**20

AudioFn = Callable[[int, np.ndarray], None]


class _Raw:
    """A spool file of float32 stereo frames, appended block by block and read back by range."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.frames = 0
        self._handle = open(path, "wb")  # noqa: SIM115 - closed by finish()

    def append(self, block: np.ndarray) -> None:
        np.ascontiguousarray(block.T, dtype=np.float32).tofile(self._handle)
        self.frames += block.shape[-1]

    def finish(self) -> None:
        """Close the file for writing (again is harmless)."""
        self._handle.close()

    def read(self, a: int, b: int) -> np.ndarray:
        """Frames ``a`` .. ``b`` (clipped to the file) as ``(2, n)``."""
        a, b = max(0, a), min(b, self.frames)
        data = np.fromfile(self.path, dtype=np.float32, count=2 * max(0, b - a), offset=8 * a)
        return np.ascontiguousarray(data.reshape(-1, 2).T)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


class _PluginStream:
    """A plugin instrument played block by block, keeping its state (its notes as MIDI messages per block)."""

    def __init__(self, part: Part, plugin: Any, sample_rate: int) -> None:
        self.part, self.plugin, self.sample_rate = part, plugin, sample_rate
        self.messages = midi_messages(part)
        self._next = 0

    def render(self, a: int, b: int) -> np.ndarray:
        end = b / self.sample_rate
        chosen = []
        while self._next < len(self.messages) and self.messages[self._next][1] < end:
            message, at = self.messages[self._next]
            chosen.append((message, max(0.0, at - a / self.sample_rate)))
            self._next += 1
        return play_plugin(self.part, self.plugin, chosen, self.sample_rate, b - a, reset=a == 0)


def _source(part: Part, kind: str, *, plugin: Any, bank: Any, synth: Part | None, sample_rate: int, n: int,
            seed: int, width: float) -> tuple[Callable[[int, int, CancelEvent | None], np.ndarray], dict[str, str]]:
    """A function giving the part's dry audio for samples ``a`` .. ``b`` (called block after block in order), and
    what plays it for the info (a SoundFont part: ``sound``)."""
    if kind == "plugin":
        stream = _PluginStream(part, plugin, sample_rate)
        return (lambda a, b, cancel: stream.render(a, b)), {}
    if kind == "sampled":
        sampled = SampledStream(part, bank, sample_rate)
        return (lambda a, b, cancel: sampled.render(b, cancel)), {
            "sound": SampledPart(np.zeros((2, 0), np.float32), sampled.presets).describe(bank)}
    notes = NoteStream(synth, instrument(synth), sample_rate, n, seed, NoteCache(CACHE_BYTES), width)
    return notes.render, {}


class _Part:
    """One part being streamed: where its dry audio comes from, its strip, its raw stem file, its bus filter state."""

    def __init__(self, part: Part, make_source: Callable[[], tuple[Callable, dict[str, str]]],
                 make_strip: Callable[[], StripStream], raw: _Raw) -> None:
        self.part, self.make_source, self.raw = part, make_source, raw
        self.source, self.sound = make_source()
        self.strip = make_strip()
        self.measure = make_strip() if self.strip.drive else None
        self.scale = 1.0
        self.peak = 0.0
        self.air_state: np.ndarray | None = None

    def block(self, a: int, b: int) -> np.ndarray:
        """Samples ``a`` .. ``b`` of the raw stem with its width cap."""
        return widen(self.raw.read(a, b), self.scale)


class _DiskRender:
    """The passes of :func:`render_to_disk` over one score, in order; each method is one pass."""

    def __init__(self, parts: list[_Part], n: int, sample_rate: int, spool: Spool, pool: ThreadPoolExecutor,
                 report: ProgressFn, cancel: CancelEvent | None) -> None:
        self.parts, self.n, self.sample_rate, self.spool = parts, n, sample_rate, spool
        self.pool, self.report, self.cancel = pool, report, cancel
        self.blocks = [(a, min(n, a + BLOCK)) for a in range(0, n, BLOCK)]
        self.segments = [(a, min(n, a + SEGMENT)) for a in range(0, n, SEGMENT)]
        self.sos = bus._air_sos(sample_rate)
        self.info: dict[str, Any] = {}
        self._raws = [p.raw for p in parts]

    def raw(self, name: str) -> _Raw:
        """A new intermediate file in the spool (removed by :meth:`clean_up`)."""
        self._raws.append(_Raw(self.spool.file(name)))
        return self._raws[-1]

    def clean_up(self) -> None:
        """Remove every intermediate file at once (the spool keeps only the finished WAVs)."""
        for raw in self._raws:
            raw.finish()
            raw.remove()

    def each(self, function: Callable[[_Part], Any]) -> list[Any]:
        """``function`` of every part, on the pool, results in part order."""
        return [f.result() for f in [self.pool.submit(function, p) for p in self.parts]]

    def measure_drive(self) -> None:
        """A part with drive is played once first: drive changes colour, not level, over the whole part."""
        for p in self.parts:
            if p.measure is None:
                continue
            self.report(0.0, f"measuring the drive of {p.part.name}")
            source, _ = p.make_source()
            for a, b in self.blocks:
                check_cancel(self.cancel)
                p.measure.measure_drive(source(a, b, self.cancel))
            p.strip.use_drive_level(p.measure)
            p.measure = None

    def render_parts(self) -> None:
        """Pass 1: every part's stem, block by block in time order, into its raw file."""
        for done, (a, b) in enumerate(self.blocks):
            check_cancel(self.cancel)

            def render(p: _Part, a: int = a, b: int = b) -> None:
                p.raw.append(p.strip.process(p.source(a, b, self.cancel), a))

            self.each(render)
            self.report(0.75 * (done + 1) / len(self.blocks),
                        f"rendered {b / self.sample_rate:.0f} s of {self.n / self.sample_rate:.0f} s")
        for p in self.parts:
            p.raw.finish()
            p.scale = p.strip.side_scale()
            p.source = None

    def normalise(self, loudness_lufs: float) -> tuple[_Raw, np.float32]:
        """Pass 2: the capped stems summed (into a file), the premix's loudness and every peak: the normalisation
        gain that brings the premix to ``loudness_lufs`` without a stem or the premix above -1 dBFS."""
        self.report(0.76, "measuring the premix")
        meter = bus.LoudnessMeter(self.n, self.sample_rate)
        total = self.raw("total.f32")
        total_peak = 0.0
        for a, b in self.blocks:
            check_cancel(self.cancel)
            summed = np.zeros((2, b - a), dtype=np.float32)
            for p, block in zip(self.parts, self.each(lambda p, a=a, b=b: p.block(a, b)), strict=True):
                p.peak = max(p.peak, float(np.abs(block).max(initial=0.0)))
                summed += block
            total_peak = max(total_peak, float(np.abs(summed).max(initial=0.0)))
            meter.add(summed)
            total.append(summed)
        total.finish()
        level = meter.result()
        gain_db = loudness_lufs - level if math.isfinite(level) else 0.0
        peak = max([total_peak, *(p.peak for p in self.parts)])
        if peak > 0:  # stems and premix keep headroom (they never clip); the bus makes up the rest
            gain_db = min(gain_db, STEM_PEAK_DB - 20.0 * math.log10(peak))
        self.info["normalisation_gain_db"] = gain_db
        self.info["premix_lufs"] = level + gain_db if math.isfinite(level) else None
        return total, np.float32(10.0 ** (gain_db / 20.0))

    def bus_filter(self, total: _Raw, gain: np.float32, loudness_lufs: float,
                   compression: float) -> tuple[_Raw, bus.GlueCurve, float]:
        """Pass 3: the normalised premix through the bus's low-pass (into a file), the glue detector fed on the
        way; the compressor's curve, and the first guess of the make-up (one more read of the filtered premix)."""
        self.report(0.8, "mix bus")
        state = np.zeros((self.sos.shape[0], 2, 2), dtype=np.float32)
        filtered = self.raw("bus.f32")
        glue = bus.GlueCurve(2)
        premix_energy = premix_peak = 0.0
        for a, b in self.blocks:
            check_cancel(self.cancel)
            premix = total.read(a, b)
            premix *= gain
            premix_energy += float(np.vdot(premix, premix))
            premix_peak = max(premix_peak, float(np.abs(premix).max(initial=0.0)))
            block, state = sosfilt(self.sos, premix, axis=-1, zi=state)
            block = block.astype(np.float32, copy=False)
            glue.add(block)
            filtered.append(block)
        filtered.finish()
        total.remove()
        start = loudness_lufs if self.info["premix_lufs"] is None else self.info["premix_lufs"]
        glue.finish(self.sample_rate, *bus.glue_settings(start, compression))
        compressed_energy = 0.0
        for a, b in self.blocks:
            block = filtered.read(a, b)
            block *= glue.gain(a, b)
            compressed_energy += float(np.vdot(block, block))
        self.info["premix_peak"] = premix_peak
        self.info["glue_max_reduction_db"] = glue.max_reduction_db
        return filtered, glue, bus.first_makeup(loudness_lufs, start, premix_energy, compressed_energy)

    def limited(self, filtered: _Raw, glue: bus.GlueCurve, ceiling_db: float, makeup_db: float) -> Any:
        """``(a, b, mix, limiter gain, true peak)`` of each bus segment, limited with margins either side (so the
        limiter's look-ahead and release see the neighbours) and cut to the segment."""
        for a, b in self.segments:
            check_cancel(self.cancel)
            lo, hi = max(0, a - MARGIN), min(self.n, b + MARGIN)
            window = filtered.read(lo, hi)
            window *= glue.gain(lo, hi)
            mix, limiter, peak = bus.limit(window, self.sample_rate, ceiling_db, makeup_db)
            yield a, b, mix[:, a - lo:b - lo], limiter[a - lo:b - lo], peak

    def search_makeup(self, filtered: _Raw, glue: bus.GlueCurve, ceiling_db: float, loudness_lufs: float,
                      makeup_db: float) -> float:
        """Pass 4: :func:`.bus.search_makeup`, each try one limited pass measured block by block."""
        tries = 0

        def measure(gain_db: float) -> float:
            nonlocal tries
            tries += 1
            self.report(min(0.9, 0.82 + 0.01 * tries), f"make-up try {tries}")
            meter = bus.LoudnessMeter(self.n, self.sample_rate)
            for _, _, mix, _, _ in self.limited(filtered, glue, ceiling_db, gain_db):
                meter.add(mix)
            return meter.result()

        makeup, level = bus.search_makeup(measure, loudness_lufs, makeup_db)
        self.info["loudness_lufs"] = level if math.isfinite(level) else None
        self.info["bus_makeup_db"] = makeup
        self.info["make_up_tries"] = tries
        return makeup

    def write(self, filtered: _Raw, glue: bus.GlueCurve, ceiling_db: float, makeup_db: float, gain: np.float32,
              on_audio: AudioFn | None) -> tuple[dict[str, Path], Path]:
        """Pass 5: limited once more with the chosen make-up; the mix and every finished stem (through the same
        low-pass and gain curve, so they sum to the mix) written as float WAVs; the mix handed to ``on_audio``."""
        self.report(0.92, "writing the mix and stems")
        makeup = np.float32(10.0 ** (makeup_db / 20.0))
        mix_path = self.spool.file("mix.wav")
        paths = {p.part.name: self.spool.file(f"stem{i}.wav") for i, p in enumerate(self.parts)}
        writers = [WavWriter(paths[p.part.name], self.sample_rate, 2, self.n) for p in self.parts]
        mix_writer = WavWriter(mix_path, self.sample_rate, 2, self.n)
        for p in self.parts:
            p.air_state = np.zeros((self.sos.shape[0], 2, 2), dtype=np.float32)
            p.peak = 0.0
        mix_energy = residual_energy = true_peak = reduction_max = reduction_sum = 0.0
        reduced_count = 0
        try:
            for a, b, mix, limiter, peak in self.limited(filtered, glue, ceiling_db, makeup_db):
                true_peak = max(true_peak, peak)
                reduced = limiter[limiter < 1.0]
                if reduced.size:
                    db = -20.0 * np.log10(np.maximum(reduced, 1e-9))
                    reduction_max, reduction_sum = max(reduction_max, float(db.max())), reduction_sum + float(db.sum())
                    reduced_count += reduced.size
                curve = limiter * glue.gain(a, b)
                curve *= makeup

                def finish(p: _Part, a: int = a, b: int = b, curve: np.ndarray = curve) -> np.ndarray:
                    stem = p.block(a, b)
                    stem *= gain
                    stem, p.air_state = sosfilt(self.sos, stem, axis=-1, zi=p.air_state)
                    return np.multiply(stem, curve, dtype=np.float32)

                residual = mix.astype(np.float64)
                for p, writer, stem in zip(self.parts, writers, self.each(finish), strict=True):
                    writer.write(stem)
                    p.peak = max(p.peak, float(np.abs(stem).max(initial=0.0)))
                    residual -= stem
                mix_energy += float(np.vdot(mix.astype(np.float64), mix.astype(np.float64)))
                residual_energy += float(np.vdot(residual, residual))
                mix_writer.write(mix)
                if on_audio is not None:
                    on_audio(a, np.ascontiguousarray(mix, dtype=np.float32))
                self.report(0.92 + 0.08 * b / self.n,
                            f"wrote {b / self.sample_rate:.0f} s of {self.n / self.sample_rate:.0f} s")
            mix_writer.close()
            for writer in writers:
                writer.close()
        except BaseException:
            for writer in (mix_writer, *writers):
                writer.abort()
            raise
        n = max(self.n, 1)
        self.info.update({
            "true_peak_db": 20.0 * math.log10(true_peak) if true_peak > 0 else None,
            "limiter_max_reduction_db": reduction_max,
            "limiter_mean_reduction_db": reduction_sum / n,
            "limiter_active_fraction": reduced_count / n,
            "stems_null_db": 10.0 * math.log10(max(residual_energy, 1e-30) / mix_energy) if mix_energy > 0 else None,
        })
        return paths, mix_path


def render_to_disk(score: Any, sample_rate: int, n: int, plan: dict[str, tuple[str, Any, Any, Part | None]],
                   *, seed: int, bpm: float, voicings: dict[str, Any], rooms: dict[str, float], width: float,
                   loudness_lufs: float, true_peak_db: float, compression: float, spool: Spool,
                   report: ProgressFn, cancel: CancelEvent | None, on_audio: AudioFn | None,
                   workers: int = 2) -> tuple[dict[str, Path], Path, dict[str, Any]]:
    """Render ``score`` (``n`` samples) into ``spool``: the finished stems' and the mix's float WAV paths, and the
    measurements (as :func:`.render_score`'s info; the parts' entries without their sound names, but a SoundFont
    part's).

    ``plan`` names each part's voice: ``(kind, plugin, bank, synth part)`` with kind ``plugin``,
    ``sampled`` or ``synth``.
    """
    started = time.perf_counter()
    parts: list[_Part] = []
    for index, part in enumerate(score.parts):
        kind, plugin, bank, synth = plan[part.name]

        def make_source(part=part, kind=kind, plugin=plugin, bank=bank, synth=synth):
            return _source(part, kind, plugin=plugin, bank=bank, synth=synth, sample_rate=sample_rate, n=n,
                           seed=seed, width=width)

        def make_strip(part=part):
            voicing = voicings[part.name]() if voicings.get(part.name) else None
            return StripStream(part, sample_rate, n, bpm, voicing, width, rooms[part.name])

        parts.append(_Part(part, make_source, make_strip, _Raw(spool.file(f"part{index}.f32"))))
    ceiling = true_peak_db - 0.1
    with ThreadPoolExecutor(max_workers=workers) as pool:  # numpy, scipy and pedalboard release the GIL
        render = _DiskRender(parts, n, sample_rate, spool, pool, report, cancel)
        try:
            render.measure_drive()
            render.render_parts()
            total, gain = render.normalise(loudness_lufs)
            filtered, glue, makeup = render.bus_filter(total, gain, loudness_lufs, compression)
            makeup = render.search_makeup(filtered, glue, ceiling, loudness_lufs, makeup)
            stem_paths, mix_path = render.write(filtered, glue, ceiling, makeup, gain, on_audio)
        finally:
            render.clean_up()
    info = {
        **render.info,
        "parts": {p.part.name: {**p.sound, "notes": len(p.part.notes), **p.strip.info(),
                                "peak_db": 20.0 * math.log10(p.peak) if p.peak > 0 else None} for p in parts},
        "streamed": {"block_samples": BLOCK, "segment_samples": SEGMENT, "margin_samples": MARGIN,
                     "make_up_tries": render.info.pop("make_up_tries", 0), "seconds": time.perf_counter() - started},
    }
    log.info("rendered %.0f s to disk in %d blocks, %d make-up tries, %.1f s", n / sample_rate, len(render.blocks),
             info["streamed"]["make_up_tries"], info["streamed"]["seconds"])
    return stem_paths, mix_path, info


__all__ = ["BLOCK", "MARGIN", "SEGMENT", "render_to_disk"]
