"""The Export dialog proposes the folder the CLI delivers into for the same session (``OUT/delivery`` beside the
session file), or the folder of the session's last delivery, so re-exporting updates that delivery in place."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from studio.cli import main
from studio.demo.scenarios import Clip
from studio.export.manifest import read_manifest
from studio.session import Session
from ui.export_dialog import ExportDialog, default_folder


@pytest.fixture(scope="module")
def cli_scored(tmp_path_factory: pytest.TempPathFactory, face_clip: Clip) -> Path:
    """``expotion score`` of 2 s of the face clip with a MIDI and markers delivery; the session file."""
    out = tmp_path_factory.mktemp("cli") / "out"
    assert main(["score", str(face_clip.path), "-o", str(out), "--start", "1.0", "--end", "3.0",
                 "--format", "midi", "markers"]) == 0
    return out / "face.expotion"


@pytest.fixture
def cli_copy(cli_scored: Path, tmp_path: Path) -> Path:
    """A private copy of the CLI's output folder; its session file."""
    shutil.copytree(cli_scored.parent, tmp_path / "out")
    return tmp_path / "out" / cli_scored.name


@pytest.mark.slow
def test_the_app_re_exports_a_cli_session_into_its_delivery_in_place(window, qtbot, wait_job, cli_copy: Path) -> None:
    out = cli_copy.parent
    window.open_session(cli_copy)
    qtbot.waitUntil(lambda: not window.jobs.busy and window.take_audio.current_path is not None, timeout=30_000)
    window.open_export_dialog()
    dialog = window.findChild(ExportDialog)
    assert dialog is not None and Path(dialog.folder.text()) == out / "delivery"
    for name, box in dialog.format_boxes.items():
        box.setChecked(name in ("midi", "audio"))
    dialog.open_folder.setChecked(False)
    asked: list[Path] = []
    window.ask_overwrite = lambda folder: asked.append(folder) or True
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    wait_job(window.jobs.worker)
    assert window.jobs.last_error is None and asked == [out / "delivery"]
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["delivery", "stems"]  # no second delivery folder
    manifest = read_manifest(out / "delivery")
    assert manifest is not None and {"midi", "audio", "markers"} <= set(manifest.files)  # the same take: joined


def test_the_last_delivery_of_the_session_is_proposed_again(cli_copy: Path) -> None:
    out = cli_copy.parent
    assert default_folder(Session.load(cli_copy)) == out / "delivery"
    assert main(["export", str(cli_copy), "-o", str(out / "face_delivery"), "--format", "midi"]) == 0
    assert default_folder(Session.load(cli_copy)) == out / "face_delivery"  # the newer of its two deliveries


def test_a_delivery_folder_of_another_session_is_left_alone(cli_copy: Path, tmp_path: Path) -> None:
    other = Session.load(cli_copy)
    other.title = "other"
    other.path = cli_copy.with_name("other.expotion")
    assert default_folder(other) == cli_copy.parent / "other_delivery"  # delivery/ holds face's delivery
    (tmp_path / "fresh").mkdir()
    other.path = tmp_path / "fresh" / "other.expotion"
    assert default_folder(other) == tmp_path / "fresh" / "delivery"
