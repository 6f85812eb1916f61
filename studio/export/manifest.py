"""The delivery's record of what Expotion wrote into it (``.expotion-delivery.json``).

A re-delivery removes the previous delivery's files it does not write again, and never a file
no manifest names (a user's own notes stay). Files of a format this delivery does not run are
kept only when the previous delivery was of the same take at the same place (``key``), so an
added format joins its delivery and a folder never mixes two takes. Files a step after the export
writes into the delivery (the editor's sequence of a score from a timeline) are named too, under a
name of their own (:mod:`studio.export.added`), and kept or removed as such a format's are.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from studio.export.job import ExportJob

#: the manifest's name in the delivery folder (hidden: bookkeeping, not a deliverable)
MANIFEST = ".expotion-delivery.json"
FORMAT = "expotion.delivery"
VERSION = 1
#: pseudo-format of the files every delivery writes besides its formats (the README)
GUIDE = "readme"


@dataclass(frozen=True)
class Manifest:
    """Which take at which place (``key``) and the relative paths each format wrote."""

    key: str
    files: dict[str, tuple[str, ...]]

    def paths(self) -> set[str]:
        """Every relative path the manifest names."""
        return {f for files in self.files.values() for f in files}

    def adding(self, name: str, relatives: Iterable[str]) -> Manifest:
        """This manifest also naming ``relatives`` under ``name`` (files a step after the export wrote)."""
        return Manifest(self.key, {**self.files, name: tuple(sorted({*self.files.get(name, ()), *relatives}))})

    def merged(self, other: Manifest) -> Manifest:
        """This manifest also naming ``other``'s files (what the folder may hold while one replaces the other)."""
        files = {name: tuple(sorted({*other.files.get(name, ()), *self.files.get(name, ())}))
                 for name in {*self.files, *other.files}}
        return Manifest(self.key, files)

    def text(self) -> str:
        """The manifest as JSON, keys sorted (the same delivery gives the same bytes)."""
        body = {"format": FORMAT, "version": VERSION, "key": self.key,
                "files": {name: list(files) for name, files in sorted(self.files.items())}}
        return json.dumps(body, indent=1, sort_keys=True) + "\n"


def _inside(relative: object) -> bool:
    """Whether ``relative`` is a string naming a path strictly inside its folder."""
    if not isinstance(relative, str) or not relative:
        return False
    path = PurePosixPath(relative)
    return not path.is_absolute() and ".." not in path.parts and "\\" not in relative


def read_manifest(root: Path) -> Manifest | None:
    """The manifest of the delivery in ``root`` (None when there is none or it cannot be read)."""
    try:
        body = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(body, dict) or body.get("format") != FORMAT or not isinstance(body.get("files"), dict):
        return None
    files = {str(name): tuple(f for f in paths if _inside(f))
             for name, paths in body["files"].items() if isinstance(paths, list)}
    return Manifest(str(body.get("key", "")), files)


def _edges(audio: object, rate: int) -> bytes:
    """The first and last second of ``audio`` as float32 bytes (a take read from disk reads only those)."""
    head, tail = audio[:, :rate], audio[:, -rate:]  # type: ignore[index]
    return np.ascontiguousarray(head, np.float32).tobytes() + np.ascontiguousarray(tail, np.float32).tobytes()


def delivery_key(job: ExportJob) -> str:
    """A digest of the take (how it was made, its markers and tempo, the edges of its mix) and where it sits
    (title, video, in point, timecode): equal keys mean the same music at the same place."""
    meta = job.take.metadata()
    meta.pop("timings", None)
    place = {"title": job.slug, "video": job.video.name if job.video else None, "video_in": job.video_in,
             "timecode_start": job.timecode_start, "rate": job.tc.label}
    digest = hashlib.sha256(json.dumps([meta, place], sort_keys=True, default=str).encode("utf-8"))
    digest.update(_edges(job.take.mix, job.take.sample_rate))
    return digest.hexdigest()[:32]


def kept(previous: Manifest | None, key: str, formats: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """The previous delivery's files that stay: those of formats this one does not run, same take and place."""
    if previous is None or previous.key != key:
        return {}
    ran = {*formats, GUIDE}
    return {name: files for name, files in previous.files.items() if name not in ran}


def stale(previous: Manifest | None, key: str, formats: Iterable[str], written: set[str]) -> list[str]:
    """The previous delivery's files to remove once this one is in place (it does not write them again)."""
    if previous is None:
        return []
    keep = {f for files in kept(previous, key, formats).values() for f in files}
    return sorted(previous.paths() - keep - written)


__all__ = ["GUIDE", "MANIFEST", "Manifest", "delivery_key", "kept", "read_manifest", "stale"]
