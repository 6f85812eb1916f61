"""Preset files: find, read and validate the TOML presets (built-in ones and the user's own).

Built-in presets live in the repository's ``presets/`` folder; an installed package finds
them in ``<prefix>/share/expotion/presets`` (the wheel installs them there as data files,
see ``[tool.setuptools.data-files]``), and ``EXPOTION_PRESETS_DIR`` points elsewhere.
Files are parsed with :mod:`tomllib` and checked field by field against the procedural
engine's schema; a bad file raises one :class:`PresetError` naming the file and the field.
"""

from __future__ import annotations

import os
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from expotion_engine.engines.procedural.settings import validate_preset
from expotion_engine.errors import PresetError
from expotion_engine.types import read_regular_text

ENV_DIR = "EXPOTION_PRESETS_DIR"
SUFFIX = ".toml"


@dataclass(frozen=True)
class Preset:
    """A validated preset: what the browser shows plus the full table a GenerationRequest carries."""

    name: str
    title: str
    description: str
    prompt: str
    path: Path
    table: dict[str, Any] = field(repr=False, compare=False)


def builtin_presets_dir() -> Path:
    """The folder of the built-in presets: ``$EXPOTION_PRESETS_DIR``, the source tree's, or the installed copy."""
    if os.environ.get(ENV_DIR):
        return Path(os.environ[ENV_DIR])
    candidates = (Path(__file__).resolve().parents[1] / "presets", Path(sys.prefix) / "share" / "expotion" / "presets")
    for candidate in candidates:
        if candidate.is_dir() and any(candidate.glob(f"*{SUFFIX}")):
            return candidate
    return candidates[0]


def _instrument_names() -> tuple[str, ...] | None:
    """Sound ids the renderer knows (None when the renderer cannot be imported, so only the schema is checked)."""
    try:
        from expotion_engine.engines.procedural.render import ALIASES, INSTRUMENTS
    except ImportError:
        return None
    return tuple(sorted(INSTRUMENTS)) + tuple(sorted(ALIASES))


def read_preset(path: str | os.PathLike[str]) -> Preset:
    """Read and validate one preset file."""
    path = Path(path)
    text = read_regular_text(path, PresetError, "preset file")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PresetError(f"{path}: not valid TOML ({exc}).") from None
    except RecursionError:
        raise PresetError(f"{path}: the preset nests arrays or tables too deeply to be a preset.") from None
    table = validate_preset(data, str(path), _instrument_names())
    _check_plugins(table, path)
    table.setdefault("name", path.stem)
    table.setdefault("title", table["name"].replace("-", " ").capitalize())
    return Preset(name=table["name"], title=table["title"], description=table["description"],
                  prompt=table["prompt"], path=path, table=table)


def _check_plugins(table: dict[str, Any], path: Path) -> None:
    """Refuse a preset naming a plugin outside the approved plugin folders, before anything is loaded."""
    from expotion_engine.engines.procedural.render.plugin_folders import PluginRefused, check_plugin_path

    for name, part in table.get("parts", {}).items():
        if isinstance(part, dict) and part.get("plugin") is not None:
            try:
                check_plugin_path(part["plugin"], f"{path}: part {name!r}")
            except PluginRefused as exc:
                raise PresetError(str(exc)) from None


def list_presets(folder: str | os.PathLike[str] | None = None) -> list[Preset]:
    """Every preset in ``folder`` (default: the built-in ones), sorted by name."""
    folder = Path(folder) if folder is not None else builtin_presets_dir()
    if not folder.is_dir():
        raise PresetError(f"{folder}: preset folder not found (set {ENV_DIR} to a folder of .toml presets).")
    return sorted((read_preset(p) for p in folder.glob(f"*{SUFFIX}")), key=lambda p: p.name)


def preset_names(folder: str | os.PathLike[str] | None = None) -> list[str]:
    """Names of the presets in ``folder`` (default: built-in), without validating them."""
    folder = Path(folder) if folder is not None else builtin_presets_dir()
    return sorted(p.stem for p in folder.glob(f"*{SUFFIX}")) if folder.is_dir() else []


def load_preset(name_or_path: str | os.PathLike[str]) -> Preset:
    """A preset by built-in name (``cinematic``) or by the path of a ``.toml`` file."""
    text = os.fspath(name_or_path)
    path = Path(text)
    if path.suffix == SUFFIX or path.exists() or os.sep in text:
        return read_preset(path)
    folder = builtin_presets_dir()
    candidate = folder / f"{text}{SUFFIX}"
    if candidate.is_file():
        return read_preset(candidate)
    for preset_path in folder.glob(f"*{SUFFIX}"):
        preset = read_preset(preset_path)
        if preset.name == text:
            return preset
    names = preset_names(folder)
    raise PresetError(f"Unknown preset {text!r}; the presets are: {', '.join(names) or '(none found)'}, "
                      f"or give the path of a .toml file.")
