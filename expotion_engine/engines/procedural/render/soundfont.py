"""Find the General MIDI SoundFont bank the sampled voices play, and load it once per process.

Looked for, in order (the first that exists wins):

1. an explicit path (a ``soundfont`` argument) or ``$EXPOTION_SOUNDFONT``; either one that does
   not exist is an error, never silently skipped;
2. the models folder, ``$EXPOTION_MODELS_DIR/soundfont`` (default ``~/.cache/expotion/models``),
   where ``expotion models pull soundfont`` puts the FluidR3 GM bank;
3. the system folders Debian's packages install into (``/usr/share/sounds/sf2``,
   ``/usr/share/soundfonts``, ``/usr/share/sounds/sf3``), all together: FluidR3 GM before MuseScore
   General before any other bank, ``.sf2`` before ``.sf3`` of the same name;
4. TimGM6mb, the small bank inside pretty_midi's wheel.

None at all gives None: the renderer then plays the built-in synthesiser and says so.

FluidR3 GM comes first because, played through TinySoundFont, its presets keep an even level
across the keyboard (single 1.9 s notes at velocity 100 from C2 to C6 within 5-10 LU), where
MuseScore General's strings, choir and piano jump by 11-16 LU between key zones; it also loads in
about 0.3 s (MuseScore General's compressed .sf3 takes 6-9 s and about 1.2 GB to decode).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from expotion_engine.errors import EngineError
from expotion_engine.paths import models_root

log = logging.getLogger(__name__)

ENV_VAR = "EXPOTION_SOUNDFONT"
SUFFIXES = (".sf2", ".sf3")
SYSTEM_FOLDERS = (Path("/usr/share/sounds/sf2"), Path("/usr/share/soundfonts"), Path("/usr/share/sounds/sf3"))
#: file-name prefixes in order of preference inside one folder (lower-cased)
PREFERRED = ("fluidr3_gm", "fluidr3", "musescore_general", "timgm6mb")


@dataclass(frozen=True)
class Bank:
    """A SoundFont file found on this machine and where it was found (explicit, environment, models, system, ...)."""

    path: Path
    source: str

    @property
    def name(self) -> str:
        """The file name the take reports, e.g. ``FluidR3_GM.sf2``."""
        return self.path.name


def models_folder() -> Path:
    """Where ``expotion models pull soundfont`` puts banks: ``<models root>/soundfont``."""
    return models_root() / "soundfont"


def _rank(path: Path) -> tuple[int, str, int]:
    lower = path.name.lower()
    preference = next((i for i, prefix in enumerate(PREFERRED) if lower.startswith(prefix)), len(PREFERRED))
    aliased = lower.startswith("default")  # Debian's default-GM.* links name no bank of their own
    return preference + (len(PREFERRED) + 1) * aliased, path.stem.lower(), SUFFIXES.index(path.suffix.lower())


def best_in(*folders: Path) -> Path | None:
    """The preferred readable bank file in ``folders`` (ranked by name, then folder order), or None."""
    candidates = []
    for order, folder in enumerate(folders):
        if folder.is_dir():
            candidates.extend((_rank(path), order, path) for path in folder.iterdir()
                              if path.suffix.lower() in SUFFIXES and path.is_file())
    for _, _, path in sorted(candidates):
        real = path.resolve()
        if os.access(real, os.R_OK) and real.stat().st_size > 0:
            return path
    return None


def bundled_bank() -> Path | None:
    """pretty_midi's TimGM6mb.sf2 (about 6 MB), or None when pretty_midi is not installed."""
    try:
        import pretty_midi
    except ImportError:
        return None
    path = Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"
    return path if path.is_file() else None


def _explicit(path: str | os.PathLike[str], what: str) -> Bank:
    file = Path(path).expanduser()
    if file.is_dir():
        found = best_in(file)
        if found is None:
            raise EngineError(f"{what} {file} is a folder without a .sf2 or .sf3 SoundFont in it.")
        return Bank(found, what)
    if not file.is_file():
        raise EngineError(f"{what} {file} does not exist; give the path of a .sf2 or .sf3 SoundFont, "
                          "or unset it to use the installed bank.")
    if file.suffix.lower() not in SUFFIXES:
        raise EngineError(f"{what} {file} is not a SoundFont; give a .sf2 or .sf3 file.")
    return Bank(file, what)


def find_soundfont(soundfont: str | os.PathLike[str] | None = None, *,
                   system_folders: tuple[Path, ...] = SYSTEM_FOLDERS) -> Bank | None:
    """The bank the sampled voices use (see the module docstring for the order), or None when there is none."""
    if soundfont is not None:
        return _explicit(soundfont, "SoundFont")
    configured = os.environ.get(ENV_VAR)
    if configured:
        return _explicit(configured, f"${ENV_VAR}")
    found = best_in(models_folder())
    if found is not None:
        return Bank(found, "models folder")
    found = best_in(*system_folders)
    if found is not None:
        return Bank(found, "system")
    bundled = bundled_bank()
    return Bank(bundled, "pretty_midi") if bundled is not None else None


def renderer_available() -> bool:
    """Whether the SoundFont renderer (``tinysoundfont``, installed ``--no-deps`` by bootstrap.py) is importable."""
    return importlib.util.find_spec("tinysoundfont") is not None


_LOADED: dict[tuple[str, int, int], Any] = {}
_LOCK = threading.Lock()


def load_bank(bank: Bank) -> Any:
    """The parsed bank (a ``tinysoundfont`` SoundFont to clone per part), loaded once per file version.

    Only the most recently used bank stays in memory (a decoded bank takes 0.2-1.2 GB).
    """
    from tinysoundfont import _tinysoundfont

    stat = bank.path.stat()
    key = (str(bank.path.resolve()), stat.st_mtime_ns, stat.st_size)
    with _LOCK:
        if key not in _LOADED:
            _LOADED.clear()
            started = time.perf_counter()
            try:
                _LOADED[key] = _tinysoundfont.SoundFont(key[0])
            except Exception as exc:  # the binding raises RuntimeError/ValueError for files it cannot parse
                raise EngineError(f"SoundFont {bank.path} could not be read ({exc}); give another .sf2/.sf3 "
                                  "bank or run `expotion models pull soundfont`.") from exc
            log.info("loaded SoundFont %s (%s) in %.1f s", bank.name, bank.source, time.perf_counter() - started)
        return _LOADED[key]


__all__ = ["ENV_VAR", "SYSTEM_FOLDERS", "Bank", "best_in", "bundled_bank", "find_soundfont", "load_bank",
           "models_folder", "renderer_available"]
