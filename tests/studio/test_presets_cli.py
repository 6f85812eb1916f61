"""``expotion presets``: one line per preset file, its JSON for scripts, a bad file reported and left out.

Expected values are read from the preset files here with :mod:`tomllib`, not from the loader.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

from studio.cli import main
from studio.presets import builtin_presets_dir


def _files(folder: Path) -> dict[str, dict]:
    return {path.stem: tomllib.loads(path.read_text()) for path in sorted(folder.glob("*.toml"))}


def test_one_line_per_builtin_preset_with_its_style_tempo_and_description(capsys) -> None:
    files = _files(builtin_presets_dir())
    assert {"cinematic", "piano-solo", "orchestral-tension"} <= set(files)
    assert main(["presets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == sorted(files)
    for line, data in zip(lines, [files[name] for name in sorted(files)], strict=True):
        assert line.split()[1] == data["style"], line
        assert f"{data['tempo']['min']:g}-{data['tempo']['max']:g} BPM" in line, line
        assert line.endswith(data["description"]), line


def test_json_lists_every_preset_with_its_tempo_prompt_and_voices(capsys) -> None:
    files = _files(builtin_presets_dir())
    assert main(["presets", "--json"]) == 0
    listed = {entry["name"]: entry for entry in json.loads(capsys.readouterr().out)}
    assert list(listed) == sorted(files)
    for name, data in files.items():
        entry = listed[name]
        assert entry["engine"] == "procedural" and entry["style"] == data["style"]
        assert (entry["tempo"]["min"], entry["tempo"]["max"]) == (data["tempo"]["min"], data["tempo"]["max"])
        assert entry["prompt"] == data["prompt"] and entry["description"] == data["description"]
        assert Path(entry["path"]).name == f"{name}.toml"
    assert listed["cinematic"]["parts"]["harmony"] == {"instrument": "strings", "voice": "sampled"}
    assert listed["cinematic"]["parts"]["bass"]["voice"] == "synth"


def test_a_user_folder_shows_a_fixed_tempo_and_reports_a_broken_file(tmp_path, monkeypatch, capfd) -> None:
    (tmp_path / "steady.toml").write_text('description = "One tempo."\nprompt = "steady"\nstyle = "pop"\n'
                                          "[tempo]\nbpm = 96\n")
    (tmp_path / "broken.toml").write_text("description = \n")
    monkeypatch.setenv("EXPOTION_PRESETS_DIR", str(tmp_path))
    assert main(["presets"]) == 1
    captured = capfd.readouterr()
    assert captured.out.splitlines() == ["steady  pop  96 BPM  One tempo."]
    warnings = captured.err.splitlines()
    assert len(warnings) == 1 and "broken.toml" in warnings[0] and warnings[0].startswith("expotion: warning: ")


def test_a_missing_preset_folder_is_one_sentence(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("EXPOTION_PRESETS_DIR", str(tmp_path / "nowhere"))
    assert main(["presets"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("expotion: error: ") and "nowhere: preset folder not found" in err and "\n" not in err


def test_the_commands_parser_and_help_do_not_load_presets_or_the_renderer() -> None:
    argv = ["presets", "--help"]
    code = (f"import sys\nfrom studio.cli import get_parser\ntry:\n    get_parser({argv!r}).parse_args({argv!r})\n"
            "except SystemExit:\n    pass\n"
            "print(any(m in sys.modules for m in ('studio.presets', 'expotion_engine.engines.procedural.render')))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip().splitlines()[-1] == "False"
