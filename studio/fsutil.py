"""The output folder belongs to the user: moving a take in file by file, deleting only what
Expotion recorded writing, clearing its own stale staging, and OS errors as one sentence.

A take's ``take.json`` is its manifest: it names ``mix.wav`` and every ``stems/*.wav`` the
take wrote, so replacing a take removes the previous take's files that the new one does not
write again and nothing else (a user's own ``stems/my_vocals.wav`` stays).
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import shutil
from pathlib import Path

from expotion_engine.errors import ExportError

log = logging.getLogger(__name__)

#: the manifest every take folder carries (written last, so it only names finished files)
MANIFEST = "take.json"

#: names :func:`tempfile.mkdtemp`/``mkstemp`` give Expotion's staging folders and temporary files
#: (``.<name>.<8 random characters>.partial`` / ``.part``); nothing else is ever treated as stale
_STAGING = re.compile(r"\..+\.[A-Za-z0-9_]{8}\.partial")
_PART = re.compile(r"\..+\.[A-Za-z0-9_]{8}\.part")

#: errno -> what it means for the user, in words
_OS_REASONS: dict[int, str] = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EROFS: "the disk is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "the operation is not permitted",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "it is a folder, not a file",
    errno.EEXIST: "a file is in the way of a folder",
}


def os_error_sentence(exc: OSError, action: str = "cannot write there") -> str | None:
    """One sentence for an OS error a user can fix (full or read-only disk, permissions); None for others."""
    reason = _OS_REASONS.get(exc.errno or 0)
    if reason is None:
        return None
    where = exc.filename if exc.filename is not None else "the output"
    return f"{where}: {action} ({reason}); free some space or choose another folder." if exc.errno in (
        errno.ENOSPC, errno.EDQUOT) else f"{where}: {action} ({reason}); choose another folder."


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def publish_folder(path: Path) -> None:
    """Give a staging folder renamed into place the permissions a folder made with ``mkdir`` has
    (``mkdtemp`` makes it private, 0700)."""
    os.chmod(path, 0o777 & ~_umask())


def manifest_files(folder: Path) -> list[str]:
    """Relative paths the take in ``folder`` recorded writing (empty when there is no readable manifest)."""
    try:
        meta = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return []
    if not isinstance(meta, dict) or not isinstance(meta.get("stems"), list):
        return []
    files = ["mix.wav", MANIFEST]
    files += [s["file"] for s in meta["stems"] if isinstance(s, dict) and isinstance(s.get("file"), str)]
    return [f for f in files if _inside(f)]


def _inside(relative: str) -> bool:
    """Whether ``relative`` names a path strictly inside its folder (no ``..``, not absolute)."""
    path = Path(relative)
    return not path.is_absolute() and ".." not in path.parts and bool(path.parts)


def check_take_targets(folder: Path, relatives: list[str], *, force: bool) -> None:
    """Fail with one sentence when a take file cannot be placed: a link or file in the way of a folder, or
    (without ``force``) any existing file."""
    for relative in relatives:
        target = folder / relative
        for parent in reversed(Path(relative).parents[:-1]):
            here = folder / parent
            if here.is_symlink():
                raise ExportError(f"{here} is a symbolic link; Expotion does not write through links, "
                                  "so remove it or choose another output folder.")
            if here.exists() and not here.is_dir():
                raise ExportError(f"{here} is a file; the take needs a folder there, so move it or choose "
                                  "another output folder.")
        if target.is_dir() and not target.is_symlink():
            raise ExportError(f"{target} is a folder; the take needs a file there, so move it or choose "
                              "another output folder.")
        if not force and (target.exists() or target.is_symlink()):
            raise ExportError(f"{target} appeared while this run was working; use --force to overwrite it "
                              "or choose another output folder.")


def move_take_in(staging: Path, folder: Path, *, force: bool = True) -> list[str]:
    """Move the take files in ``staging`` into the existing ``folder`` (manifest last), then remove the
    previous take's files that this take did not write again; returns the relative paths placed."""
    new = sorted(str(p.relative_to(staging)) for p in staging.rglob("*") if p.is_file())
    new.sort(key=lambda name: name == MANIFEST)
    check_take_targets(folder, new, force=force)
    previous = manifest_files(folder)
    for relative in new:
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / relative, target)
    for relative in sorted(set(previous) - set(new)):
        old = folder / relative
        if old.is_file() and not old.is_symlink():
            old.unlink()
            log.info("removed %s of the previous take", old)
            _remove_if_empty(old.parent, folder)
    shutil.rmtree(staging, ignore_errors=True)
    return new


def _remove_if_empty(path: Path, root: Path) -> None:
    """Remove ``path`` (a folder under ``root``) when nothing is left in it."""
    if path != root and root in path.parents:
        try:
            path.rmdir()
        except OSError:
            pass


def stale_staging(folder: Path) -> list[Path]:
    """Hidden ``.<name>.*.partial`` staging folders an earlier, interrupted run left in ``folder``."""
    try:
        entries = list(folder.iterdir())
    except OSError:
        return []
    return [p for p in entries if _STAGING.fullmatch(p.name) and p.is_dir() and not p.is_symlink()]


def stale_parts(folder: Path) -> list[Path]:
    """Hidden ``.<file>.*.part`` temporary files an interrupted atomic write left in ``folder``."""
    try:
        entries = list(folder.iterdir())
    except OSError:
        return []
    return [p for p in entries if _PART.fullmatch(p.name) and p.is_file() and not p.is_symlink()]


def remove_stale(folder: Path) -> int:
    """Remove the staging folders and ``.part`` files an earlier crash left in ``folder`` (and its
    ``delivery``/``stems`` subfolders); call only while holding the folder's lock. Returns how many."""
    removed = 0
    for here in (folder, folder / "delivery", folder / "stems"):
        for path in stale_staging(here):
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
        for path in stale_parts(here):
            path.unlink(missing_ok=True)
            removed += 1
    if removed:
        log.warning("removed %d staging file(s) an interrupted run left in %s", removed, folder)
    return removed


__all__ = ["MANIFEST", "check_take_targets", "manifest_files", "move_take_in", "os_error_sentence", "publish_folder",
           "remove_stale", "stale_parts", "stale_staging"]
