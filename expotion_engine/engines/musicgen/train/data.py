"""Training data: clips of (video or ControlTrack, music, optional prompt) and their split.

A dataset is a folder or a manifest. In a folder, every video ``NAME.mp4`` (or saved
ControlTrack ``NAME.npz`` + ``NAME.json``) pairs with music ``NAME.wav`` (flac, ogg,
mp3, aiff) and an optional prompt ``NAME.txt``; clips named ``SOURCE__PART`` share the
source ``SOURCE``. A manifest is CSV (with a header) or JSONL with the keys ``audio``,
``video`` or ``controls``, and optionally ``prompt`` and ``source``; relative paths are
read from the manifest's folder. Validation clips are chosen by source, never by clip,
so the same performance cannot be in both sets.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from expotion_engine.errors import ExpotionError

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v")
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif")


class DatasetError(ExpotionError):
    """A training dataset folder or manifest is missing, empty or malformed."""


@dataclass(frozen=True)
class Clip:
    """One training example: music plus the video (or its saved ControlTrack) it belongs to."""

    audio: Path
    video: Path | None = None
    controls: Path | None = None
    prompt: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        if (self.video is None) == (self.controls is None):
            raise DatasetError(f"Clip {self.audio} needs exactly one of a video or a ControlTrack file.")
        for path in (self.audio, self.video, self.controls):
            if path is not None and not Path(path).is_file():
                raise DatasetError(f"Dataset file {path} does not exist.")
        if not self.source:
            object.__setattr__(self, "source", Path(self.video or self.controls).stem.split("__")[0])

    @property
    def name(self) -> str:
        return Path(self.video or self.controls).stem


def _find(folder: Path, stem: str, suffixes: Iterable[str]) -> Path | None:
    for suffix in suffixes:
        for candidate in (folder / f"{stem}{suffix}", folder / f"{stem}{suffix.upper()}"):
            if candidate.is_file():
                return candidate
    return None


def discover_clips(folder: str | os.PathLike[str]) -> list[Clip]:
    """Pair every video or ControlTrack in ``folder`` with its music and prompt."""
    folder = Path(folder)
    clips = []
    for path in sorted(folder.iterdir()):
        suffix = path.suffix.lower()
        is_controls = suffix == ".npz" and path.with_suffix(".json").is_file()
        if suffix not in VIDEO_SUFFIXES and not is_controls:
            continue
        audio = _find(folder, path.stem, AUDIO_SUFFIXES)
        if audio is None:
            continue
        prompt_file = folder / f"{path.stem}.txt"
        prompt = prompt_file.read_text(encoding="utf-8").strip() if prompt_file.is_file() else ""
        clips.append(Clip(audio=audio, video=None if is_controls else path, controls=path if is_controls else None,
                          prompt=prompt))
    return clips


def _clip_from_row(row: Mapping[str, str], base: Path, where: str) -> Clip:
    def path(key: str) -> Path | None:
        value = (row.get(key) or "").strip()
        return (base / value) if value else None

    if path("audio") is None:
        raise DatasetError(f"{where}: no 'audio' path.")
    try:
        return Clip(audio=path("audio"), video=path("video"), controls=path("controls"),
                    prompt=str(row.get("prompt") or "").strip(), source=str(row.get("source") or "").strip())
    except DatasetError as exc:
        raise DatasetError(f"{where}: {exc}") from None


def read_manifest(path: str | os.PathLike[str]) -> list[Clip]:
    """Clips listed in a CSV or JSONL manifest."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"Cannot read manifest {path} ({exc}).") from None
    if path.suffix.lower() == ".jsonl":
        rows = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise DatasetError(f"{path}, line {number}: not JSON ({exc}).") from None
            if not isinstance(row, dict):
                raise DatasetError(f"{path}, line {number}: expected a JSON object.")
            rows.append((number, row))
    elif path.suffix.lower() == ".csv":
        rows = list(enumerate(csv.DictReader(text.splitlines()), 2))
    else:
        raise DatasetError(f"Manifest {path} must be .csv or .jsonl.")
    return [_clip_from_row(row, path.parent, f"{path}, line {n}") for n, row in rows]


def load_clips(path: str | os.PathLike[str]) -> list[Clip]:
    """Clips of a dataset folder or manifest; an empty dataset is an error."""
    path = Path(path)
    if path.is_dir():
        clips = discover_clips(path)
    elif path.is_file():
        clips = read_manifest(path)
    else:
        raise DatasetError(f"Dataset {path} does not exist (give a folder of clips or a .csv/.jsonl manifest).")
    if not clips:
        raise DatasetError(
            f"No clips found in {path}: a clip is a video (or ControlTrack .npz + .json) with music of the same name."
        )
    return clips


def split_by_source(clips: list[Clip], val_fraction: float) -> tuple[list[Clip], list[Clip]]:
    """Training and validation clips; whole sources go to validation, chosen by a stable hash."""
    sources = sorted({c.source for c in clips})
    if val_fraction <= 0.0 or len(sources) < 2:
        return list(clips), []
    ranked = sorted(sources, key=lambda s: hashlib.sha256(s.encode()).hexdigest())
    count = max(1, int(round(val_fraction * len(sources))))
    held = set(ranked[:min(count, len(sources) - 1)])
    return [c for c in clips if c.source not in held], [c for c in clips if c.source in held]
