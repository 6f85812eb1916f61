"""Which media files an editor's timeline uses, and which of them cannot be found (for the app's dialog).

Each clip of the sequence's enabled video tracks names a media file; studio relinks it by
path, else by name next to or below the timeline file (checking the content hash when the
reference carries one). A timeline whose media is missing cannot be scored, so the app
lists every file with where it was found, or that it was not.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from expotion_engine.errors import ExpotionError

#: OpenTimelineIO needs a rate to read an EDL; the names of its media do not depend on it
EDL_READ_FPS = 25.0


@dataclass(frozen=True)
class MediaStatus:
    """One media file of a timeline: the name the timeline gives it, the first clip using it, where it is."""

    name: str
    clip: str
    found: Path | None

    def to_dict(self) -> dict[str, str | None]:
        return {"name": self.name, "clip": self.clip, "found": None if self.found is None else str(self.found)}

    @classmethod
    def from_dict(cls, data: dict) -> MediaStatus:
        found = data.get("found")
        return cls(str(data.get("name", "")), str(data.get("clip", "")), None if found is None else Path(found))


class MissingMediaError(ExpotionError):
    """A timeline whose media files are not all found; ``media`` lists every file and where it was found."""

    def __init__(self, message: str, media: list[MediaStatus]) -> None:
        super().__init__(message)
        self.media = media

    @property
    def missing(self) -> list[MediaStatus]:
        return [m for m in self.media if m.found is None]


def media_status(path: str | Path) -> list[MediaStatus]:
    """Every media file the timeline's picture uses, once each in first-use order, found or not."""
    from studio.timeline.read import ADAPTERS, below_storyline, load_sequence
    from studio.timeline.relink import relink, url_path

    path = Path(path)
    adapter = ADAPTERS.get(path.suffix.lower(), "")
    sequence = load_sequence(path, adapter, EDL_READ_FPS if adapter == "cmx_3600" else None)
    base = path.parent.resolve()
    seen: dict[str, MediaStatus] = {}
    for track in sequence.tracks:
        if track.kind != "Video" or not track.enabled or (adapter == "fcpx_xml" and below_storyline(track)):
            continue
        for clip in track.find_clips():
            ref = clip.media_reference
            url = getattr(ref, "target_url", "") or ""
            name = (ref.name if ref is not None else "") or clip.name
            key = url or name
            if not key or key in seen:
                continue
            meta = ref.metadata.get("expotion", {}) if ref is not None else {}
            expected = meta.get("content_hash") if hasattr(meta, "get") else None
            shown = url_path(url).name if url else name
            seen[key] = MediaStatus(shown, clip.name or name, relink(url, name, base, expected))
    return list(seen.values())
