"""Preset files: the built-in set, lookup by name or path, and clear errors for bad files."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from expotion_engine.engines.procedural.render import EFFECTS as RENDER_EFFECTS
from expotion_engine.engines.procedural.settings import EFFECTS
from expotion_engine.errors import PresetError
from studio.presets import ENV_DIR, builtin_presets_dir, list_presets, load_preset, read_preset

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = {"cinematic", "lo-fi", "ambient", "upbeat-pop", "orchestral-tension", "documentary", "dance", "piano-solo"}


def test_builtin_presets_are_all_there_and_valid() -> None:
    presets = list_presets()
    assert REQUIRED <= {p.name for p in presets}
    for preset in presets:
        assert preset.title and preset.description and preset.path.suffix == ".toml"
        assert preset.name == preset.path.stem
        assert preset.table["tempo"]["min"] <= preset.table["tempo"]["max"]
        assert set(preset.table["parts"]) == {"drums", "bass", "harmony", "melody"}


def test_load_by_name_and_by_path(tmp_path: Path) -> None:
    by_name = load_preset("lo-fi")
    assert by_name.table["style"] == "lofi" and by_name.table["tempo"]["swing"] == 0.6
    copy = tmp_path / "mine.toml"
    copy.write_text(by_name.path.read_text().replace('name = "lo-fi"', 'name = "mine"'))
    assert load_preset(copy).name == "mine"
    assert load_preset(str(copy)).table == {**by_name.table, "name": "mine"}


def test_unknown_preset_lists_the_presets() -> None:
    with pytest.raises(PresetError, match="Unknown preset 'nope'.*cinematic.*lo-fi"):
        load_preset("nope")


def test_minimal_preset_gets_defaults(tmp_path: Path) -> None:
    path = tmp_path / "tiny.toml"
    path.write_text('description = "just defaults"\n')
    preset = read_preset(path)
    assert preset.name == "tiny"
    assert preset.table["mix"]["loudness_lufs"] == -14.0 and preset.table["mix"]["true_peak_db"] == -1.0
    assert preset.table["parts"]["drums"]["instrument"] == "drums"


BAD = {
    "wrong type": (
        '[tempo]\nmin = "fast"\n',
        r"bad\.toml: field 'tempo\.min' must be a number from 30 to 240, got 'fast'",
    ),
    "out of range": ("[mix]\nloudness_lufs = 3\n", r"field 'mix\.loudness_lufs' must be a number from -40 to -6"),
    "unknown top field": ('tempoo = 3\n', r"unknown field 'tempoo'; valid top-level fields are"),
    "unknown table field": ("[tempo]\nbpmm = 100\n", r"unknown field 'tempo\.bpmm'; valid fields of \[tempo\] are min"),
    "bad style": ('style = "polka"\n', r"field 'style' must be one of 'cinematic', 'lofi'"),
    "bad instrument": (
        '[parts.bass]\ninstrument = "tuba"\n',
        r"field 'parts\.bass\.instrument' must be one of .*'sub_bass'",
    ),
    "unknown part": ('[parts.vocals]\ninstrument = "pad"\n', r"unknown part 'parts\.vocals'; valid parts are drums"),
    "bad effect": (
        '[parts.melody]\neffects = { flanger = 0.5 }\n',
        r"unknown effect 'parts\.melody\.effects\.flanger'",
    ),
    "effect amount": (
        '[parts.melody]\neffects = { reverb = 2 }\n',
        r"'parts\.melody\.effects\.reverb' must be a number from 0 to 1",
    ),
    "min over max": ("[tempo]\nmin = 120\nmax = 90\n", r"'tempo\.min' \(120\) must not exceed 'tempo\.max' \(90\)"),
    "bad tonic": ('[key]\ntonic = "H"\n', r"field 'key\.tonic' must be a key name"),
    "bad mode": ('[key]\nmodes = ["major", "locrian"]\n', r"field 'key\.modes' must be a non-empty list from lydian"),
    "bool for number": ("[engine]\nhumanize = true\n", r"field 'engine\.humanize' must be a number"),
    "not toml": ("tempo = [\n", r"bad\.toml: not valid TOML"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_preset_file_names_file_and_field(case: str, tmp_path: Path) -> None:
    text, message = BAD[case]
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(PresetError, match=message) as info:
        read_preset(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_file_is_a_preset_error(tmp_path: Path) -> None:
    with pytest.raises(PresetError, match="preset file not found"):
        load_preset(tmp_path / "gone.toml")


def test_presets_folder_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "only.toml").write_text('title = "Only one"\n')
    monkeypatch.setenv(ENV_DIR, str(tmp_path))
    assert builtin_presets_dir() == tmp_path
    assert [p.name for p in list_presets()] == ["only"]
    assert load_preset("only").title == "Only one"


def test_an_installed_package_ships_the_presets() -> None:
    """The wheel installs presets/*.toml as data files where builtin_presets_dir looks for them."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    data_files = config["tool"]["setuptools"]["data-files"]
    assert data_files["share/expotion/presets"] == ["presets/*.toml"]
    assert builtin_presets_dir() == ROOT / "presets"


def test_schema_effects_match_the_renderer() -> None:
    assert set(EFFECTS) == set(RENDER_EFFECTS)
