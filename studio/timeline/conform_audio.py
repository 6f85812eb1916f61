"""A recut's take spliced from the old take and a fresh one: kept and moved spans copied sample for sample.

The new take is built piece by piece on the new sequence's sample axis: a span the
conform plan keeps or moves is copied from the old take's mix and stems (the same
samples, shifted with the picture); a new span, or an old span the old take does not
cover, is taken from a fresh take generated for the new sequence with the same seed and
preset. Where two pieces of different origin meet, a short equal-power crossfade centred
on the join blends them; every other sample is a bit-for-bit copy of its source. Hits
follow the picture through the plan's frame map; those whose frames the recut dropped
are reported as lost.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np

from expotion_engine.errors import ExpotionError
from expotion_engine.types import Marker, Note, Stem, Take
from studio.timecode import TimecodeRate
from studio.timeline.conform import ConformPlan
from studio.timeline.model import Timeline

#: length of the equal-power crossfade at a join between pieces of different origin (seconds)
CROSSFADE_S = 0.020
#: take marker kinds that belong to the session (cues and user markers), not to the music
_SESSION_KINDS = ("user", "cue")


class ConformError(ExpotionError):
    """A take that cannot be conformed onto a recut."""


@dataclass(frozen=True)
class Piece:
    """Samples ``start..end`` of the new take: the old take's from ``old_start`` on, or (None) the fresh take's."""

    start: int
    end: int
    old_start: int | None
    action: str
    new_frames: tuple[int, int]
    old_frames: tuple[int, int] | None

    @property
    def source(self) -> str:
        """``old`` (copied from the old take) or ``fresh`` (the regenerated take)."""
        return "fresh" if self.old_start is None else "old"

    def offset(self) -> int:
        """Samples to add to a new-take position to read the source (0 for the fresh take)."""
        return 0 if self.old_start is None else self.old_start - self.start


@dataclass(frozen=True)
class LostHit:
    """A hit of the old take that the recut could not keep, and why."""

    time: float
    name: str
    cause: str | None
    reason: str


@dataclass(frozen=True)
class ConformResult:
    """The conformed take, the pieces it was built from, its joins (sample positions) and the hits it lost."""

    take: Take
    pieces: tuple[Piece, ...]
    joins: tuple[int, ...]
    lost: tuple[LostHit, ...]
    kept_hits: int
    crossfade: int


def sample_at(frames: int, rate: TimecodeRate, sample_rate: int) -> int:
    """The sample where frame ``frames`` starts (frames counted at the sequence's exact rate)."""
    return round(Fraction(frames) / rate.rate * sample_rate)


def take_length(timeline: Timeline, sample_rate: int) -> int:
    """Samples of the timeline's scored range, the length its take must have."""
    return sample_at(timeline.range_out - timeline.in_frame, timeline.rate, sample_rate)


def plan_pieces(plan: ConformPlan, old: Timeline, new: Timeline, sample_rate: int, old_samples: int) -> list[Piece]:
    """The plan's spans inside the new scored range as sample pieces; old spans the old take lacks become fresh."""
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


def _read(audio: np.ndarray, start: int, end: int) -> np.ndarray:
    """``audio[:, start:end]`` with silence where the range runs past either end."""
    out = np.zeros((audio.shape[0], end - start), dtype=np.float32)
    a, b = max(start, 0), min(end, audio.shape[1])
    if b > a:
        out[:, a - start:b - start] = audio[:, a:b]
    return out


def _continues(left: Piece, right: Piece) -> bool:
    """Whether ``right`` reads on from where ``left`` stops in the same source (no join to blend)."""
    return left.source == right.source and left.offset() == right.offset()


def _splice(old: np.ndarray, fresh: np.ndarray, pieces: list[Piece], fade: int) -> np.ndarray:
    """One signal built from ``pieces``, crossfaded over ``fade`` samples centred on each join."""
    out = np.zeros_like(fresh)

    def source(piece: Piece, start: int, end: int) -> np.ndarray:
        audio = fresh if piece.old_start is None else old
        return _read(audio, start + piece.offset(), end + piece.offset())

    for piece in pieces:
        out[:, piece.start:piece.end] = source(piece, piece.start, piece.end)
    for left, right in zip(pieces, pieces[1:], strict=False):
        if _continues(left, right):
            continue
        join = right.start
        a, b = max(join - fade // 2, left.start), min(join + fade - fade // 2, right.end)
        if b <= a:
            continue
        theta = (np.arange(a, b, dtype=np.float64) - (join - fade / 2) + 0.5) / fade * (math.pi / 2)
        theta = np.clip(theta, 0.0, math.pi / 2)
        out[:, a:b] = (source(left, a, b) * np.cos(theta) + source(right, a, b) * np.sin(theta)).astype(np.float32)
    return out


def _piece_at(pieces: list[Piece], sample: int) -> Piece | None:
    """The piece holding new-take sample ``sample``, if any."""
    for piece in pieces:
        if piece.start <= sample < piece.end:
            return piece
    return None


def _moved_time(time: float, pieces: list[Piece], sample_rate: int, want: str) -> float | None:
    """Where a time of the ``want`` source lands in the new take (None when no piece of that source shows it)."""
    sample = time * sample_rate
    for piece in pieces:
        if piece.source != want:
            continue
        new = sample - piece.offset()
        if piece.start <= new < piece.end:
            return new / sample_rate
    return None


def _is_edit(time: float, new_tl: Timeline) -> bool:
    """Whether ``time`` (seconds from the new in point) is one of the new cut's edit points."""
    frame = Fraction(time) * new_tl.rate.rate + new_tl.in_frame
    return any(abs(frame - edit) < Fraction(1, 2) for edit in new_tl.edit_frames)


def _markers(old: Take, fresh: Take, pieces: list[Piece], plan: ConformPlan, old_tl: Timeline, new_tl: Timeline
             ) -> tuple[list[Marker], list[LostHit], int]:
    """The old take's musical markers moved with the picture, the fresh take's in fresh pieces and its edits.

    An old edit hit is kept only where it lands on an edit point of the new cut; the new
    cut's edit hits the old take lacks come from the fresh take (cues come from the new
    timeline, not from either take).
    """
    rate = old.sample_rate
    markers: list[Marker] = []
    lost: list[LostHit] = []
    kept = 0
    for marker in old.markers:
        if marker.kind in _SESSION_KINDS:
            continue
        moved = _moved_time(marker.time, pieces, rate, "old")
        if moved is not None and (marker.cause != "edit" or _is_edit(moved, new_tl)):
            markers.append(replace(marker, time=moved))
            kept += marker.kind == "hit"
        elif marker.kind == "hit":
            frame = old_tl.in_frame + math.floor(Fraction(marker.time) * old_tl.rate.rate)
            reason = ("its frames were cut from the sequence" if plan.to_new(frame) is None
                      else "its edit point is no longer in the cut" if moved is not None
                      else "its music was regenerated")
            lost.append(LostHit(marker.time, marker.name, marker.cause, reason))
    for marker in fresh.markers:
        if marker.kind in _SESSION_KINDS:
            continue
        piece = _piece_at(pieces, round(marker.time * rate))
        present = any(abs(m.time - marker.time) < 1e-3 and m.cause == marker.cause for m in markers)
        if not present and (marker.cause == "edit" or (piece is not None and piece.source == "fresh")):
            markers.append(marker)
    return sorted(markers, key=lambda m: m.time), lost, kept


def _notes(old: Stem, fresh: Stem, pieces: list[Piece], sample_rate: int) -> tuple[Note, ...]:
    """Notes that start inside a piece of their source, moved with it and cut at the piece's end."""
    notes = []
    for stem, want in ((old, "old"), (fresh, "fresh")):
        for note in stem.notes:
            sample = note.start * sample_rate
            for piece in pieces:
                if piece.source == want and piece.start <= sample - piece.offset() < piece.end:
                    shift = -piece.offset() / sample_rate
                    end = min(note.end + shift, piece.end / sample_rate)
                    if end > note.start + shift:
                        notes.append(replace(note, start=note.start + shift, end=end))
                    break
    return tuple(sorted(notes, key=lambda n: (n.start, n.pitch)))


def move_markers(markers: list[Marker], plan: ConformPlan, old_tl: Timeline, new_tl: Timeline
                 ) -> tuple[list[Marker], list[Marker]]:
    """Markers (seconds from the old in point) moved with their frames onto the recut, and those whose frames it cut."""
    moved, lost = [], []
    for marker in markers:
        frame = old_tl.in_frame + math.floor(Fraction(marker.time) * old_tl.rate.rate)
        target = plan.to_new(frame)
        if target is None or not new_tl.in_frame <= target < new_tl.range_out:
            lost.append(marker)
        else:
            shift = new_tl.seconds(target - new_tl.in_frame) - old_tl.seconds(frame - old_tl.in_frame)
            moved.append(replace(marker, time=marker.time + shift))
    return moved, lost


def check_scored_from(take: Take, timeline: Timeline) -> None:
    """Refuse a take whose length is not the timeline's scored range (the wrong ``--old`` timeline)."""
    expected = take_length(timeline, take.sample_rate)
    if take.n_samples != expected:
        raise ConformError(f"The session's take has {take.n_samples} samples but {timeline.path.name} needs "
                           f"{expected}; is it the timeline this session was scored from?")


def conform_take(old: Take, fresh: Take, plan: ConformPlan, old_tl: Timeline, new_tl: Timeline) -> ConformResult:
    """The new sequence's take: ``old`` where the plan keeps or moves its picture, ``fresh`` elsewhere."""
    rate = old.sample_rate
    if fresh.sample_rate != rate:
        raise ConformError(f"The old take runs at {rate} Hz and the regenerated one at {fresh.sample_rate} Hz.")
    check_scored_from(old, old_tl)
    if fresh.n_samples != take_length(new_tl, rate):
        raise ConformError(f"The regenerated take has {fresh.n_samples} samples, {new_tl.path.name} needs "
                           f"{take_length(new_tl, rate)}.")
    names = [s.name for s in old.stems]
    if names != [s.name for s in fresh.stems] or old.mix.shape[0] != fresh.mix.shape[0]:
        given = ", ".join(s.name for s in fresh.stems)
        raise ConformError(f"The regenerated take has other stems or channels ({given}) than the session's "
                           f"({', '.join(names)}); conform needs the same engine and preset.")
    pieces = plan_pieces(plan, old_tl, new_tl, rate, old.n_samples)
    fade = max(2, round(CROSSFADE_S * rate))
    mix = _splice(old.mix, fresh.mix, pieces, fade)
    stems = tuple(replace(f, audio=_splice(o.audio, f.audio, pieces, fade), notes=_notes(o, f, pieces, rate))
                  for o, f in zip(old.stems, fresh.stems, strict=True))
    markers, lost, kept = _markers(old, fresh, pieces, plan, old_tl, new_tl)
    joins = tuple(right.start for left, right in zip(pieces, pieces[1:], strict=False) if not _continues(left, right))
    # the fresh take's hit report describes music that is only partly kept; the conform says where each part is from
    info = {**{k: v for k, v in fresh.info.items() if k != "hit_fit"},
            "conform": {"from_seed": old.seed, "joins": list(joins), "crossfade_samples": fade}}
    take = replace(fresh, mix=mix, stems=stems, markers=tuple(markers), info=info)
    return ConformResult(take, tuple(pieces), joins, tuple(lost), kept, fade)


__all__ = ["CROSSFADE_S", "ConformError", "ConformResult", "LostHit", "Piece", "check_scored_from", "conform_take",
           "move_markers", "plan_pieces", "sample_at", "take_length"]
