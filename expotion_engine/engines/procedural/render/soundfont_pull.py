"""Fetch the FluidR3 GM SoundFont (MIT) into the models folder: ``expotion models pull soundfont``.

The bank comes from Debian's ``fluid-soundfont-gm`` package (the file machines set up as root
get from apt): the ``.deb`` is downloaded from the Debian archive, its SHA-256 checked against
the archive's published value, and the bank read out of its ``data.tar.xz`` into
``<models folder>/soundfont/FluidR3_GM.sf2`` under a temporary name, renamed into place last,
so a half-done pull never leaves a bank behind.
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import tempfile
from pathlib import Path

from expotion_engine.engines.procedural.render.soundfont import models_folder
from expotion_engine.errors import EngineError
from expotion_engine.progress import CancelEvent, ProgressFn, check_cancel, no_progress

COMMAND = "expotion models pull soundfont"
DEB_URL = "https://deb.debian.org/debian/pool/main/f/fluid-soundfont/fluid-soundfont-gm_3.1-5.3_all.deb"
DEB_SHA256 = "6f531493ac4e4d9772fd96b2488ea1790af81c196135fbdd25997da0781fc60e"
DEB_MEMBER = "usr/share/sounds/sf2/FluidR3_GM.sf2"
FILENAME = "FluidR3_GM.sf2"
DOWNLOAD_MB = 120
_AR_MAGIC = b"!<arch>\n"
_AR_HEADER = 60


def _data_tar(deb: Path) -> bytes:
    """The ``data.tar.*`` member of a Debian package (an ``ar`` archive)."""
    blob = deb.read_bytes()
    if not blob.startswith(_AR_MAGIC):
        raise EngineError(f"{deb} is not a Debian package (no ar header).")
    at = len(_AR_MAGIC)
    while at + _AR_HEADER <= len(blob):
        header = blob[at: at + _AR_HEADER]
        name = header[:16].decode("ascii", "replace").strip().rstrip("/")
        size = int(header[48:58].decode("ascii").strip() or 0)
        at += _AR_HEADER
        if name.startswith("data.tar"):
            return blob[at: at + size]
        at += size + (size % 2)
    raise EngineError(f"{deb} has no data.tar member.")


def extract_bank(deb: Path, member: str, dest: Path) -> Path:
    """Copy ``member`` out of the package ``deb`` to ``dest`` (through a temporary file in its folder)."""
    try:
        archive = tarfile.open(fileobj=io.BytesIO(_data_tar(deb)), mode="r:*")
    except tarfile.TarError as exc:
        raise EngineError(f"{deb}: its data archive cannot be read ({exc}).") from exc
    with archive:
        wanted = next((m for m in archive.getmembers() if m.isfile() and m.name.removeprefix("./") == member), None)
        if wanted is None:
            raise EngineError(f"{deb} does not contain {member}.")
        source = archive.extractfile(wanted)
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
        try:
            with os.fdopen(fd, "wb") as out, source:
                shutil.copyfileobj(source, out, 1 << 20)
            os.chmod(tmp, 0o644)
            os.replace(tmp, dest)
        finally:
            Path(tmp).unlink(missing_ok=True)
    return dest


def pull_soundfont(folder: str | os.PathLike[str] | None = None, *, url: str = DEB_URL, sha256: str = DEB_SHA256,
                   member: str = DEB_MEMBER, progress: ProgressFn | None = None,
                   cancel: CancelEvent | None = None) -> Path:
    """Download and verify the bank into ``folder`` (default: the models folder); returns the bank's path.

    A bank already there is kept. ``url`` may be a mirror or a ``file://`` URL of the same package.
    """
    from expotion_engine.stems.download import _fetch  # the verified, cancellable download the model pulls use

    report = progress or no_progress
    target = Path(folder) if folder is not None else models_folder()
    target.mkdir(parents=True, exist_ok=True)
    dest = target / FILENAME
    if dest.is_file() and dest.stat().st_size > 0:
        report(1.0, f"{FILENAME} already in {target}")
        return dest
    with tempfile.TemporaryDirectory(prefix=".soundfont-", dir=target) as tmp:
        deb = Path(tmp) / Path(url).name

        def fetching(fraction: float, message: str) -> None:
            report(0.9 * fraction, message)

        _fetch(url, deb, sha256, COMMAND, fetching, cancel)
        check_cancel(cancel)
        report(0.9, f"unpacking {FILENAME}")
        extract_bank(deb, member, dest)
    report(1.0, f"{FILENAME} installed in {target}")
    return dest


__all__ = ["COMMAND", "DEB_SHA256", "DEB_URL", "DOWNLOAD_MB", "FILENAME", "extract_bank", "pull_soundfont"]
