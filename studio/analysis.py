"""Video analysis for the studio: the engine's analysis behind a content-addressed cache.

The cache key is the video's content hash, the analysis settings and the analysis
version, so a second run on the same footage is instant wherever the file lives. The
folder is ``$EXPOTION_CACHE_DIR/analysis`` (default ``~/.cache/expotion/analysis``);
``EXPOTION_CACHE_DIR=off`` disables it. When no face is found anywhere in the analysed range,
one warning says so (the music then follows only the motion and the cuts).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import replace
from pathlib import Path

from expotion_engine.controls.channels import FACE_CHANNELS
from expotion_engine.errors import ControlError
from expotion_engine.media.hashing import HASH_VERSION
from expotion_engine.progress import CancelEvent, ProgressFn
from expotion_engine.types import ControlTrack
from expotion_engine.vision import ANALYSIS_VERSION, AnalysisSettings, analyze_video
from expotion_engine.vision.analyze import resolve_range

log = logging.getLogger(__name__)


def cache_dir() -> Path | None:
    """Where analyses are cached, or None when caching is switched off."""
    configured = os.environ.get("EXPOTION_CACHE_DIR")
    if configured and configured.lower() in ("off", "0", "none"):
        return None
    base = Path(configured) if configured else Path.home() / ".cache" / "expotion"
    return base / "analysis"


def cache_key(video_hash: str, settings: AnalysisSettings, start: float, end: float) -> str:
    """Stable key of one analysis: content, resolved range, settings, analysis version."""
    payload = json.dumps(
        {"video": video_hash, "settings": settings.to_dict(), "range": [start, end], "v": ANALYSIS_VERSION,
         "hash": HASH_VERSION},
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def analyze(
    path: str | os.PathLike[str],
    settings: AnalysisSettings | None = None,
    *,
    use_cache: bool = True,
    progress: ProgressFn | None = None,
    cancel: CancelEvent | None = None,
) -> ControlTrack:
    """Analyse ``path`` (or load the cached result) into a ControlTrack."""
    settings = settings or AnalysisSettings()
    folder = cache_dir() if use_cache else None
    entry = None
    source, _ = resolve_range(path, settings)
    if folder is not None:
        entry = folder / f"{cache_key(source.content_hash, settings, source.start, source.end)}.npz"
        if entry.exists():
            try:
                track = ControlTrack.load(entry)
            except ControlError as exc:
                log.warning("damaged analysis cache entry discarded, analysing again: %s", exc)
                _discard(entry)
            else:
                log.info("analysis of %s loaded from cache %s", path, entry)
                if progress is not None:
                    progress(1.0, "analysis loaded from cache")
                warn_if_no_face(track, path)
                return replace(track, source=replace(track.source, path=str(Path(path))))
    track = analyze_video(path, settings, progress, cancel, source=source)
    if entry is not None:
        try:
            track.save(entry)
        except OSError as exc:
            log.warning("could not write analysis cache %s (%s)", entry, exc)
    warn_if_no_face(track, path)
    return track


def warn_if_no_face(track: ControlTrack, path: str | os.PathLike[str]) -> bool:
    """Warn once when no face was seen in any analysed frame, since expression then steers nothing (True if so)."""
    columns = [i for i, name in enumerate(track.channels) if name in FACE_CHANNELS]
    if not columns or track.n_frames == 0 or track.mask[:, columns].any():
        return False
    log.warning("no face found in %s (%.1f-%.1f s): the music follows only the motion and the cuts.",
                path, track.source.start, track.source.end)
    return True


def _discard(entry: Path) -> None:
    """Remove a damaged cache entry (archive and sidecar) so it is rewritten whole."""
    for file in (entry, entry.with_suffix(".json")):
        try:
            file.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("could not remove damaged cache file %s (%s)", file, exc)


__all__ = ["analyze", "cache_dir", "cache_key", "warn_if_no_face"]
