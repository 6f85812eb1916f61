"""Which folders plugins may be loaded from: the platform's standard VST3/AU folders and those the user approved.

Loading a plugin runs its native code, and presets and sessions are files people share, so a
plugin path is accepted only inside an approved folder: the platform's standard plugin folders,
the folders in ``$EXPOTION_PLUGIN_PATH`` (``os.pathsep``-separated) and the ``folders`` list of
the ``[plugins]`` table in ``config.toml`` (``$EXPOTION_CONFIG_DIR``, default
``$XDG_CONFIG_HOME/expotion`` or ``~/.config/expotion``). Anything else is refused before it is
touched.
"""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path

from expotion_engine.errors import EngineError

ENV_PATH = "EXPOTION_PLUGIN_PATH"
ENV_CONFIG = "EXPOTION_CONFIG_DIR"
SUFFIXES = (".vst3", ".component")


class PluginRefused(EngineError):
    """A plugin path outside every approved plugin folder (it was not loaded)."""


def standard_folders() -> list[Path]:
    """The platform's standard VST3 (and, on macOS, Audio Unit) folders."""
    home = Path.home()
    if sys.platform == "darwin":
        return [home / "Library/Audio/Plug-Ins/VST3", Path("/Library/Audio/Plug-Ins/VST3"),
                home / "Library/Audio/Plug-Ins/Components", Path("/Library/Audio/Plug-Ins/Components")]
    if sys.platform == "win32":
        common = Path(os.environ.get("COMMONPROGRAMFILES", r"C:\Program Files\Common Files"))
        local = Path(os.environ.get("LOCALAPPDATA", home / "AppData/Local"))
        return [common / "VST3", local / "Programs/Common/VST3"]
    return [home / ".vst3", Path("/usr/lib/vst3"), Path("/usr/local/lib/vst3")]


def config_file() -> Path:
    """The user's ``config.toml`` (it need not exist)."""
    if os.environ.get(ENV_CONFIG):
        return Path(os.environ[ENV_CONFIG]) / "config.toml"
    base = Path(os.environ["XDG_CONFIG_HOME"]) if os.environ.get("XDG_CONFIG_HOME") else Path.home() / ".config"
    return base / "expotion" / "config.toml"


def _configured_folders() -> list[Path]:
    file = config_file()
    if not file.is_file():
        return []
    try:
        table = tomllib.loads(file.read_text(encoding="utf-8")).get("plugins", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise EngineError(f"{file}: cannot read the configuration ({' '.join(str(exc).split())}).") from None
    folders = table.get("folders", []) if isinstance(table, dict) else None
    if not isinstance(folders, list) or not all(isinstance(f, str) and f for f in folders):
        raise EngineError(f"{file}: [plugins] folders must be a list of folder paths.")
    return [Path(f).expanduser() for f in folders]


def approved_folders() -> list[Path]:
    """Every folder a plugin may be loaded from, standard ones first."""
    extra = [Path(p).expanduser() for p in os.environ.get(ENV_PATH, "").split(os.pathsep) if p.strip()]
    return standard_folders() + extra + _configured_folders()


def check_plugin_path(path: str | os.PathLike[str], owner: str) -> Path:
    """``path`` as an absolute path if it names a plugin inside an approved folder, else :class:`PluginRefused`.

    ``owner`` names who asked (``Part 'harmony'``, a preset file) for the message. The path is
    judged by its text (absolute, no ``..``), so nothing at it is opened; a link the user put
    in an approved folder counts as approved.
    """
    given = Path(os.fspath(path)).expanduser()
    folders = approved_folders()
    hint = (f"install it in one of {', '.join(str(f) for f in folders)} or add its folder to ${ENV_PATH} "
            f"or [plugins] folders in {config_file()}")
    if not given.is_absolute() or ".." in given.parts:
        raise PluginRefused(f"{owner}: plugin {os.fspath(path)!r} must be an absolute path without '..' inside an "
                            f"approved plugin folder; {hint}.")
    if given.suffix.lower() not in SUFFIXES:
        raise PluginRefused(f"{owner}: plugin {given} is not a VST3 (.vst3) or Audio Unit (.component) plugin; "
                            "refusing to load it.")
    if not any(given.is_relative_to(f) for f in folders):
        raise PluginRefused(f"{owner}: plugin {given} is not in an approved plugin folder, so it was not loaded; "
                            f"{hint}.")
    return given
