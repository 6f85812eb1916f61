"""File ▸ Open Timeline (cuts, markers and timecode from an editor's sequence), its missing media, and Conform."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.fsutil import stale_staging
from studio.session import Session
from studio.timeline.read import read_timeline
from tests.timeline.build import EDITS, SEQUENCE_MARKER, SHOTS, build_timeline, make_shots, write_timeline
from ui.timeline_dialogs import ConformReportDialog, MissingMediaDialog

pytestmark = pytest.mark.slow

FPS = 25.0


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three generated shots (face, disc, a hard cut), 2 s each at 25 fps."""
    return make_shots(tmp_path_factory.mktemp("app_shots"), FPS)


def open_file(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    """The next Open dialog answers ``path``."""
    monkeypatch.setattr("ui.main_window.QFileDialog.getOpenFileName", lambda *a, **k: (str(path), ""))


def test_open_timeline_scores_the_sequence_on_its_cuts_markers_and_timecode(window, qtbot, wait_job, shots,
                                                                          monkeypatch, tmp_path: Path) -> None:
    built = write_timeline(build_timeline(shots, FPS), shots[0].parent, "fcp_xml", FPS)
    open_file(monkeypatch, built.path)
    target = tmp_path / "scene12.expotion"
    monkeypatch.setattr("ui.main_window.QFileDialog.getSaveFileName", lambda *a, **k: (str(target), ""))
    window.act_open_timeline.trigger()
    wait_job(window.jobs.worker, timeout=180_000)
    assert window.jobs.last_error is None
    session = window.session
    assert session.path == target and Session.load(target).timeline is not None
    assert session.timeline.path == built.path.resolve() and session.timecode_start == 3600.0
    assert session.video.is_file() and session.video.parent == tmp_path  # the rendered picture
    assert [m.name for m in session.markers if m.kind == "cue"][:1] == [SEQUENCE_MARKER[0]]
    controls = window.document.controls
    edits = sorted(m.time for m in controls.markers if m.cause == "edit")
    assert edits == pytest.approx([frame / FPS for frame in EDITS], abs=1e-6)  # the edit frames, exactly
    assert controls.duration == pytest.approx(sum(d for _, d in SHOTS) / FPS, abs=1e-6)
    assert window.transport_bar.timecode.text().startswith("01:00:00:")
    assert window.score_panel.generate_button.isEnabled() and not window.act_conform.isEnabled()  # no take yet


def test_missing_media_are_listed_and_nothing_is_opened(window, qtbot, shots, monkeypatch, tmp_path: Path) -> None:
    folder = tmp_path / "cut"
    folder.mkdir()
    for shot in shots[:2]:  # the third shot is not there
        (folder / shot.name).symlink_to(shot)
    built = write_timeline(build_timeline([folder / s.name for s in shots], FPS), folder, "otio_json", FPS)
    worker = window.open_timeline(built.path, tmp_path / "missing.expotion")
    qtbot.waitUntil(worker.is_finished, timeout=60_000)
    dialog = window.findChild(MissingMediaDialog)
    assert dialog is not None and dialog.isVisible()
    assert dialog.missing_names() == [shots[2].name]
    found = [dialog.table.item(r, 2).text() for r in range(dialog.table.rowCount())]
    assert sorted(found[1:]) == sorted(str((folder / s.name).resolve()) for s in shots[:2])
    assert not (tmp_path / "missing.expotion").exists() and window.session.video is None
    dialog.accept()


def test_conform_moves_the_take_onto_the_recut_and_reports(window, qtbot, wait_job, shots, monkeypatch,
                                                            tmp_path: Path) -> None:
    built = write_timeline(build_timeline(shots, FPS), shots[0].parent, "otio_json", FPS)
    wait_job(window.open_timeline(built.path, tmp_path / "a.expotion"), timeout=180_000)
    wait_job(window.generate(), timeout=180_000)
    assert window.jobs.last_error is None and window.act_conform.isEnabled()
    old_take = window.document.records[0]

    recut = build_timeline(shots, FPS)
    del recut.tracks[0][1]  # the second shot removed
    new = write_timeline(recut, tmp_path, "otio_json", FPS)
    new.path.rename(tmp_path / "recut.otio")
    for shot in shots:
        (tmp_path / shot.name).symlink_to(shot)
    output = tmp_path / "a_conform_recut"
    cancelled = window.conform_to(tmp_path / "recut.otio")  # cancelled once the child has made its folder
    qtbot.waitUntil(output.exists, timeout=60_000)
    with qtbot.waitSignal(cancelled.aborted, timeout=60_000):
        cancelled.abort()
    wait_job(cancelled, timeout=60_000)
    assert window.jobs.last_error is None and window.session.path == tmp_path / "a.expotion"
    assert not output.exists() and stale_staging(tmp_path) == []  # neither the folder nor a spool beside it

    open_file(monkeypatch, tmp_path / "recut.otio")
    window.act_conform.trigger()
    wait_job(window.jobs.worker, timeout=300_000)
    assert window.jobs.last_error is None
    qtbot.waitUntil(lambda: window.conform_report is not None, timeout=10_000)

    session = window.session  # the conformed session is open
    recut_timeline = read_timeline(tmp_path / "recut.otio")
    assert session.path.parent == output
    assert stale_staging(session.path.parent) == []  # the conform's spool (inside its folder) is gone
    assert session.timeline.path == (tmp_path / "recut.otio").resolve()
    record = session.chosen()
    assert record.params["conformed_from"] == old_take.id
    qtbot.waitUntil(lambda: window.take_audio.take is not None, timeout=30_000)
    take = window.take_audio.take
    frames = recut_timeline.range_out - recut_timeline.in_frame
    assert take.n_samples == round(frames / FPS * take.sample_rate)  # the recut's length to the sample
    report = window.conform_report
    assert isinstance(report, ConformReportDialog) and report.isVisible()
    text = report.text.toPlainText()
    assert "cut" in text and "kept" in text and "hits:" in text
    assert Session.load(tmp_path / "a.expotion").takes[0].id == old_take.id  # the old session is untouched
