"""Find a timeline's media: at the path it names, else by file name next to (or below) the timeline file.

A media reference may carry the file's content hash (``metadata["expotion"]["content_hash"]``,
the hash :func:`expotion_engine.media.hashing.content_hash` computes); a candidate with
another content is then passed over, so a same-named file from another shoot is never used.
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import unquote, urlparse

from expotion_engine.media.hashing import content_hash

log = logging.getLogger(__name__)

#: how deep below the timeline's folder a media file is looked for by name
SEARCH_DEPTH = 3


def url_path(url: str) -> Path:
    """The file path a media URL (``file:///...``, a bare path, or a relative one) names."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    return Path(unquote(url))


def _below(folder: Path, name: str) -> list[Path]:
    """Files called ``name`` in ``folder`` and up to :data:`SEARCH_DEPTH` folders below, nearest first."""
    found: list[Path] = []
    for depth in range(SEARCH_DEPTH + 1):
        found += sorted(p for p in folder.glob("/".join(["*"] * depth + [name])) if p.is_file())
    return found


def candidates(url: str, name: str, base: Path) -> list[Path]:
    """Where a reference's media may be, in the order they are tried."""
    named = url_path(url) if url else None
    tried: list[Path] = []
    if named is not None and str(named) not in ("", "."):
        tried.append(named if named.is_absolute() else base / named)
        tried += _below(base, named.name)
    if name:
        tried += _below(base, Path(name).name)
    return list(dict.fromkeys(tried))


def relink(url: str, name: str, base: Path, expected_hash: str | None = None) -> Path | None:
    """The media file a reference means (resolved), or None when no candidate is there with the right content."""
    for path in candidates(url, name, base):
        if not path.is_file():
            continue
        if expected_hash and content_hash(path) != expected_hash:
            log.info("%s has the name but not the content of %s; passed over", path, name or url)
            continue
        if named := url_path(url) if url else None:
            if path.resolve() != (named if named.is_absolute() else base / named).resolve():
                log.info("relinked %s to %s", url, path)
        return path.resolve()
    return None


__all__ = ["candidates", "relink", "url_path"]
