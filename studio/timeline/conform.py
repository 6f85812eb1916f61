"""Where every frame of a recut came from: a new timeline mapped onto the old one by clip source ranges.

A span of the new sequence that shows the same source frames of the same media as a
span of the old one is *kept* (same record place, so its music can stay sample for
sample) or *moved* (elsewhere in the sequence, so its music moves with it); a span with
no source in the old sequence (new material, a longer head or tail, a gap) is *new* and
must be re-planned. Old spans the recut no longer shows are *removed*. An old gap shows
nothing to match, so it is known by its neighbours: a gap of the recut after the shot that
was before it (or before the shot that was after it) is that gap, as long as it is (its music
is re-planned like any gap's); the rest of an old gap, or all of it, is removed and reported
as a removed gap. This is the list of spans the engine keeps, moves or re-plans; making the music
follow it is the conform.
"""

from __future__ import annotations

from dataclasses import dataclass

from studio.timeline.model import Timeline, TimelineClip, TimelineError

#: what happens to a span of the new sequence
ACTIONS = ("keep", "move", "new")


@dataclass(frozen=True)
class Span:
    """Record frames ``new_in..new_out`` of the new sequence and, unless new, where they were in the old one."""

    new_in: int
    new_out: int
    old_in: int | None
    action: str

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"Span action {self.action!r} is not one of {', '.join(ACTIONS)}.")

    @property
    def length(self) -> int:
        return self.new_out - self.new_in

    @property
    def old_out(self) -> int | None:
        return None if self.old_in is None else self.old_in + self.length

    @property
    def shift(self) -> int:
        """Frames the span moved by (new minus old record frame; 0 when kept or new)."""
        return 0 if self.old_in is None else self.new_in - self.old_in


@dataclass(frozen=True)
class ConformPlan:
    """Every frame of the new sequence accounted for, in record order, plus the old frames it dropped: ``removed``
    (old record ranges of media) and ``removed_gaps`` (old gaps the recut closed up). ``gaps`` places the old
    gap frames the recut still has a gap for: ``(old_in, old_out, new_in)``."""

    spans: tuple[Span, ...]
    removed: tuple[tuple[int, int], ...]
    removed_gaps: tuple[tuple[int, int], ...] = ()
    gaps: tuple[tuple[int, int, int], ...] = ()

    def to_new(self, old_frame: int) -> int | None:
        """The new record frame at the place of old record frame ``old_frame`` (None when the recut cut it)."""
        for span in self.spans:
            if span.old_in is not None and span.old_in <= old_frame < span.old_out:
                return old_frame + span.shift
        for old_in, old_out, new_in in self.gaps:
            if old_in <= old_frame < old_out:
                return old_frame - old_in + new_in
        return None

    def report(self, rate_fps: float) -> list[str]:
        """One line per span and per removed range, in seconds and frames, for people."""
        lines = [f"{s.action:4} new {s.new_in}-{s.new_out} ({s.length / rate_fps:.2f} s)"
                 + ("" if s.old_in is None else f" from old {s.old_in}-{s.old_out}") for s in self.spans]
        cut = sorted([(a, b, "") for a, b in self.removed] + [(a, b, " (a gap)") for a, b in self.removed_gaps])
        lines += [f"removed old {a}-{b} ({(b - a) / rate_fps:.2f} s){gap}" for a, b, gap in cut]
        return lines


def _pieces(clip: TimelineClip, old: Timeline) -> list[tuple[int, int, int]]:
    """``(new_in, new_out, old_in)`` for each part of ``clip`` whose source frames the old sequence showed."""
    found = []
    for before in old.clips:
        if before.media is None or before.media != clip.media:
            continue
        first, last = max(clip.source_in, before.source_in), min(clip.source_out, before.source_out)
        if last > first:
            found.append((clip.record_in + first - clip.source_in, clip.record_in + last - clip.source_in,
                          before.record_in + first - before.source_in))
    # one source for each new frame: where a source was shown twice, the nearer showing wins
    found.sort(key=lambda p: (p[0], abs(p[2] - p[0])))
    chosen: list[tuple[int, int, int]] = []
    for new_in, new_out, old_in in found:
        start = max(new_in, chosen[-1][1]) if chosen else new_in
        if start < new_out:
            chosen.append((start, new_out, old_in + start - new_in))
    return chosen


