"""What OpenTimelineIO's FCPXML adapter loses, read from the file: start timecode, exact rate, exact spine times.

The adapter drops the sequence's ``tcStart`` and counts times at the format's rate
rounded down to whole frames per second (29.97 becomes 29, so clips shift and one- or
two-frame gaps appear); at such a rate the primary storyline's clips and their markers
are read here from their exact rational ``offset``/``duration``/``start`` instead. A clip's
``start`` is in its asset's time, which begins at the asset's ``start`` (the media's own
start timecode, ``3600s`` for a camera file tagged 01:00:00:00); the asset's ``start`` is
read with it so the reader can count source frames from the media's first frame. Final
Cut counts the spine from the sequence's ``tcStart`` (the first element's ``offset`` is
``3600s`` for 01:00:00:00), OpenTimelineIO's writer from 0: the sequence's first frame is
the first element's offset either way (:func:`spine_origin`).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

#: spine elements that show media
CLIP_TAGS = ("clip", "asset-clip", "ref-clip", "sync-clip", "video", "mc-clip")


@dataclass(frozen=True)
class SpineClip:
    """One primary-storyline clip in frames of the sequence rate, with its markers (source frame, name).

    ``source_in`` and the markers count in the asset's time; ``media_start`` is the asset's ``start`` there (the
    media's first frame), None where the asset names none (0 where the clip shows no asset, a compound clip).
    """

    record_in: int
    duration: int
    source_in: int
    markers: tuple[tuple[int, str], ...] = ()
    media_start: int | None = 0


def fcpx_time(text: str | None) -> Fraction | None:
    """Seconds of an FCPXML time (``3600s``, ``1001/30000s``), or None."""
    try:
        return Fraction(text.rstrip("s")) if text else None
    except (ValueError, ZeroDivisionError):
        return None


def _sequence(path: Path) -> tuple[ET.Element | None, ET.Element | None]:
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError:
        return None, None
    return root, root.find(".//project/sequence")


def sequence_start_and_rate(path: Path) -> tuple[Fraction | None, Fraction | None]:
    """The sequence's ``tcStart`` in seconds and its exact frame rate (None where the file has none)."""
    root, sequence = _sequence(path)
    if root is None or sequence is None:
        return None, None
    form = root.find(f"./resources/format[@id='{sequence.get('format')}']")
    frame = fcpx_time(form.get("frameDuration") if form is not None else None)
    return fcpx_time(sequence.get("tcStart")), (1 / frame if frame else None)


def spine_origin(path: Path) -> Fraction:
    """Seconds of the primary storyline's first element's ``offset``: where the sequence's first frame is."""
    _, sequence = _sequence(path)
    spine = sequence.find("spine") if sequence is not None else None
    first = next(iter(spine), None) if spine is not None else None
    return (fcpx_time(first.get("offset")) or Fraction(0)) if first is not None else Fraction(0)


def _asset(root: ET.Element, element: ET.Element) -> ET.Element | None:
    """The asset a storyline clip shows: its own ``ref`` (``asset-clip``) or its first video's (``clip``)."""
    refs = [element.get("ref")] + [child.get("ref") for child in element if child.tag in ("video", "asset-clip")]
    for ref in filter(None, refs):
        asset = root.find(f"./resources/asset[@id='{ref}']")
        if asset is not None:
            return asset
    return None


def spine_clips(path: Path, rate: Fraction) -> list[SpineClip]:
    """The primary storyline's clips in record order, every time in whole frames at ``rate``."""
    root, sequence = _sequence(path)
    spine = sequence.find("spine") if sequence is not None else None
    if root is None or spine is None:
        return []

    def frames(text: str | None) -> int:
        return round((fcpx_time(text) or 0) * rate)

    clips = []
    for element in spine:
        if element.tag not in CLIP_TAGS:
            continue
        markers = tuple((frames(m.get("start")), m.get("value", "")) for m in element
                        if m.tag in ("marker", "chapter-marker"))
        asset = _asset(root, element)
        media_start = 0 if asset is None else None if asset.get("start") is None else frames(asset.get("start"))
        clips.append(SpineClip(frames(element.get("offset")), frames(element.get("duration")),
                               frames(element.get("start")), markers, media_start))
    return clips


__all__ = ["SpineClip", "fcpx_time", "sequence_start_and_rate", "spine_clips", "spine_origin"]
