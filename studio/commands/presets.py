"""``expotion presets``: list the presets ``--preset`` accepts, one line each (``--json`` for scripts).

Each line gives the preset's name, the procedural engine's style it composes in, its tempo
range (or fixed tempo) and its description, all read from the preset file. Every preset drives
the procedural engine; ``--engine musicgen`` takes only its ``prompt`` (in the JSON). A preset
file that does not read is reported in one line on stderr and left out; the exit status is then 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "presets",
        help="list the presets: name, style, tempo range, description",
        description="List the presets that --preset accepts (the built-in folder, or $EXPOTION_PRESETS_DIR): one "
                    "line each with the name, the procedural engine's style, the tempo range and the description.",
    )
    p.add_argument("--json", action="store_true", help="print a JSON list instead (name, title, style, tempo, "
                                                       "prompt, description, parts, path)")
    p.set_defaults(run=run)


def tempo_range(table: dict[str, Any]) -> str:
    """``70-110 BPM``, or ``96 BPM`` for a preset with a fixed tempo."""
    tempo = table["tempo"]
    if tempo.get("bpm") is not None:
        return f"{tempo['bpm']:g} BPM"
    return f"{tempo['min']:g}-{tempo['max']:g} BPM"


def describe(preset: Any) -> dict[str, Any]:
    """What ``--json`` prints of one preset (each enabled part's voice as it plays: ``sampled``, ``synth``)."""
    from expotion_engine.engines.procedural.render.sampled import default_voice

    table = preset.table
    tempo = {key: table["tempo"].get(key) for key in ("min", "max", "bpm")}
    parts = {name: {"instrument": part.get("instrument"),
                    "voice": "plugin" if part.get("plugin") else part.get("voice") or default_voice(part["instrument"])}
             for name, part in table.get("parts", {}).items() if part.get("enabled", True)}
    return {"name": preset.name, "title": preset.title, "engine": "procedural", "style": table["style"],
            "tempo": tempo, "prompt": preset.prompt, "description": preset.description, "parts": parts,
            "path": str(preset.path)}


def run(args: argparse.Namespace) -> int:
    from expotion_engine.errors import PresetError
    from studio.presets import SUFFIX, builtin_presets_dir, read_preset

    folder = builtin_presets_dir()
    if not folder.is_dir():
        raise PresetError(f"{folder}: preset folder not found (set EXPOTION_PRESETS_DIR to a folder of .toml "
                          "presets).")
    presets, failed = [], 0
    for path in sorted(Path(folder).glob(f"*{SUFFIX}")):
        try:
            presets.append(read_preset(path))
        except PresetError as exc:
            print(f"expotion: warning: {exc}", file=sys.stderr)
            failed += 1
    presets.sort(key=lambda p: p.name)
    if args.json:
        print(json.dumps([describe(p) for p in presets], indent=2))
    else:
        rows = [(p.name, p.table["style"], tempo_range(p.table), p.description) for p in presets]
        widths = [max((len(row[i]) for row in rows), default=0) for i in range(3)]
        for row in rows:
            print("  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)) + "  " + row[3])
    return 1 if failed else 0
