"""Each clip's delivery folder appears whole or not at all: built in a hidden staging folder, renamed in."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from studio.session import SESSION_SUFFIX

PARTIAL = ".partial-"
REPLACED = ".replaced-"


def clip_folder(out: Path, name: str) -> Path:
    """Where clip ``name``'s finished folder lives."""
    return out / name


def is_complete(folder: Path) -> bool:
    """True when ``folder`` holds a take, a session file and a delivery folder (what a finished clip leaves)."""
    return (folder / "take.json").is_file() and (folder / "delivery").is_dir() and any(
        folder.glob(f"*{SESSION_SUFFIX}"))


def staging_folder(out: Path, name: str) -> Path:
    """A new, not yet existing, hidden path beside the clip's folder to build it in."""
    return out / f".{name}{PARTIAL}{uuid.uuid4().hex[:8]}"


def publish(staging: Path, folder: Path) -> None:
    """Rename the finished ``staging`` folder to ``folder``; a previous folder (``--force``) is replaced."""
    if folder.exists():
        old = folder.with_name(f".{folder.name}{REPLACED}{uuid.uuid4().hex[:8]}")
        os.replace(folder, old)
        os.replace(staging, folder)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, folder)


def remove_partials(out: Path, name: str | None = None) -> list[Path]:
    """Delete staging folders left by stopped work (of clip ``name``, or all); returns what was removed.

    A previous folder set aside by :func:`publish` comes back when its replacement never arrived.
    """
    prefix = f".{name}" if name else ".*"
    for old in out.glob(f"{prefix}{REPLACED}*"):
        folder = out / old.name[1:old.name.rindex(REPLACED)]
        if folder.exists():
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(old, folder)
    removed = [p for p in out.glob(f"{prefix}{PARTIAL}*") if p.is_dir()]
    for path in removed:
        shutil.rmtree(path, ignore_errors=True)
    return removed
