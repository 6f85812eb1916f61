"""Where audio being made is spooled: a hidden staging folder on the output's own disk, never the system temp folder.

A long take's audio is written as float WAVs before it is committed; made beside its
target, committing it is a hard link (not a copy across disks, which could also fill a small
``/tmp``), and the folder is named as :mod:`studio.fsutil` recognises staging
(``.<name>.XXXXXXXX.partial``), so one a killed run left is removed by the next run's
:func:`~studio.fsutil.remove_stale`.
"""

from __future__ import annotations

from pathlib import Path

from expotion_engine.audio_io import Spool


def spool_beside(target: Path) -> Spool:
    """A hidden staging folder for audio on ``target``'s disk: inside ``target`` when it is a folder already,
    else beside it (``.<name>.XXXXXXXX.partial``, made on first use)."""
    target = target.absolute()
    parent = target if target.is_dir() else target.parent
    parent.mkdir(parents=True, exist_ok=True)
    return Spool(parent, prefix=f".{target.name}.", suffix=".partial")


__all__ = ["spool_beside"]
