"""Plugins run native code (issue 13 item 2): only approved folders are opened, and scanning happens in a child.

The "plugin" is a VST3 bundle whose shared object has a constructor that writes a marker
file (and, for the crashing one, then aborts), built here with the C compiler.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from expotion_engine.engines.procedural.render.plugin import load_instrument
from expotion_engine.engines.procedural.score import Part
from expotion_engine.errors import EngineError, PresetError
from expotion_engine.types import Note
from studio.pipeline import preset_table
from studio.presets import read_preset
from studio.session import Session

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="builds a Linux VST3 bundle")

_SOURCE = r"""
#include <stdio.h>
#include <stdlib.h>
__attribute__((constructor)) static void run_at_load(void) {
    FILE *f = fopen(MARKER, "w");
    if (f) { fputs("native code ran\n", f); fclose(f); }
#ifdef CRASH
    abort();
#endif
}
"""


def _bundle(folder: Path, name: str, marker: Path, crash: bool = False) -> Path:
    """``folder/<name>.vst3``: a Linux VST3 bundle layout around a shared object with a constructor."""
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        pytest.skip("no C compiler to build a shared object with a constructor")
    source = folder.parent / f"{name}.c"
    source.write_text(_SOURCE)
    binary = folder / f"{name}.vst3" / "Contents" / "x86_64-linux" / f"{name}.so"
    binary.parent.mkdir(parents=True)
    flags = [f'-DMARKER="{marker}"'] + (["-DCRASH"] if crash else [])
    subprocess.run([compiler, "-shared", "-fPIC", *flags, "-o", str(binary), str(source)], check=True, timeout=60)
    return folder / f"{name}.vst3"


@pytest.fixture(autouse=True)
def _no_approved_folders_but_the_tests(tmp_path, monkeypatch) -> None:
    """Standard folders under an empty home, no user configuration, no EXPOTION_PLUGIN_PATH."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("EXPOTION_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv("EXPOTION_PLUGIN_PATH", raising=False)


def _part(path: Path | str) -> Part:
    return Part("harmony", "pad", (Note(60, 0.0, 0.5, 100),), plugin=str(path))


def _downloads(tmp_path: Path) -> Path:
    folder = tmp_path / "Downloads"
    folder.mkdir()
    return folder


def test_a_plugin_outside_the_approved_folders_is_refused_before_it_runs(tmp_path) -> None:
    marker = tmp_path / "ran.txt"
    evil = _bundle(_downloads(tmp_path), "Evil", marker)
    with pytest.raises(EngineError, match="not in an approved plugin folder") as caught:
        load_instrument(_part(evil))
    assert not marker.exists(), "the plugin's native code ran"
    assert "'harmony'" in str(caught.value) and "EXPOTION_PLUGIN_PATH" in str(caught.value)


@pytest.mark.parametrize("trick", ["dotdot", "relative"])
def test_paths_that_climb_out_of_an_approved_folder_are_refused(trick, tmp_path) -> None:
    marker = tmp_path / "ran.txt"
    evil = _bundle(_downloads(tmp_path), "Evil", marker)
    (tmp_path / "home" / ".vst3").mkdir(parents=True)
    path = tmp_path / "home" / ".vst3" / ".." / ".." / "Downloads" / "Evil.vst3" if trick == "dotdot" else \
        Path("Downloads") / "Evil.vst3"
    with pytest.raises(EngineError, match="absolute path without '..'"):
        load_instrument(_part(path))
    assert evil.exists() and not marker.exists()


def test_a_preset_naming_such_a_plugin_is_refused_when_read(tmp_path) -> None:
    marker = tmp_path / "ran.txt"
    evil = _bundle(_downloads(tmp_path), "Evil", marker)
    preset = tmp_path / "shared.toml"
    preset.write_text(f'prompt = "warm"\n[parts.harmony]\nplugin = "{evil}"\n')
    with pytest.raises(PresetError, match="not in an approved plugin folder") as caught:
        read_preset(preset)
    assert str(preset) in str(caught.value) and not marker.exists()


def test_a_session_naming_that_preset_is_refused_before_generation(tmp_path) -> None:
    marker = tmp_path / "ran.txt"
    evil = _bundle(_downloads(tmp_path), "Evil", marker)
    preset = tmp_path / "shared.toml"
    preset.write_text(f'prompt = "warm"\n[parts.harmony]\nplugin = "{evil}"\n')
    session_file = tmp_path / "film.expotion"
    session = Session()
    session.preset = str(preset)
    session.save(session_file)
    with pytest.raises(PresetError, match="not in an approved plugin folder"):
        preset_table(Session.load(session_file).preset)
    assert not marker.exists()


def test_a_plugin_that_crashes_while_loading_does_not_kill_the_app(tmp_path, monkeypatch) -> None:
    approved = tmp_path / "my-plugins"
    approved.mkdir()
    marker = tmp_path / "crashed.txt"
    crasher = _bundle(approved, "Crasher", marker, crash=True)
    monkeypatch.setenv("EXPOTION_PLUGIN_PATH", str(approved))
    with pytest.raises(EngineError, match="crashed while being scanned in a separate process") as caught:
        load_instrument(_part(crasher))
    assert marker.exists(), "the approved plugin was scanned (its code ran, in the child)"
    assert "SIGABRT" in str(caught.value) and "\n" not in str(caught.value)


def test_a_plugin_in_a_folder_approved_in_the_config_file_is_scanned(tmp_path) -> None:
    approved = tmp_path / "studio-plugins"
    approved.mkdir()
    marker = tmp_path / "scanned.txt"
    fake = _bundle(approved, "NotReally", marker)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.toml").write_text(f'[plugins]\nfolders = ["{approved}"]\n')
    with pytest.raises(EngineError, match="could not be loaded as a VST3/AU instrument plugin"):
        load_instrument(_part(fake))
    assert marker.exists(), "an approved folder's plugin is opened (in the scanning process)"


def test_a_plugin_in_the_standard_user_folder_is_accepted_for_scanning(tmp_path) -> None:
    from expotion_engine.engines.procedural.render.plugin_folders import standard_folders

    standard = standard_folders()[0]
    assert standard.is_relative_to(tmp_path / "home")
    standard.mkdir(parents=True)
    marker = tmp_path / "scanned.txt"
    fake = _bundle(standard, "Fake", marker)
    with pytest.raises(EngineError, match="could not be loaded"):
        load_instrument(_part(fake))
    assert marker.exists()


def test_expotion_score_with_such_a_preset_stops_before_analysis(face_clip, tmp_path, capsys) -> None:
    from studio.cli import main

    marker = tmp_path / "ran.txt"
    evil = _bundle(_downloads(tmp_path), "Evil", marker)
    preset = tmp_path / "shared.toml"
    preset.write_text(f'prompt = "warm"\n[parts.harmony]\nplugin = "{evil}"\n')
    out = tmp_path / "out"
    assert main(["score", str(face_clip.path), "--preset", str(preset), "-o", str(out)]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and "not in an approved plugin folder" in lines[0], lines
    assert not marker.exists() and not out.exists()
