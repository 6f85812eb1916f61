"""Fetch a named Demucs model into a local model folder, verifying every file.

Checkpoints come from demucs's published file list (``<sig>-<sha256 prefix>.th``); each is
streamed to a temporary name, its SHA-256 prefix checked, then renamed into place; the bag
definition is copied from the demucs package last, so a folder never advertises a model
whose files are incomplete.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from expotion_engine.errors import EngineError, ModelNotFoundError
from expotion_engine.progress import CancelEvent, ProgressFn, check_cancel, no_progress
from expotion_engine.stems.catalog import DOWNLOAD_ROOT, check_model_name, packaged_bag, read_bag, remote_files
from expotion_engine.stems.weights import default_model_folder, pull_command
from expotion_engine.types import atomic_write_bytes

CHUNK = 1 << 20


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _fetch(
    url: str, dest: Path, checksum: str, command: str, progress: ProgressFn, cancel: CancelEvent | None
) -> None:
    """Stream ``url`` to ``dest`` through a temporary file, checking the SHA-256 prefix."""
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
            total = int(response.headers.get("Content-Length") or 0)
            done = 0
            for block in iter(lambda: response.read(CHUNK), b""):
                check_cancel(cancel)
                out.write(block)
                digest.update(block)
                done += len(block)
                progress(done / total if total else 0.0, f"{dest.name}: {done / 1e6:.0f} MB")
        if not digest.hexdigest().startswith(checksum):
            raise EngineError(f"{url}: downloaded file does not match its checksum {checksum}; try again.")
        os.replace(tmp, dest)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ModelNotFoundError(
            f"Could not download {url} ({reason}); connect to the network and run `{command}` again."
        ) from None
    finally:
        Path(tmp).unlink(missing_ok=True)


def pull_model(
    name: str,
    folder: str | os.PathLike[str] | None = None,
    *,
    base_url: str = DOWNLOAD_ROOT,
    progress: ProgressFn | None = None,
    cancel: CancelEvent | None = None,
) -> Path:
    """Download ``name`` into ``folder`` (default: the local model folder); returns the folder.

    Files already present with the right checksum are kept. ``base_url`` is where demucs's
    file list is rooted (a mirror, or a ``file://`` URL).
    """
    check_model_name(name)
    report = progress or no_progress
    target = Path(folder) if folder is not None else default_model_folder()
    target.mkdir(parents=True, exist_ok=True)
    bag_source = packaged_bag(name)
    signatures = read_bag(bag_source)["models"]
    urls = remote_files()
    unique = list(dict.fromkeys(signatures))
    for i, sig in enumerate(unique):
        check_cancel(cancel)
        if sig not in urls:
            raise EngineError(f"demucs's file list has no checkpoint for signature {sig} of {name}.")
        filename = Path(urls[sig]).name
        checksum = Path(filename).stem.rsplit("-", 1)[1]
        dest = target / filename
        if dest.is_file() and _sha256(dest).startswith(checksum):
            continue

        def part(fraction: float, message: str, i: int = i) -> None:
            report((i + fraction) / len(unique), message)

        _fetch(base_url.rstrip("/") + "/" + urls[sig], dest, checksum, pull_command(name), part, cancel)
    atomic_write_bytes(target / f"{name}.yaml", bag_source.read_bytes())
    report(1.0, f"{name} installed in {target}")
    return target


__all__ = ["pull_model"]
