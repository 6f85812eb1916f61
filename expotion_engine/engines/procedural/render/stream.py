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
samples); the spool holds about three times the take's size while it works.
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
from expotion_engine.engines.procedural.render.plugin import midi_messages
from expotion_engine.engines.procedural.render.sampled import SampledPart, SampledStream
from expotion_engine.engines.procedural.score import Part
from expotion_engine.errors import EngineError
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
        try:
            audio = self.plugin(chosen, duration=(b - a) / self.sample_rate, sample_rate=float(self.sample_rate),
                                num_channels=2, reset=a == 0)
        except Exception as exc:
            raise EngineError(f"Part {self.part.name!r}: plugin {self.part.plugin} failed while rendering "
                              f"({' '.join(str(exc).split()) or type(exc).__name__}).") from exc
        audio = np.atleast_2d(np.asarray(audio, dtype=np.float32))
        if audio.shape[0] == 1:
            audio = np.repeat(audio, 2, axis=0)
        out = np.zeros((2, b - a), dtype=np.float32)
        m = min(b - a, audio.shape[-1])
        out[:, :m] = audio[:2, :m]
        if not np.all(np.isfinite(out)):
            raise EngineError(f"Part {self.part.name!r}: plugin {self.part.plugin} produced non-finite samples "
                              "(NaN or infinity).")
        return out


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
    """One part being streamed: where its dry audio comes from, its strip and its raw stem file."""

    def __init__(self, part: Part, make_source: Callable[[], Callable], make_strip: Callable[[], StripStream],
                 raw: _Raw) -> None:
        self.part, self.make_source, self.raw = part, make_source, raw
        self.source, self.sound = make_source()
        self.strip = make_strip()
        if self.strip.drive:
            self.measure = make_strip()
        self.scale = 1.0
        self.air_state: np.ndarray | None = None


