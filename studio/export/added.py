"""Files a step after the export writes into a delivery folder (the editor's sequence of a score from a timeline).

They are recorded as the formats' files are: named in the delivery's manifest (under a name of their own,
so the next delivery removes them when it does not write them again, and keeps them when it is of the same
take at the same place) and listed in its guide, which ``expotion check`` holds to the manifest.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from expotion_engine.types import atomic_write_bytes
from studio.export.manifest import GUIDE, MANIFEST, read_manifest
from studio.export.readme import listed_with

log = logging.getLogger(__name__)


def _list_in_guide(guide: Path, files: Mapping[str, str]) -> None:
    """Add ``files`` to the file list of ``guide`` (a warning, nothing else, when it cannot be read)."""
    try:
        text = guide.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        log.warning("%s: cannot list %s in it (%s)", guide, ", ".join(files), exc)
        return
    atomic_write_bytes(guide, listed_with(text, files).encode("utf-8"))


def add_to_delivery(root: str | Path, name: str, files: Mapping[str, str]) -> bool:
    """Record ``files`` (relative path -> what it is for), just written into the delivery in ``root``, in its
    guide's file list and in its manifest under ``name``; False, changing nothing, when ``root`` holds no
    delivery (no manifest)."""
    root = Path(root)
    manifest = read_manifest(root)
    if manifest is None:
        return False
    guides = manifest.files.get(GUIDE, ())
    if guides:
        _list_in_guide(root / guides[0], files)
    atomic_write_bytes(root / MANIFEST, manifest.adding(name, files).text().encode("utf-8"))
    return True


__all__ = ["add_to_delivery"]
