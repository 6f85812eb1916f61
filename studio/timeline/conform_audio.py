"""A recut's take: the old take's whole bars where the picture is kept or moved, bridges between them.

The conform plan says which new frames show old frames; :mod:`.conform_bars` turns that
into kept bars (copied sample for sample from the old mix and stems, shifted with the
picture) and bridges at bar lines between them. For an engine with exact notes
(procedural) a bridge is re-planned: the recut is composed with the same seed on the
bar plan's tempo map and the old notes in the kept bars
(:mod:`expotion_engine.engines.procedural.replan`), rendered, and its bridges used. For
an audio-only engine (MusicGen) a bridge is the old take's neighbouring bars
time-stretched onto it (:mod:`.conform_stretch`). Where two segments meet, a short
equal-power crossfade centred on the bar line blends them; every other sample of a kept
bar is a bit-for-bit copy. Hits in kept bars move with their picture; the others are
re-planned (a hit of the recut at the same place) or reported lost, with the reason.
The audio is read in slices and made block by block (a bridge's when the recut reaches it),
so a long take on disk is conformed into WAVs without being loaded whole.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

import numpy as np

from expotion_engine.audio_io import BLOCK, ON_DISK_ABOVE_S, Spool, WavAudio, WavWriter, energy, peak
from expotion_engine.engines.procedural.replan import Kept, hit_anchors, render_replan, replan, splice_notes
from expotion_engine.errors import ExpotionError
from expotion_engine.progress import CancelEvent, ProgressFn, check_cancel
from expotion_engine.types import GenerationRequest, Marker, Note, Stem, Take
from studio.timecode import TimecodeRate
from studio.timeline.conform import ConformPlan
from studio.timeline.conform_bars import BarPlan, Bridge, Keep, plan_bars
from studio.timeline.conform_stretch import bridge_audio, read_span
from studio.timeline.model import Timeline

#: length of the equal-power crossfade at a join between segments of different origin (seconds)
CROSSFADE_S = 0.020
#: take marker kinds that belong to the session (cues and user markers), not to the music
_SESSION_KINDS = ("user", "cue")
#: a recut's hit this close (s) to where an old hit moved to marks the same moment
SAME_HIT_S = 0.045
#: a crossfade may peak up to this (-1 dBFS) or its louder side, no higher
FADE_CEILING = 10 ** (-1 / 20)
#: a thousandth of a frame: a float time on a frame's start (8.008 s at 29.97) falls a hair short of it
FRAME_SLACK = Fraction(1, 1000)


class ConformError(ExpotionError):
    """A take that cannot be conformed onto a recut."""


@dataclass(frozen=True)
class Piece:
    """Samples ``start..end`` of the new take showing old samples from ``old_start`` on (None: nothing old)."""

    start: int
    end: int
    old_start: int | None
    action: str
    new_frames: tuple[int, int]
    old_frames: tuple[int, int] | None


@dataclass(frozen=True)
class HitFate:
    """What became of one hit of the old take: ``kept`` (moved to ``time``), ``replanned`` or ``lost``, and why."""

    old_time: float
    name: str
    cause: str | None
    fate: str
    time: float | None
    reason: str


@dataclass(frozen=True)
class ConformResult:
    """The conformed take, the picture's pieces, the bar plan, its joins (samples) and each old hit's fate."""

    take: Take
    pieces: tuple[Piece, ...]
    bars: BarPlan
    joins: tuple[int, ...]
    hits: tuple[HitFate, ...]
    crossfade: int
    method: str  # "replan" (exact notes) or "stretch" (audio only)
    unaccented: tuple[float, ...] = ()  # the recut's hits (s) that its music does not mark

    @property
    def lost(self) -> tuple[HitFate, ...]:
        return tuple(h for h in self.hits if h.fate == "lost")

    @property
    def kept_hits(self) -> int:
        return sum(h.fate == "kept" for h in self.hits)


def sample_at(frames: int, rate: TimecodeRate, sample_rate: int) -> int:
    """The sample where frame ``frames`` starts (frames counted at the sequence's exact rate)."""
    return round(Fraction(frames) / rate.rate * sample_rate)


def _frame_of(seconds: float, rate: TimecodeRate) -> int:
    """The frame showing at ``seconds``: a time on a frame's start (8.008 s at 29.97, a hair short of frame 240 as a
    float) is that frame, not the one before it."""
    return math.floor(Fraction(seconds) * rate.rate + FRAME_SLACK)


def take_length(timeline: Timeline, sample_rate: int) -> int:
    """Samples of the timeline's scored range, the length its take must have."""
    return sample_at(timeline.range_out - timeline.in_frame, timeline.rate, sample_rate)


def plan_pieces(plan: ConformPlan, old: Timeline, new: Timeline, sample_rate: int, old_samples: int) -> list[Piece]:
    """The plan's spans inside the new scored range as sample pieces (old spans the old take lacks count as new)."""
    pieces = []
    total = take_length(new, sample_rate)
    for span in plan.spans:
        first, last = max(span.new_in, new.in_frame), min(span.new_out, new.range_out)
        if last <= first:
            continue
        start = sample_at(first - new.in_frame, new.rate, sample_rate)
        end = min(sample_at(last - new.in_frame, new.rate, sample_rate), total)
        old_start = None
        old_frames = None
        if span.old_in is not None:
            old_first = first - span.shift
            old_frames = (old_first, old_first + last - first)
            candidate = sample_at(old_first - old.in_frame, old.rate, sample_rate)
            if old_first >= old.in_frame and candidate + end - start <= old_samples:
                old_start = candidate
        pieces.append(Piece(start, end, old_start, span.action, (first, last), old_frames))
    return pieces


#: reads samples ``a..b`` (new take positions) of track ``i`` (0 the mix, then the stems) of one segment's source
Reader = Callable[[int, int, int], np.ndarray]
#: a segment of the recut: its samples ``start..end`` and where they are read from
Segment = tuple[int, int, Reader]


def _splice_block(a: int, b: int, channels: list[int], segments: list[Segment], fade: int,
                  continues: list[bool]) -> list[np.ndarray]:
    """Samples ``a..b`` of every track built from ``segments``, crossfaded over ``fade`` samples centred on each
    join; each sample is computed as it would be for the whole take at once, so blocks join seamlessly."""
    out = [np.zeros((c, b - a), np.float32) for c in channels]
    for start, end, read in segments:
        s, e = max(start, a), min(end, b)
        if e > s:
            for i, track in enumerate(out):
                track[:, s - a:e - a] = read(i, s, e)
    for (l_start, _, left), (join, r_end, right), same in zip(segments, segments[1:], continues, strict=False):
        whole = max(join - fade // 2, l_start), min(join + fade - fade // 2, r_end)
        s, e = max(whole[0], a), min(whole[1], b)
        if same or e <= s:
            continue
        theta = _fade_angle(s, e, join, fade)
        gain = _crossfade_gain(left, right, *whole, join, fade, len(out))[s - whole[0]:e - whole[0]]
        for i, track in enumerate(out):
            track[:, s - a:e - a] = ((left(i, s, e) * np.cos(theta) + right(i, s, e) * np.sin(theta))
                                     * gain).astype(np.float32)
    return out


def _fade_angle(s: int, e: int, join: int, fade: int) -> np.ndarray:
    """The equal-power crossfade's angle (0 = the left side, pi/2 = the right) at samples ``s..e`` of a ``fade``
    samples long crossfade centred on ``join``."""
    return np.clip((np.arange(s, e, dtype=np.float64) - (join - fade / 2) + 0.5) / fade, 0.0, 1.0) * math.pi / 2


def _crossfade_gain(left: Reader, right: Reader, s: int, e: int, join: int, fade: int, tracks: int) -> np.ndarray:
    """The gain over the crossfade ``s..e`` that keeps every blended track (the mix and each stem) under -1 dBFS or
    its louder side: two accents on one bar line (the old bar's next downbeat and the re-planned one's) add up past
    full scale in an equal-power fade. It bends the fade towards an equal-gain one (gains summing to 1, never louder
    than a side) only as far as needed; one curve for all tracks, so the stems still sum to the mix."""
    theta = _fade_angle(s, e, join, fade)
    towards_equal_gain = 1.0 - 1.0 / (np.cos(theta) + np.sin(theta))
    depth = 0.0
    for i in range(tracks):
        one, two = left(i, s, e).astype(np.float64), right(i, s, e).astype(np.float64)
        blend = np.abs(one * np.cos(theta) + two * np.sin(theta)).max(axis=0)
        ceiling = max(float(np.abs(one).max(initial=0.0)), float(np.abs(two).max(initial=0.0)), FADE_CEILING)
        over = blend > ceiling
        if over.any():
            depth = max(depth, float(((1.0 - ceiling / blend[over]) / towards_equal_gain[over]).max()))
    return 1.0 - min(depth, 1.0) * towards_equal_gain


def _splice(n: int, channels: list[int], segments: list[Segment], fade: int, continues: list[bool],
            size: int = BLOCK) -> Iterator[tuple[int, list[np.ndarray]]]:
    """``(start, [mix block, *stem blocks])`` of the recut in order, ``size`` samples at a time; a bridge's audio
    is made when the first block reaches it and dropped once the blocks are past it."""
    for a in range(0, n, size):
        b = min(a + size, n)
        yield a, _splice_block(a, b, channels, segments, fade, continues)
        for _, end, read in segments:
            if isinstance(read, _Bridge) and end + fade <= b:
                read.release()


def _old_reader(tracks: list[Any], offset: int) -> Reader:
    return lambda i, a, b: read_span(tracks[i], a + offset, b + offset)


def _gain_reader(tracks: list[Any], gain: float) -> Reader:
    return lambda i, a, b: read_span(tracks[i], a, b) * gain


class _Bridge:
    """A stretched bridge's ``[mix, *stems]`` (:func:`.bridge_audio`), made on first read, kept until released."""

    def __init__(self, old: Take, bars: BarPlan, index: int, pad: int, fade: int) -> None:
        self._args = (old, bars, index, pad, fade)
        self._origin = bars.segments[index].start - pad
        self._audio: list[np.ndarray] | None = None

    def __call__(self, i: int, a: int, b: int) -> np.ndarray:
        if self._audio is None:
            self._audio = bridge_audio(*self._args)
        return read_span(self._audio[i], a - self._origin, b - self._origin)

    def release(self) -> None:
        self._audio = None


def _keep_at(bars: BarPlan, sample: float) -> Keep | None:
    """The kept span holding new-take position ``sample`` (rounded to a sample: a hit on a kept span's first bar
    line, at a time like 8.008 s whose float times the rate falls a hair short, belongs to that span)."""
    at = round(sample)
    return next((k for k in bars.keeps if k.start <= at < k.end), None)


def _old_keep(bars: BarPlan, old_sample: float) -> Keep | None:
    """The kept span that copies old-take position ``old_sample`` (rounded to a sample, as :func:`_keep_at`)."""
    at = round(old_sample)
    return next((k for k in bars.keeps if k.start <= at - k.offset < k.end), None)


def _is_edit(time: float, new_tl: Timeline) -> bool:
    """Whether ``time`` (seconds from the new in point) is one of the new cut's edit points."""
    frame = Fraction(time) * new_tl.rate.rate + new_tl.in_frame
    return any(abs(frame - edit) < Fraction(1, 2) for edit in new_tl.edit_frames)


def _markers(old: Take, fresh: Take | None, bars: BarPlan, plan: ConformPlan, old_tl: Timeline, new_tl: Timeline
             ) -> tuple[list[Marker], list[HitFate]]:
    """Old musical markers in kept bars moved with them, the re-planned bridges' own; each old hit's fate."""
    rate = old.sample_rate
    markers: list[Marker] = []
    if fresh is not None:
        markers += [m for m in fresh.markers if m.kind not in _SESSION_KINDS and _keep_at(bars, m.time * rate) is None]
    fates: list[HitFate] = []
    for marker in old.markers:
        if marker.kind in _SESSION_KINDS:
            continue
        keep = _old_keep(bars, marker.time * rate)
        moved = None if keep is None else marker.time - keep.offset / rate
        if moved is not None and (marker.cause != "edit" or _is_edit(moved, new_tl)):
            markers.append(replace(marker, time=moved))
            if marker.kind == "hit":
                fates.append(HitFate(marker.time, marker.name, marker.cause, "kept", moved,
                                     f"moved {moved - marker.time:+.3f} s with its picture"))
            continue
        if marker.kind != "hit":
            continue
        frame = old_tl.in_frame + _frame_of(marker.time, old_tl.rate)
        target = plan.to_new(frame)
        if target is None:
            fates.append(HitFate(marker.time, marker.name, marker.cause, "lost", None,
                                 "its frames were cut from the sequence"))
            continue
        if moved is not None:
            fates.append(HitFate(marker.time, marker.name, marker.cause, "lost", None,
                                 "its edit point is no longer in the cut"))
            continue
        where = new_tl.seconds(target - new_tl.in_frame) + (marker.time - old_tl.seconds(frame - old_tl.in_frame))
        again = [m for m in (fresh.markers if fresh is not None else ())
                 if m.kind == "hit" and abs(m.time - where) <= SAME_HIT_S and _keep_at(bars, m.time * rate) is None]
        if again:
            fates.append(HitFate(marker.time, marker.name, marker.cause, "replanned", again[0].time,
                                 "its bars were re-planned with an accent on the recut's hit"))
        else:
            fates.append(HitFate(marker.time, marker.name, marker.cause, "lost", None,
                                 "its bars were re-planned and the recut has no hit there" if fresh is not None
                                 else "its bars were bridged by stretched music (an audio-only take cannot "
                                      "re-plan them)"))
    return sorted(markers, key=lambda m: m.time), fates


def move_markers(markers: list[Marker], plan: ConformPlan, old_tl: Timeline, new_tl: Timeline
                 ) -> tuple[list[Marker], list[Marker]]:
    """Markers (seconds from the old in point) moved with their frames onto the recut, and those whose frames it cut."""
    moved, lost = [], []
    for marker in markers:
        frame = old_tl.in_frame + _frame_of(marker.time, old_tl.rate)
        target = plan.to_new(frame)
        if target is None or not new_tl.in_frame <= target < new_tl.range_out:
            lost.append(marker)
        else:
            shift = new_tl.seconds(target - new_tl.in_frame) - old_tl.seconds(frame - old_tl.in_frame)
            moved.append(replace(marker, time=marker.time + shift))
    return moved, lost


def _ending(old: Take) -> float | None:
    """Where the old score's ending begins: the bar before its final cadence (None when the take does not say)."""
    cadence = old.info.get("cadence_time")
    if cadence is None:
        return None
    tempo_map = old.tempo_map
    return tempo_map.time_at(tempo_map.beat_at(float(cadence)) - tempo_map.meter_at(float(cadence)).numerator)


def _kept(bars: BarPlan, rate: int) -> list[Kept]:
    """The kept bars as the re-planner takes them (music time of the recut and of the old take, seconds)."""
    return [Kept(k.start / rate, k.end / rate, (k.start + k.offset) / rate) for k in bars.keeps]


def _replanned(old: Take, request: GenerationRequest, bars: BarPlan, progress: ProgressFn | None,
               cancel: CancelEvent | None, spool: Spool | None) -> Take:
    """The recut composed on the bar plan's map with the old notes in the kept bars, rendered at the old loudness
    (a long one into a folder of its own in ``spool``, where given: both write a ``mix.wav``)."""
    score = replan(request, {s.name: s.notes for s in old.stems}, _kept(bars, old.sample_rate), bars.tempo_map)
    fresh = render_replan(request, score, float(old.info.get("loudness_target_lufs", -14.0)), progress, cancel,
                          spool=None if spool is None else Spool(spool, prefix="replan-"))
    names = [s.name for s in old.stems]
    if names != [s.name for s in fresh.stems] or old.mix.shape[0] != fresh.mix.shape[0]:
        raise ConformError(f"The re-planned take has other stems or channels "
                           f"({', '.join(s.name for s in fresh.stems)}) than the session's ({', '.join(names)}); "
                           "conform needs the same preset.")
    return fresh


def _level_match(old: Take, fresh: Take, bars: BarPlan, fade: int) -> float:
    """The gain that brings the re-planned rendering to the old take's level, measured where both play the same
    kept bars (one loudness normalisation over a different score lands a little apart), kept under the old peak."""
    spans = [(k.start + fade, k.end - fade, k.offset) for k in bars.keeps if k.end - k.start > 2 * fade]
    new_energy = sum(energy(fresh.mix, a, b) for a, b, _ in spans)
    old_energy = sum(energy(old.mix, a + o, b + o) for a, b, o in spans)
    if new_energy <= 0.0 or old_energy <= 0.0:
        return 1.0
    return min(math.sqrt(old_energy / new_energy), peak(old.mix) / (peak(fresh.mix) or 1.0), 2.0)


def _music_plan(old: Take, request: GenerationRequest | None, copies: list[tuple[int, int, int, str]],
                new_tl: Timeline, fade: int, progress: ProgressFn | None, cancel: CancelEvent | None,
                spool: Spool | None) -> tuple[BarPlan, list[tuple[float, float]], Take | None, float]:
    """The bar plan, the recut's hits ``(s, strength)`` it accounts for, and (re-planning with ``request``) the
    re-planned rendering with the gain that matches its level; an audio-only plan's hits are the recut's edits."""
    rate, total = old.sample_rate, take_length(new_tl, old.sample_rate)
    if request is None:
        anchors = [(new_tl.seconds(f - new_tl.in_frame), 1.0) for f in new_tl.edit_frames
                   if new_tl.in_frame < f < new_tl.range_out]
        return plan_bars(copies, old.tempo_map, old.n_samples, total, rate), anchors, None, 1.0
    if request.sample_rate != rate or request.n_samples != total:
        raise ConformError(f"The recut's request is {request.n_samples} samples at {request.sample_rate} Hz; "
                           f"{new_tl.path.name} needs {total} at the old take's {rate} Hz.")
    anchors = hit_anchors(request)
    bars = plan_bars(copies, old.tempo_map, old.n_samples, total, rate, anchors, _ending(old))
    if not bars.bridges:  # nothing to re-plan when every bar is kept
        return bars, anchors, None, 1.0
    fresh = _replanned(old, request, bars, progress, cancel, spool)
    return bars, anchors, fresh, _level_match(old, fresh, bars, fade)


def _sources(old: Take, fresh: Take | None, gain: float, bars: BarPlan, fade: int) -> list[Segment]:
    """Each segment's samples and where they are read from (slices only, so audio on disk is read where used):
    the old take shifted, the re-planned rendering (at ``gain``) or the bridge's stretched old bars."""
    old_tracks = [old.mix, *(s.audio for s in old.stems)]
    if fresh is not None:
        replanned = _gain_reader([fresh.mix, *(s.audio for s in fresh.stems)], gain)
    segments: list[Segment] = []
    for index, seg in enumerate(bars.segments):
        if isinstance(seg, Keep):
            segments.append((seg.start, seg.end, _old_reader(old_tracks, seg.offset)))
        elif fresh is not None:
            segments.append((seg.start, seg.end, replanned))
        else:
            segments.append((seg.start, seg.end, _Bridge(old, bars, index, 2 * fade, fade)))
    return segments


def _write(blocks: Iterator[tuple[int, list[np.ndarray]]], n: int, channels: list[int], names: list[str],
           rate: int, spool: Spool | None, cancel: CancelEvent | None) -> list[np.ndarray | WavAudio]:
    """The spliced tracks: in memory (``spool`` None), else float WAVs ``names`` in ``spool`` written block by
    block (a cancel or error leaves none of them)."""
    if spool is None:
        out = [np.zeros((c, n), np.float32) for c in channels]
        for start, parts in blocks:
            for track, part in zip(out, parts, strict=True):
                track[:, start:start + part.shape[1]] = part
        return out
    writers: list[WavWriter] = []
    try:
        for name, c in zip(names, channels, strict=True):
            writers.append(WavWriter(spool.file(f"{name}.wav"), rate, c, n))
        for _, parts in blocks:
            check_cancel(cancel)
            for writer, part in zip(writers, parts, strict=True):
                writer.write(part)
    except BaseException:
        for writer in writers:
            writer.abort()
        raise
    return [spool.audio(writer.close()) for writer in writers]


def check_scored_from(take: Take, timeline: Timeline) -> None:
    """Refuse a take whose length is not the timeline's scored range (the wrong ``--old`` timeline)."""
    expected = take_length(timeline, take.sample_rate)
    if take.n_samples != expected:
        raise ConformError(f"The session's take has {take.n_samples} samples but {timeline.path.name} needs "
                           f"{expected}; is it the timeline this session was scored from?")


def has_exact_notes(take: Take) -> bool:
    """Whether the take's engine knows its notes (procedural), so its bridges can be re-planned."""
    return take.engine == "procedural" and any(s.notes for s in take.stems)


def conform_take(old: Take, plan: ConformPlan, old_tl: Timeline, new_tl: Timeline,
                 request: GenerationRequest | None = None, progress: ProgressFn | None = None,
                 cancel: CancelEvent | None = None, *, to_disk: bool | None = None,
                 spool: Spool | None = None) -> ConformResult:
    """The recut's take from ``old``: kept bars copied, bridges re-planned (with ``request``) or time-stretched.

    ``request`` is the recut's generation request (its controls, the old take's seed and
    preset); with it a take with exact notes is re-planned, without it (or for an
    audio-only take) bridges are stretched from the old take's own bars. The audio is
    read from ``old`` in slices and made block by block; a recut longer than
    :data:`~expotion_engine.audio_io.ON_DISK_ABOVE_S` (or any with ``to_disk``) is written
    as float WAVs in ``spool`` (default: a temporary folder that lasts as long as the take
    refers to it), the same samples as in memory; a given ``spool`` also holds a long
    re-planned rendering while it is read.
    """
    rate = old.sample_rate
    check_scored_from(old, old_tl)
    total = take_length(new_tl, rate)
    pieces = plan_pieces(plan, old_tl, new_tl, rate, old.n_samples)
    copies = [(p.start, p.end, p.old_start, p.action) for p in pieces if p.old_start is not None]
    replanning = request is not None and has_exact_notes(old)
    fade = max(2, round(CROSSFADE_S * rate))
    bars, anchors, fresh, gain = _music_plan(old, request if replanning else None, copies, new_tl, fade, progress,
                                             cancel, spool)
    continues = [isinstance(a, Keep) and isinstance(b, Keep) and a.offset == b.offset
                 for a, b in zip(bars.segments, bars.segments[1:], strict=False)]
    channels = [old.mix.shape[0], *(s.audio.shape[0] for s in old.stems)]
    if to_disk if to_disk is not None else total > ON_DISK_ABOVE_S * rate:
        spool = spool or Spool(prefix="expotion-conform-")
    else:
        spool = None
    blocks = _splice(total, channels, _sources(old, fresh, gain, bars, fade), fade, continues)
    audio = _write(blocks, total, channels, ["mix", *(f"stem-{i}" for i in range(len(old.stems)))], rate, spool,
                   cancel)
    joins = tuple(b.start for b, same in zip(bars.segments[1:], continues, strict=True) if not same)
    markers, fates = _markers(old, fresh, bars, plan, old_tl, new_tl)
    marked = [m.time for m in markers if m.kind == "hit"]
    unaccented = tuple(sorted(t for t, _ in anchors if (fresh is None or _keep_at(bars, t * rate) is not None)
                              and all(abs(t - m) > SAME_HIT_S for m in marked)))
    source = fresh if fresh is not None else old
    duration = total / rate

    def notes(stem: Stem) -> tuple[Note, ...]:
        if fresh is not None:
            return stem.notes
        return tuple(splice_notes(stem.notes, (), _kept(bars, rate), duration)) if replanning else ()

    stems = tuple(replace(s, audio=a, notes=notes(s)) for s, a in zip(source.stems, audio[1:], strict=True))
    method = "replan" if replanning else "stretch"
    conform_info = {"from_seed": old.seed, "method": method,
                    "replan_gain_db": round(20 * math.log10(gain), 2) if fresh is not None else None,
                    "joins": list(joins), "crossfade_samples": fade,
                    "bridges": [[b.start, b.end] for b in bars.bridges],
                    "largest_bend": round(bars.largest_bend, 4)}
    # the fresh take's hit report describes a score that is only partly kept; the conform says where each part is from
    info = {**{k: v for k, v in source.info.items() if k != "hit_fit"}, "conform": conform_info}
    take = replace(source, mix=audio[0], stems=stems, markers=tuple(markers), tempo_map=bars.tempo_map, info=info)
    return ConformResult(take, tuple(pieces), bars, joins, tuple(fates), fade, method, unaccented)


__all__ = ["CROSSFADE_S", "Bridge", "ConformError", "ConformResult", "HitFate", "Keep", "Piece",
           "check_scored_from", "conform_take", "has_exact_notes", "move_markers", "plan_pieces", "sample_at",
           "take_length"]