def render_to_disk(score: Any, sample_rate: int, n: int, plan: dict[str, tuple[str, Any, Any, Part | None]],
                   *, seed: int, bpm: float, voicings: dict[str, Any], rooms: dict[str, float], width: float,
                   loudness_lufs: float, true_peak_db: float, compression: float, spool: Spool,
                   report: ProgressFn, cancel: CancelEvent | None, on_audio: AudioFn | None,
                   workers: int = 2) -> tuple[dict[str, Path], Path, dict[str, Any]]:
    """Render ``score`` (``n`` samples) into ``spool``: the finished stems' and the mix's float WAV paths, and the
    measurements (as :func:`.render_score`'s info, the parts' entries without their sound names).

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
    blocks = [(a, min(n, a + BLOCK)) for a in range(0, n, BLOCK)]

    with ThreadPoolExecutor(max_workers=workers) as pool:  # numpy, scipy and pedalboard release the GIL
        def each(function: Callable[[_Part], Any]) -> list[Any]:
            return [f.result() for f in [pool.submit(function, p) for p in parts]]

        driven = [p for p in parts if p.strip.drive]
        if driven:  # drive changes colour, not level: its level change over the whole part comes first
            report(0.0, "measuring drive")
            for p in driven:
                measure_source, _ = p.make_source()
                for a, b in blocks:
                    check_cancel(cancel)
                    p.measure.measure_drive(measure_source(a, b, cancel))
                p.strip.use_drive_level(p.measure)
                del p.measure

        for done, (a, b) in enumerate(blocks):  # 1: every part's stem, block by block, into its raw file
            check_cancel(cancel)

            def render(p: _Part, a: int = a, b: int = b) -> None:
                p.raw.append(p.strip.process(p.source(a, b, cancel), a))

            each(render)
            report(0.75 * (done + 1) / len(blocks), f"rendered {b / sample_rate:.0f} s of {n / sample_rate:.0f} s")
        for p in parts:
            p.raw.finish()
            p.scale = p.strip.side_scale()
            p.source = None

        def stem_block(p: _Part, a: int, b: int) -> np.ndarray:
            return widen(p.raw.read(a, b), p.scale)

        report(0.76, "measuring the premix")
        meter = bus.LoudnessMeter(n, sample_rate)  # 2: the premix's loudness and every peak
        peaks = dict.fromkeys((p.part.name for p in parts), 0.0)
        total_peak = 0.0
        total = _Raw(spool.file("total.f32"))
        for a, b in blocks:
            check_cancel(cancel)
            summed = np.zeros((2, b - a), dtype=np.float32)
            for p, block in zip(parts, each(lambda p, a=a, b=b: stem_block(p, a, b)), strict=True):
                peaks[p.part.name] = max(peaks[p.part.name], float(np.abs(block).max(initial=0.0)))
                summed += block
            total_peak = max(total_peak, float(np.abs(summed).max(initial=0.0)))
            meter.add(summed)
            total.append(summed)
        total.finish()
        level = meter.result()
        gain_db = loudness_lufs - level if math.isfinite(level) else 0.0
        peak = max([total_peak, *peaks.values()])
        if peak > 0:  # stems and premix keep headroom (they never clip); the bus makes up the rest
            gain_db = min(gain_db, STEM_PEAK_DB - 20.0 * math.log10(peak))
        gain = np.float32(10.0 ** (gain_db / 20.0))
        premix_lufs = level + gain_db if math.isfinite(level) else None

        report(0.8, "mix bus")  # 3: the normalised premix through the bus's low-pass, the glue detector fed
        sos = bus._air_sos(sample_rate)
        air_state = np.zeros((sos.shape[0], 2, 2), dtype=np.float32)
        filtered = _Raw(spool.file("bus.f32"))
        glue = bus.GlueCurve(2)
        premix_energy = premix_peak = 0.0
        for a, b in blocks:
            check_cancel(cancel)
            premix = total.read(a, b)
            premix *= gain
            premix_energy += float(np.vdot(premix, premix))
            premix_peak = max(premix_peak, float(np.abs(premix).max(initial=0.0)))
            block, air_state = sosfilt(sos, premix, axis=-1, zi=air_state)
            block = block.astype(np.float32, copy=False)
            glue.add(block)
            filtered.append(block)
        filtered.finish()
        total.remove()
        start = loudness_lufs if premix_lufs is None else premix_lufs
        glue.finish(sample_rate, *bus.glue_settings(start, compression))
        compressed_energy = 0.0
        for a, b in blocks:
            block = filtered.read(a, b)
            block *= glue.gain(a, b)
            compressed_energy += float(np.vdot(block, block))
        makeup = bus.first_makeup(loudness_lufs, start, premix_energy, compressed_energy)
        ceiling = true_peak_db - 0.1
        segments = [(a, min(n, a + SEGMENT)) for a in range(0, n, SEGMENT)]

        def limited(gain_db: float) -> Any:
            """``(a, b, mix, limiter gain, true peak)`` of each segment, limited with margins either side."""
            for a, b in segments:
                check_cancel(cancel)
                lo, hi = max(0, a - MARGIN), min(n, b + MARGIN)
                window = filtered.read(lo, hi)
                window *= glue.gain(lo, hi)
                mix, limiter, peak = bus.limit(window, sample_rate, ceiling, gain_db)
                yield a, b, mix[:, a - lo:b - lo], limiter[a - lo:b - lo], peak

        tries = [0]

        def measure(gain_db: float) -> float:  # 4: the make-up search, one limited pass per try
            tries[0] += 1
            report(min(0.9, 0.82 + 0.01 * tries[0]), f"make-up try {tries[0]}")
            level_meter = bus.LoudnessMeter(n, sample_rate)
            for _, _, mix, _, _ in limited(gain_db):
                level_meter.add(mix)
            return level_meter.result()

        makeup, mix_level = bus.search_makeup(measure, loudness_lufs, makeup)

        report(0.92, "writing the mix and stems")  # 5: limited once more; the mix and the finished stems written
        makeup_gain = np.float32(10.0 ** (makeup / 20.0))
        mix_path = spool.file("mix.wav")
        stem_paths = {p.part.name: spool.file(f"stem{i}.wav") for i, p in enumerate(parts)}
        writers = {p.part.name: WavWriter(stem_paths[p.part.name], sample_rate, 2, n) for p in parts}
        mix_writer = WavWriter(mix_path, sample_rate, 2, n)
        for p in parts:
            p.air_state = np.zeros((sos.shape[0], 2, 2), dtype=np.float32)
        stem_peaks = dict.fromkeys(peaks, 0.0)
        mix_energy = residual_energy = 0.0
        true_peak = 0.0
        reduction_max = reduction_sum = 0.0
        reduced_count = 0
        try:
            for a, b, mix, limiter, peak in limited(makeup):
                true_peak = max(true_peak, peak)
                reduced = limiter[limiter < 1.0]
                if reduced.size:
                    db = -20.0 * np.log10(np.maximum(reduced, 1e-9))
                    reduction_max, reduction_sum = max(reduction_max, float(db.max())), reduction_sum + float(db.sum())
                    reduced_count += reduced.size
                curve = limiter * glue.gain(a, b)
                curve *= makeup_gain

                def finish(p: _Part, a: int = a, b: int = b, curve: np.ndarray = curve) -> np.ndarray:
                    stem = stem_block(p, a, b)
                    stem *= gain
                    stem, p.air_state = sosfilt(sos, stem, axis=-1, zi=p.air_state)
                    return np.multiply(stem, curve, dtype=np.float32)

                residual = mix.astype(np.float64)
                for p, stem in zip(parts, each(finish), strict=True):
                    writers[p.part.name].write(stem)
                    stem_peaks[p.part.name] = max(stem_peaks[p.part.name], float(np.abs(stem).max(initial=0.0)))
                    residual -= stem
                mix_energy += float(np.vdot(mix.astype(np.float64), mix.astype(np.float64)))
                residual_energy += float(np.vdot(residual, residual))
                mix_writer.write(mix)
                if on_audio is not None:
                    on_audio(a, np.ascontiguousarray(mix, dtype=np.float32))
                report(0.92 + 0.08 * b / n, f"wrote {b / sample_rate:.0f} s of {n / sample_rate:.0f} s")
            mix_writer.close()
            for writer in writers.values():
                writer.close()
        except BaseException:
            mix_writer.abort()
            for writer in writers.values():
                writer.abort()
            raise
        finally:
            filtered.remove()
            for p in parts:
                p.raw.remove()

    info = {
        "normalisation_gain_db": gain_db,
        "premix_lufs": premix_lufs,
        "premix_peak": premix_peak,
        "loudness_lufs": mix_level if math.isfinite(mix_level) else None,
        "true_peak_db": 20.0 * math.log10(true_peak) if true_peak > 0 else None,
        "bus_makeup_db": makeup,
        "glue_max_reduction_db": glue.max_reduction_db,
        "limiter_max_reduction_db": reduction_max,
        "limiter_mean_reduction_db": reduction_sum / n if n else 0.0,
        "limiter_active_fraction": reduced_count / n if n else 0.0,
        "stems_null_db": 10.0 * math.log10(max(residual_energy, 1e-30) / mix_energy) if mix_energy > 0 else None,
        "parts": {p.part.name: {**p.sound, "notes": len(p.part.notes), **p.strip.info(),
                                "peak_db": 20.0 * math.log10(stem_peaks[p.part.name])
                                if stem_peaks[p.part.name] > 0 else None} for p in parts},
        "streamed": {"block_samples": BLOCK, "segment_samples": SEGMENT, "margin_samples": MARGIN,
                     "make_up_tries": tries[0], "seconds": time.perf_counter() - started},
    }
    log.info("streamed render of %.0f s: %d blocks, %d make-up tries, %.1f s", n / sample_rate, len(blocks),
             tries[0], time.perf_counter() - started)
    return stem_paths, mix_path, info


__all__ = ["BLOCK", "MARGIN", "SEGMENT", "render_to_disk"]