def _merged(spans: list[Span]) -> list[Span]:
    """Adjacent spans of one action (and one shift) joined."""
    out: list[Span] = []
    for span in spans:
        last = out[-1] if out else None
        if (last is not None and last.action == span.action and last.new_out == span.new_in
                and (span.old_in is None or last.old_out == span.old_in)):
            out[-1] = Span(last.new_in, span.new_out, last.old_in, last.action)
        else:
            out.append(span)
    return out


def _removed(old: Timeline, spans: list[Span]) -> tuple[tuple[int, int], ...]:
    """Old record ranges (of media, not gaps) that no new span shows."""
    used = sorted((s.old_in, s.old_out) for s in spans if s.old_in is not None)
    removed = []
    for clip in old.clips:
        if clip.media is None:
            continue
        cursor = clip.record_in
        for a, b in used:
            if b <= cursor or a >= clip.record_out:
                continue
            if a > cursor:
                removed.append((cursor, a))
            cursor = max(cursor, b)
        if cursor < clip.record_out:
            removed.append((cursor, clip.record_out))
    return _joined(removed)  # adjacent removed shots read as one range


def _joined(ranges: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """``ranges`` in order with touching ones joined."""
    joined: list[tuple[int, int]] = []
    for a, b in sorted(ranges):
        joined[-1:] = [(joined[-1][0], b)] if joined and joined[-1][1] == a else [*joined[-1:], (a, b)]
    return tuple(joined)


def _shows(spans: list[Span], new_frame: int, before: bool, clip: TimelineClip | None) -> bool:
    """Whether the span of ``spans`` ending (``before``) or starting at ``new_frame`` shows frames of the old
    sequence's ``clip``."""
    if clip is None or clip.is_gap:
        return False
    for span in spans:
        if span.old_in is None:
            continue
        if before and span.new_out == new_frame:
            return clip.record_in < span.old_out <= clip.record_out
        if not before and span.new_in == new_frame:
            return clip.record_in <= span.old_in < clip.record_out
    return False


def _gaps(old: Timeline, new: Timeline, spans: list[Span]
          ) -> tuple[tuple[tuple[int, int, int], ...], tuple[tuple[int, int], ...]]:
    """Old gap frames the recut still has a gap for, ``(old_in, old_out, new_in)``, and the old gaps' record
    ranges it closed up. A gap of the recut is an old gap when the shot before it shows the end of the shot that
    was before the old gap, or the shot after it the start of the one after; it keeps as many of its frames."""
    kept: list[tuple[int, int, int]] = []
    removed: list[tuple[int, int]] = []
    gaps = [c for c in new.clips if c.is_gap]
    for index, clip in enumerate(old.clips):
        if not clip.is_gap:
            continue
        previous = old.clips[index - 1] if index else None
        following = old.clips[index + 1] if index + 1 < len(old.clips) else None
        same = next((g for g in gaps if _shows(spans, g.record_in, True, previous)
                     or _shows(spans, g.record_out, False, following)), None)
        length = 0 if same is None else min(same.duration, clip.duration)
        if same is not None:
            gaps.remove(same)
            kept.append((clip.record_in, clip.record_in + length, same.record_in))
        if length < clip.duration:
            removed.append((clip.record_in + length, clip.record_out))
    return tuple(kept), _joined(removed)


def conform_plan(old: Timeline, new: Timeline) -> ConformPlan:
    """Map every frame of ``new`` onto ``old`` by the clips' media and source ranges."""
    if old.rate != new.rate:
        raise TimelineError(f"{new.path.name} runs at {new.rate.label} frames/s and {old.path.name} at "
                            f"{old.rate.label}; conform needs one rate.")
    spans: list[Span] = []
    for clip in new.clips:
        cursor = clip.record_in
        for new_in, new_out, old_in in ([] if clip.media is None else _pieces(clip, old)):
            if new_in > cursor:
                spans.append(Span(cursor, new_in, None, "new"))
            spans.append(Span(new_in, new_out, old_in, "keep" if new_in == old_in else "move"))
            cursor = new_out
        if cursor < clip.record_out:
            spans.append(Span(cursor, clip.record_out, None, "new"))
    spans = _merged(spans)
    gaps, removed_gaps = _gaps(old, new, spans)
    return ConformPlan(spans=tuple(spans), removed=_removed(old, spans), removed_gaps=removed_gaps, gaps=gaps)


__all__ = ["ACTIONS", "ConformPlan", "Span", "conform_plan"]
