"""Render a part through a user's VST3/AU instrument plugin (``Part.plugin``) with ``pedalboard.load_plugin``.

Only plugins inside approved folders are opened (:mod:`.plugin_folders`), and each is scanned
in a child process before it is loaded here. A refused, missing, crashing, unloadable or failing
plugin is one EngineError naming the part and the path; the built-in sound is never substituted.
"""

from __future__ import annotations

import numpy as np
import pedalboard

from expotion_engine.engines.procedural.render.plugin_folders import check_plugin_path
from expotion_engine.engines.procedural.render.plugin_scan import scan_plugin
from expotion_engine.engines.procedural.score import Part
from expotion_engine.errors import EngineError


def midi_messages(part: Part) -> list[tuple[bytes, float]]:
    """Note-on/off (and program change) messages of the part's notes with times in seconds, in time order."""
    events: list[tuple[float, int, bytes]] = []
    programs = {}
    for note in part.notes:
        channel = note.channel & 0x0F
        if channel not in programs and note.program:
            programs[channel] = note.program
            events.append((0.0, 0, bytes([0xC0 | channel, note.program & 0x7F])))
        events.append((max(0.0, note.start), 2, bytes([0x90 | channel, note.pitch, note.velocity])))
        events.append((max(0.0, note.end), 1, bytes([0x80 | channel, note.pitch, 0])))
    events.sort(key=lambda e: (e[0], e[1]))
    return [(message, time) for time, _, message in events]


def load_instrument(part: Part) -> pedalboard.Plugin:
    """The part's plugin, loaded and checked to be an instrument.

    The path must lie in an approved plugin folder (:mod:`.plugin_folders`; otherwise nothing is
    opened), and the plugin is first scanned in a child process, so one that crashes while loading
    is an EngineError here instead of the end of the program.
    """
    owner = f"Part {part.name!r}"
    path = check_plugin_path(str(part.plugin), owner)
    if not path.exists():
        raise EngineError(f"{owner}: plugin {path} does not exist; give the path of a VST3 (.vst3) or "
                          "Audio Unit (.component) instrument.")
    scan = scan_plugin(path)
    if scan.error is not None:
        raise EngineError(f"{owner}: {path} could not be loaded as a VST3/AU instrument plugin ({scan.error}).")
    if not scan.is_instrument:
        raise EngineError(f"{owner}: plugin {path} is an effect, not an instrument; give an instrument "
                          "plugin that plays MIDI notes.")
    try:
        plugin = pedalboard.load_plugin(str(path))
    except Exception as exc:  # pedalboard raises ImportError/RuntimeError/ValueError for non-plugins
        raise EngineError(f"{owner}: {path} could not be loaded as a VST3/AU instrument plugin "
                          f"({_one_line(exc)}).") from exc
    return plugin


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def render_plugin(part: Part, plugin: pedalboard.Plugin, sample_rate: int, n_samples: int) -> np.ndarray:
    """The part's notes played by its loaded plugin: stereo float32, exactly ``n_samples`` long."""
    return play_plugin(part, plugin, midi_messages(part), sample_rate, n_samples, reset=True)


def play_plugin(part: Part, plugin: pedalboard.Plugin, messages: list[tuple[bytes, float]], sample_rate: int,
                n_samples: int, *, reset: bool) -> np.ndarray:
    """``messages`` played by the part's plugin (its state kept unless ``reset``): stereo float32, ``n_samples``
    long, finite; a failing plugin is one EngineError naming the part."""
    try:
        audio = plugin(messages, duration=n_samples / sample_rate, sample_rate=float(sample_rate),
                       num_channels=2, reset=reset)
    except Exception as exc:
        raise EngineError(f"Part {part.name!r}: plugin {part.plugin} failed while rendering "
                          f"({_one_line(exc)}).") from exc
    audio = np.atleast_2d(np.asarray(audio, dtype=np.float32))
    if audio.shape[0] == 1:
        audio = np.repeat(audio, 2, axis=0)
    out = np.zeros((2, n_samples), dtype=np.float32)
    m = min(n_samples, audio.shape[-1])
    out[:, :m] = audio[:2, :m]
    if not np.all(np.isfinite(out)):
        raise EngineError(f"Part {part.name!r}: plugin {part.plugin} produced non-finite samples (NaN or infinity).")
    return out
