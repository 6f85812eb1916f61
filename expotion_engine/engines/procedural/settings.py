"""The preset schema: every field a preset may set, its type, range and default, checked field by field.

A preset is plain data (TOML on disk, a dict in a GenerationRequest); :func:`validate_preset`
returns a complete table with defaults filled in, or raises one :class:`PresetError` that
names the source, the field and what would be valid.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from expotion_engine.engines.procedural.harmony import MODES, parse_tonic
from expotion_engine.errors import PresetError

STYLES = ("cinematic", "lofi", "ambient", "pop", "dance", "documentary", "solo")
PART_NAMES = ("drums", "bass", "harmony", "melody")
EFFECTS = ("lowpass", "highpass", "drive", "compress", "chorus", "delay", "reverb")

#: built-in sound per part when a preset does not name one
DEFAULT_INSTRUMENTS = {"drums": "drums", "bass": "synth_bass", "harmony": "pad", "melody": "pluck"}


@dataclass(frozen=True)
class Field:
    """One preset field: the type(s) it takes, bounds or choices, and its default (None: optional, no default)."""

    kind: type | tuple[type, ...]
    default: Any = None
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] | None = None
    help: str = ""

    def describe(self) -> str:
        if self.choices:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        kinds = self.kind if isinstance(self.kind, tuple) else (self.kind,)
        if float in kinds:
            kinds = tuple(k for k in kinds if k is not int)
        names = {bool: "true or false", int: "a whole number", float: "a number", str: "a string", list: "a list"}
        text = " or ".join(dict.fromkeys(names.get(k, k.__name__) for k in kinds))
        if self.low is not None and self.high is not None:
            text += f" from {self.low:g} to {self.high:g}"
        return text


NUMBER = (int, float)

TOP: dict[str, Field] = {
    "name": Field(str, help="short id, as in --preset NAME"),
    "title": Field(str, help="display name"),
    "description": Field(str, "", help="what it sounds like, shown in the preset browser"),
    "prompt": Field(str, "", help="prompt words the preset always adds"),
    "style": Field(str, "pop", choices=STYLES, help="groove and arrangement family"),
}
TEMPO: dict[str, Field] = {
    "min": Field(NUMBER, 80.0, 30, 240, help="slowest tempo the motion may choose (BPM)"),
    "max": Field(NUMBER, 128.0, 30, 240, help="fastest tempo the motion may choose (BPM)"),
    "bpm": Field(NUMBER, None, 30, 240, help="fixed tempo, overriding the motion (BPM)"),
    "meter": Field(int, None, 3, 4, help="beats per bar (3 or 4); otherwise chosen from the motion"),
    "swing": Field(NUMBER, 0.5, 0.5, 0.75, help="16th swing: 0.5 straight, 0.66 triplet feel"),
}
KEY: dict[str, Field] = {
    "tonic": Field(str, None, help="fixed key centre, e.g. 'D' or 'Eb'; otherwise chosen from 'tonics'"),
    "tonics": Field(list, ["D", "C", "G", "A", "F", "E", "Bb", "Eb"],
                    help="key centres the seed and the valence choose from (sharper keys for brighter valence)"),
    "modes": Field(list, list(MODES), help=f"modes the valence may choose from: {', '.join(MODES)}"),
    "valence_bias": Field(NUMBER, 0.0, -1, 1, help="added to the valence before the mode is chosen"),
}
PART: dict[str, Field] = {
    "enabled": Field(bool, True, help="false leaves the part out"),
    "instrument": Field(str, None, help="built-in sound id"),
    "gain_db": Field(NUMBER, 0.0, -40, 12, help="part level"),
    "pan": Field(NUMBER, 0.0, -1, 1, help="-1 left .. +1 right"),
    "plugin": Field(str, None, help="path of a VST3/AU instrument to render this part instead"),
    "voice": Field(str, None, choices=("sampled", "synth"),
                   help="'sampled' plays the General MIDI SoundFont bank, 'synth' the built-in synthesiser; "
                        "default: sampled only for instruments the synthesiser lacks"),
    "effects": Field(dict, {}, help=f"amounts 0..1 of {', '.join(EFFECTS)}"),
}
MIX: dict[str, Field] = {
    "loudness_lufs": Field(NUMBER, -14.0, -40, -6, help="integrated loudness at full energy (LUFS)"),
    "true_peak_db": Field(NUMBER, -1.0, -12, 0, help="true-peak ceiling (dBTP)"),
    "dynamics_db": Field(NUMBER, 6.0, 0, 20, help="how much quieter a calm take is than a full-energy one (dB)"),
    "width": Field(NUMBER, 1.0, 0, 2, help="stereo width: 0 mono, 1 as the parts are placed, up to 2 wider"),
    "compression": Field(NUMBER, 0.3, 0, 1, help="bus glue compression: 0 open (orchestral swells) .. 1 dense (dance)"),
}
ENGINE: dict[str, Field] = {
    "humanize": Field(NUMBER, 1.0, 0, 2, help="timing and velocity looseness (0 = quantised)"),
    "max_bend": Field(NUMBER, 0.06, 0, 0.15, help="largest tempo change used to land a hit on a beat (fraction)"),
    "ritardando": Field(NUMBER, 0.12, 0, 0.25, help="how much the last bar slows into the final cadence (fraction; "
                        "the held last chord slows 2/3 of it more); 0 ends on the running tempo"),
    "hit_strength": Field(NUMBER, 0.0, 0, 1, help="hits weaker than this (the strongest is 1) get no accent"),
    "energy_bias": Field(NUMBER, 0.0, -0.5, 0.5, help="added to the energy curve"),
    "register_shift": Field(int, 0, -12, 12, help="semitones all pitched parts move"),
}
HITS: dict[str, Field] = {
    "strong": Field(NUMBER, 0.6, 0, 1, help="hits at least this strong (0..1) are always marked and always heard"),
    "density": Field(NUMBER, 12.0, 0, 240, help="hits marked per minute: strong ones always, weaker ones up to it"),
    "min_spacing": Field(NUMBER, 1.0, 0, 10, help="least time between a weaker marked hit and any other (s)"),
    "anticipation": Field(NUMBER, 0.0, 0, 0.1, help="seconds the accent of a cut comes before the cut"),
    "rubato": Field(NUMBER, None, 0, 0.2, help="how much the tempo eases into each fitted hit (fraction); "
                    "otherwise 0.06 in the ambient and solo styles, 0 in the others"),
}
TABLES: dict[str, dict[str, Field]] = {"tempo": TEMPO, "key": KEY, "mix": MIX, "engine": ENGINE, "hits": HITS}


def _fail(source: str, field: str, spec: Field | str, value: Any) -> PresetError:
    valid = spec if isinstance(spec, str) else spec.describe()
    return PresetError(f"{source}: field '{field}' must be {valid}, got {value!r}.")


def _check(source: str, path: str, spec: Field, value: Any) -> Any:
    kinds = spec.kind if isinstance(spec.kind, tuple) else (spec.kind,)
    if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
        raise _fail(source, path, spec, value)
    if spec.choices is not None and value not in spec.choices:
        raise _fail(source, path, spec, value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        if spec.low is not None and not spec.low <= value <= spec.high:
            raise _fail(source, path, spec, value)
        return float(value) if float in kinds else value
    return value


def _table(source: str, prefix: str, fields: Mapping[str, Field], data: Any) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise PresetError(f"{source}: '{prefix}' must be a table of {', '.join(fields)}, got {data!r}.")
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise PresetError(
            f"{source}: unknown field '{prefix}.{unknown[0]}'; valid fields of [{prefix}] are {', '.join(fields)}."
        )
    out: dict[str, Any] = {}
    for name, spec in fields.items():
        if name in data:
            out[name] = _check(source, f"{prefix}.{name}", spec, data[name])
        elif spec.default is not None:
            out[name] = copy.deepcopy(spec.default)
    return out


def validate_preset(data: Mapping[str, Any], source: str = "preset", instruments: tuple[str, ...] | None = None,
                    ) -> dict[str, Any]:
    """A complete, checked copy of a preset table (defaults filled); PresetError naming source and field."""
    if not isinstance(data, Mapping):
        raise PresetError(f"{source}: a preset must be a table, got {type(data).__name__}.")
    allowed = set(TOP) | set(TABLES) | {"parts"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise PresetError(
            f"{source}: unknown field '{unknown[0]}'; valid top-level fields are {', '.join(sorted(allowed))}."
        )
    out: dict[str, Any] = {}
    for name, spec in TOP.items():
        if name in data:
            out[name] = _check(source, name, spec, data[name])
        elif spec.default is not None:
            out[name] = spec.default
    for table, fields in TABLES.items():
        out[table] = _table(source, table, fields, data.get(table, {}))
    tempo = out["tempo"]
    if tempo["min"] > tempo["max"]:
        raise PresetError(
            f"{source}: field 'tempo.min' ({tempo['min']:g}) must not exceed 'tempo.max' ({tempo['max']:g})."
        )
    key = out["key"]
    if "tonic" in key:
        try:
            parse_tonic(key["tonic"])
        except ValueError as exc:
            raise _fail(source, "key.tonic", "a key name such as 'C', 'Eb' or 'F#'", key["tonic"]) from exc
    for name in key["tonics"]:
        try:
            parse_tonic(name)
        except (ValueError, AttributeError) as exc:
            raise _fail(source, "key.tonics", "a non-empty list of key names such as 'C', 'Eb' or 'F#'",
                        key["tonics"]) from exc
    if not key["tonics"]:
        raise _fail(source, "key.tonics", "a non-empty list of key names such as 'C', 'Eb' or 'F#'", key["tonics"])
    modes = key["modes"]
    if not modes or any(m not in MODES for m in modes):
        raise _fail(source, "key.modes", "a non-empty list from " + ", ".join(MODES), modes)
    parts_in = data.get("parts", {})
    if not isinstance(parts_in, Mapping):
        raise PresetError(f"{source}: 'parts' must be a table of {', '.join(PART_NAMES)}, got {parts_in!r}.")
    unknown = sorted(set(parts_in) - set(PART_NAMES))
    if unknown:
        raise PresetError(f"{source}: unknown part 'parts.{unknown[0]}'; valid parts are {', '.join(PART_NAMES)}.")
    out["parts"] = {}
    for part in PART_NAMES:
        table = _table(source, f"parts.{part}", PART, parts_in.get(part, {}))
        table.setdefault("instrument", DEFAULT_INSTRUMENTS[part])
        if instruments is not None and table["instrument"] not in instruments:
            raise _fail(source, f"parts.{part}.instrument", "one of " + ", ".join(map(repr, instruments)),
                        table["instrument"])
        effects = table["effects"]
        for effect, amount in effects.items():
            if effect not in EFFECTS:
                raise PresetError(f"{source}: unknown effect 'parts.{part}.effects.{effect}'; valid effects are "
                                  f"{', '.join(EFFECTS)}.")
            if isinstance(amount, bool) or not isinstance(amount, int | float) or not 0 <= amount <= 1:
                raise _fail(source, f"parts.{part}.effects.{effect}", "a number from 0 to 1", amount)
        table["effects"] = {k: float(v) for k, v in effects.items()}
        out["parts"][part] = table
    return out
