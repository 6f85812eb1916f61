"""Mixer strips are saved with the take in the session, named in the export dialog and drive the export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from studio.session import Session
from ui.export_dialog import ExportDialog
from ui.mixdown import MixerState, render_mix

pytestmark = pytest.mark.slow


def test_mixer_state_is_saved_named_and_exported(loaded, qtbot, wait_job, session_copy: Path,
                                                 tmp_path: Path) -> None:
    window = loaded
    take = window.take_audio.take
    names = [s.name for s in take.stems]
    muted = names[0]
    qtbot.mouseClick(window.takes_panel.mixer.mute_button(muted), Qt.MouseButton.LeftButton)
    assert "•" in window.windowTitle()
    qtbot.keyClick(window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    saved = Session.load(session_copy)
    assert saved.take("take-002").params["mixer"] == {muted: {"gain_db": 0.0, "mute": True, "solo": False}}
    assert "mixer" not in saved.take("take-001").params

    window.open_export_dialog()
    dialog = window.findChild(ExportDialog)
    text = dialog.take_label.text()
    assert "take-002" in text and f"uses the mixer: {muted} off" in text
    dialog.close()

    out = tmp_path / "delivery"
    wait_job(window.export(out, ("audio",), 48000, 24, open_folder=False))
    assert window.jobs.last_error is None
    wavs = sorted(p.name for p in out.rglob("*.wav"))
    assert not any(n.lower().endswith(f"_{muted}.wav".lower()) for n in wavs)
    assert all(any(n.lower().endswith(f"_{s}.wav".lower()) for n in wavs) for s in names[1:])
    mix_path = next(p for p in out.rglob("*.wav") if "mix" in p.name.lower())
    exported, rate = sf.read(mix_path, dtype="float32", always_2d=True)
    expected = render_mix(take, MixerState().with_stem(muted, mute=True))
    assert rate == take.sample_rate == 48000
    np.testing.assert_allclose(exported.T, expected, atol=2.0 / 2**23 * 4)
    assert not np.allclose(exported.T, take.mix, atol=1e-3)

    # reopened, the strip is still muted and the take still plays without it
    window.open_session(session_copy)
    qtbot.waitUntil(lambda: window.take_audio.take is not None and not window.jobs.busy, timeout=30_000)
    assert window.takes_panel.mixer.mute_button(muted).isChecked()


def test_takes_list_shows_what_each_take_was_made_with(loaded, qtbot) -> None:
    window = loaded
    qtbot.waitUntil(lambda: all(window.document.take(r.id) is not None for r in window.document.records),
                    timeout=20_000)
    texts = [window.takes_panel.list.item(i).text() for i in range(window.takes_panel.list.count())]
    assert all("procedural" in t and "BPM" in t and "stems" in t for t in texts), texts
    for text, record in zip(texts, window.document.records, strict=True):
        bpms = [change.bpm for change in window.document.take(record.id).tempo_map.tempos]
        tempo = f"{min(bpms):.0f}–{max(bpms):.0f}" if round(min(bpms)) != round(max(bpms)) else \
            f"{round(bpms[0], 1):g}"
        assert f"{tempo}\u00a0BPM" in text, text  # a take whose tempo changes shows its range, not its first tempo
    # a wrapped line never parts a number from its word ("seed" at a line's end, "0" on the next)
    assert "seed\u00a01" in texts[0] and "seed\u00a02" in texts[1] and all("\u00a0stems" in t for t in texts)
    assert all(window.peaks.get(r.id) is not None for r in window.document.records)


def test_opening_a_session_with_takes_does_not_ask_for_a_first_take(window, qtbot, session_copy) -> None:
    said: list[str] = []
    window.statusBar().messageChanged.connect(said.append)
    window.open_session(session_copy)
    qtbot.waitUntil(lambda: not window.jobs.busy and window.document.controls is not None, timeout=30_000)
    assert any(m.startswith("Analysed ") and m.endswith("; 2 takes in the Takes tab; Generate makes another.")
               for m in said), said
    assert not any("press Generate" in m for m in said), said


def test_a_take_that_cannot_be_read_is_named_in_its_lane(window, qtbot, session_copy) -> None:
    chosen = Session.load(session_copy)
    (chosen.take(chosen.chosen_take).folder / "mix.wav").unlink()
    window.open_session(session_copy)
    box = None

    def error_shown() -> bool:
        nonlocal box
        box = next((w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()), None)
        return box is not None

    qtbot.waitUntil(error_shown, timeout=30_000)
    assert "mix.wav" in box.text()
    box.close()
    qtbot.waitUntil(lambda: not window.jobs.busy, timeout=30_000)
    assert not window.timeline.has_waveform()
    assert window.timeline.take_note == (f"{chosen.chosen_take} cannot be read (see the error); choose another take "
                                         "or press Generate")  # not "No take yet" with a take chosen


def test_meters_follow_the_playhead(loaded, qtbot) -> None:
    from ui.mixdown import stem_levels

    window = loaded
    take = window.take_audio.take
    window.transport.seek(window.session.video_in + 2.0)
    expected = stem_levels(take, window.takes_panel.mixer.state, 2.0)
    shown = {n: window.takes_panel.mixer.meter(n).value() / 10 for n in window.takes_panel.mixer.stem_names()}
    assert shown == {n: pytest.approx(v, abs=0.05) for n, v in expected.items()}
    assert max(shown.values()) > -40  # the take is playing music there, not silence


def test_marker_colour_from_the_timeline_menu_reaches_the_export(loaded, qtbot, wait_job, tmp_path: Path) -> None:
    import zipfile
    from xml.etree import ElementTree as ET

    from PySide6.QtCore import QPoint
    from PySide6.QtWidgets import QMenu

    from ui.timeline import BEATS_H, RULER_H

    window = loaded
    timeline = window.timeline
    qtbot.mouseClick(timeline, Qt.MouseButton.RightButton, pos=QPoint(round(timeline.user_marker_x(0)),
                                                                        RULER_H + BEATS_H + 8))
    colours = next(m for m in timeline.findChildren(QMenu) if m.title() == "Colour")
    next(a for a in colours.actions() if a.text() == "Red").trigger()
    colours.parent().close()
    assert window.session.user_markers[0].color == "#e03c31"
    window.undo_stack.undo()
    assert window.session.user_markers[0].color is None
    window.undo_stack.redo()
    out = tmp_path / "delivery"
    wait_job(window.export(out, ("dawproject",), 48000, 24, open_folder=False))
    assert window.jobs.last_error is None
    with zipfile.ZipFile(next(out.rglob("*.dawproject"))) as archive:
        project = ET.fromstring(archive.read("project.xml"))
    door = [m for m in project.iter("Marker") if m.get("name") == "door"]
    assert len(door) == 1 and door[0].get("color") == "#e03c31"


def test_marker_comment_is_undoable_saved_and_exported(loaded, qtbot, wait_job, session_copy: Path,
                                                        tmp_path: Path, monkeypatch) -> None:
    import csv
    import zipfile
    from xml.etree import ElementTree as ET

    import opentimelineio as otio

    window = loaded
    note = "Door slams: hold the strings\nthen stab"
    monkeypatch.setattr("ui.main_window.QInputDialog.getMultiLineText", lambda *a, **k: (note, True))
    window.timeline.select_marker(0)
    qtbot.keyClick(window, Qt.Key.Key_F2, Qt.KeyboardModifier.ShiftModifier)
    assert window.session.user_markers[0].comment == note
    assert note in window.timeline.marker_text(0)
    window.undo_stack.undo()
    assert window.session.user_markers[0].comment == ""
    window.undo_stack.redo()
    qtbot.keyClick(window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert Session.load(session_copy).user_markers[0].comment == note

    out = tmp_path / "delivery"
    wait_job(window.export(out, ("markers", "dawproject", "otio"), 48000, 24, open_folder=False))
    assert window.jobs.last_error is None
    with open(next(out.rglob("*_markers.csv")), newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["Marker Name"] == "door"]
    assert [r["Description"] for r in rows] == [note]
    with zipfile.ZipFile(next(out.rglob("*.dawproject"))) as archive:
        project = ET.fromstring(archive.read("project.xml"))
    assert [m.get("comment") for m in project.iter("Marker") if m.get("name") == "door"] == [note]
    timeline = otio.adapters.read_from_file(str(next(out.rglob("*.otio"))))
    comments = [m.comment for m in timeline.tracks.find_children(descended_from_type=otio.schema.Marker)
                if m.name == "door"] + [m.comment for m in timeline.tracks.markers if m.name == "door"]
    assert comments == [note]
