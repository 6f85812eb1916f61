"""The app's parts on their own: Qt runtime sanity, mixdown, peaks, timecode, workers, dialogs, timeline, undo."""

from __future__ import annotations

import sys
import threading
import time

import numpy as np
import pytest
import shiboken6
from PySide6.QtCore import QPoint, QPointF, Qt, QThread
from PySide6.QtGui import QUndoStack, QWheelEvent
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from expotion_engine.errors import Cancelled, VideoError
from expotion_engine.types import Marker, Stem, Take, TempoMap
from studio.session import Session
from studio.timecode import TimecodeRate
from ui.commands import AddMarker, DeleteMarker, MoveMarker, RenameMarker, SetSetting
from ui.document import SessionDocument
from ui.error_dialog import build_error_box, error_summary
from ui.mixdown import MixerState, StemSetting, render_mix
from ui.mixer import MixerPanel
from ui.task_panel import EtaEstimator, TaskPanel, format_eta
from ui.timecode import format_clock, format_timecode, tick_step, ticks
from ui.timeline import HEADER_W, TimelineWidget
from ui.waveform import compute_peaks
from ui.workers import Worker

RATE = 8000


def sine_take() -> Take:
    """Three stems (sines at 220/330/440 Hz); the mix is their sum scaled by 0.5, as a bus would."""
    t = np.arange(RATE * 2) / RATE
    stems = tuple(Stem(name, np.stack([0.3 * np.sin(2 * np.pi * f * t)] * 2))
                  for name, f in (("bass", 220.0), ("pad", 330.0), ("lead", 440.0)))
    mix = 0.5 * sum(s.audio for s in stems)
    return Take("test", RATE, mix, stems, TempoMap.constant(120.0), (), {}, 0)


@pytest.mark.parametrize(("faces", "said"), [(1, "up to 1 face in frame."), (2, "up to 2 faces in frame.")])
def test_analysis_summary_counts_faces_in_words(qtbot, faces: int, said: str) -> None:
    from dataclasses import replace

    from tests.factories import make_control_track
    from ui.analysis_panel import AnalysisPanel

    panel = AnalysisPanel()
    qtbot.addWidget(panel)
    track = make_control_track(4.0)
    panel.show_analysis(replace(track, settings={**track.settings, "max_faces_seen": faces}))
    assert panel.summary.text().endswith(said), panel.summary.text()


def test_pyside_keeps_none_alive(qapp) -> None:
    """PySide6 6.12.0 dropped a reference to None on every void call, aborting Python 3.11 (pinned out)."""
    widget = QWidget()
    before = sys.getrefcount(None)
    for _ in range(2000):
        widget.update()
    assert sys.getrefcount(None) >= before - 50


def test_mixdown_neutral_mute_solo_and_gain() -> None:
    take = sine_take()
    names = [s.name for s in take.stems]
    assert render_mix(take, MixerState()) is take.mix
    muted = render_mix(take, MixerState().with_stem("bass", mute=True))
    np.testing.assert_allclose(muted, 0.5 * (take.stems[1].audio + take.stems[2].audio), atol=1e-6)
    solo = MixerState().with_stem("lead", solo=True)
    assert solo.gains(names) == {"bass": 0.0, "pad": 0.0, "lead": 1.0}
    np.testing.assert_allclose(render_mix(take, solo), 0.5 * take.stems[2].audio, atol=1e-6)
    louder = render_mix(take, MixerState().with_stem("pad", gain_db=6.0))
    expected = 0.5 * (take.stems[0].audio + 10 ** (6 / 20) * take.stems[1].audio + take.stems[2].audio)
    np.testing.assert_allclose(louder, np.clip(expected, -1, 1), atol=1e-6)
    with pytest.raises(ValueError, match="outside"):
        StemSetting(gain_db=40.0)


def test_mixer_strips_report_mute_solo_and_gain(qtbot) -> None:
    take = sine_take()
    panel = MixerPanel()
    qtbot.addWidget(panel)
    panel.set_take(take)
    assert panel.stem_names() == ["bass", "pad", "lead"]
    states = []
    panel.stateChanged.connect(states.append)
    qtbot.mouseClick(panel.solo_button("lead"), Qt.MouseButton.LeftButton)
    panel.gain_slider("pad").setValue(-12)  # half-dB steps
    assert states[0].gains(panel.stem_names()) == {"bass": 0.0, "pad": 0.0, "lead": 1.0}
    assert states[-1].setting("pad").gain_db == -6.0
    panel.set_take(take, states[-1])
    assert panel.solo_button("lead").isChecked() and panel.gain_slider("pad").value() == -12


def test_mixer_meters_colour_a_level_as_the_timeline_lanes_do(qtbot) -> None:
    """0.3 full scale is -10.5 dBFS (amber); 9 dB up it is near clipping (red); 12 dB down it is green (the
    mixer's meters were one colour, while the stem lanes' meters beside them said red)."""
    from ui.mixdown import meter_shade

    take = sine_take()
    panel = MixerPanel()
    qtbot.addWidget(panel)
    panel.set_take(take)
    panel.gain_slider("pad").setValue(18)  # +9 dB
    panel.gain_slider("lead").setValue(-24)  # -12 dB
    panel.set_position(0.5)
    shades = {name: panel.meter(name).property("shade") for name in panel.stem_names()}
    assert shades == {"bass": "#e0b43d", "pad": "#e0533d", "lead": "#4cc46b"}, shades
    assert shades == {name: meter_shade(level) for name, level in panel.levels.items()}  # the timeline's colours


def test_peaks_of_a_known_signal() -> None:
    signal = np.zeros(1000, np.float32)
    signal[250] = 0.8
    signal[760] = -0.6
    peaks = compute_peaks(signal, rate=1000, buckets_per_second=10)
    assert peaks.bucket == 100 and len(peaks.high) == 10 and peaks.duration == pytest.approx(1.0)
    assert peaks.high[2] == pytest.approx(0.8) and peaks.low[7] == pytest.approx(-0.6)
    assert peaks.high[[0, 1, 3, 4, 5, 6, 8, 9]].max() == 0.0


def test_timecode_and_ruler_ticks() -> None:
    assert format_timecode(3661.6, TimecodeRate(25)) == "01:01:01:15"
    assert format_timecode(60.0, TimecodeRate(30, ntsc=True, drop_frame=True)) == "00:00:59;28"  # studio's labels
    assert format_clock(75.25) == "1:15.2"
    assert tick_step(0.01) == 1.0  # 100 px per second: one label a second
    assert ticks(0.9, 3.1, 1.0) == [1.0, 2.0, 3.0]


def test_worker_signals_arrive_on_the_gui_thread(qtbot) -> None:
    seen: list[tuple[str, bool]] = []
    gui = QThread.currentThread()

    def job(x: int, *, progress, cancel) -> int:
        for i in range(5):
            progress(i / 5, f"step {i}")
            time.sleep(0.01)
        return x * 2

    worker = Worker(job, 21)
    for name in ("started", "returned", "finished"):
        getattr(worker, name).connect(lambda *_a, n=name: seen.append((n, QThread.currentThread() is gui)))
    worker.progressed.connect(lambda f, m: seen.append((m, QThread.currentThread() is gui)))
    with qtbot.waitSignal(worker.returned, timeout=5_000) as result:
        worker.start()
    qtbot.waitUntil(worker.is_finished)
    assert result.args == [42]
    assert [n for n, _ in seen][0] == "started" and [n for n, _ in seen][-1] == "finished"
    assert "step 0" in [n for n, _ in seen]
    assert all(on_gui for _, on_gui in seen)


def test_worker_error_abort_and_wait_while_gui_blocked(qtbot) -> None:
    def bad(*, progress, cancel):
        raise VideoError("clip.mp4: not a video file.")

    failing = Worker(bad)
    with qtbot.waitSignal(failing.errored, timeout=5_000) as caught:
        failing.start()
    assert isinstance(caught.args[0], VideoError) and caught.args[0].__traceback__ is not None

    started = threading.Event()

    def patient(*, progress, cancel):
        started.set()
        while not cancel.is_set():
            time.sleep(0.005)
        raise Cancelled("Cancelled by the user.")

    worker = Worker(patient)
    aborted = []
    worker.aborted.connect(lambda: aborted.append(True))
    worker.start()
    assert started.wait(5)
    worker.abort()
    assert worker.wait(2_000)  # the thread ends although this (GUI) thread is blocked in wait()
    qtbot.waitUntil(worker.is_finished)
    assert aborted == [True]


def test_eta_waits_until_it_is_stable() -> None:
    now = [0.0]
    eta = EtaEstimator(clock=lambda: now[0])
    shown = []
    # a slow start (model loading: 10 s for the first 2 %), then 1 % a second
    for t, fraction in ((10.0, 0.02), (11.0, 0.03), (12.0, 0.04), (20.0, 0.12), (30.0, 0.22), (40.0, 0.32),
                        (50.0, 0.42), (60.0, 0.52), (70.0, 0.62), (80.0, 0.72)):
        now[0] = t
        shown.append(eta.estimate(fraction))
    assert shown[:3] == [None, None, None]  # the first estimates (8 min, 6 min, ...) are never shown
    assert shown[-1] == pytest.approx(80.0 * 0.28 / 0.72)
    assert all(s is None or s < 60 for s in shown)
    steady = EtaEstimator(clock=iter([0.0, *range(10, 60, 10)]).__next__)
    assert [steady.estimate(f) for f in (0.1, 0.2, 0.3, 0.4, 0.5)][-1] == pytest.approx(50.0)
    assert format_eta(65) == "about 1 min 05 s left" and "estimating" in format_eta(None)


def test_task_panel_shows_the_stage_and_cancels(qtbot) -> None:
    def job(*, progress, cancel):
        while not cancel.is_set():
            progress(0.5, "generate: rendering parts")
            time.sleep(0.01)
        raise Cancelled("Cancelled by the user.")

    worker = Worker(job)
    panel = TaskPanel(worker, "Generating a take")
    qtbot.addWidget(panel)
    panel.show()
    assert panel.bar.maximum() == 0  # busy, not an empty bar, until the first report
    worker.start()
    qtbot.waitUntil(lambda: panel.bar.value() == 500, timeout=5_000)
    assert panel.stage_label.text() == "Generate: rendering parts" and not panel.isModal()
    qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    assert panel.stage_label.text() == "Cancelling…"
    qtbot.waitUntil(worker.is_finished, timeout=5_000)
    qtbot.waitUntil(lambda: not shiboken6.isValid(panel) or not panel.isVisible(), timeout=5_000)


def test_error_box_has_the_sentence_and_the_details(qtbot) -> None:
    try:
        raise VideoError("clip.mp4: not a video file.")
    except VideoError as exc:
        box = build_error_box("Opening the video", exc)
    qtbot.addWidget(box)
    assert box.text() == "clip.mp4: not a video file."
    assert "Traceback" in box.detailedText() and "VideoError" in box.detailedText()
    assert box.icon() == QMessageBox.Icon.Warning
    assert error_summary(KeyError("x")).startswith("Something went wrong inside Expotion Studio (KeyError")


def test_marker_and_setting_commands_undo_through_the_session(qapp) -> None:
    document = SessionDocument()
    stack = QUndoStack()
    changed = []
    document.markersChanged.connect(lambda: changed.append(True))
    stack.push(AddMarker(document, Marker(1.0, "hit", "user")))
    stack.push(MoveMarker(document, 0, 2.5))
    stack.push(RenameMarker(document, 0, "door"))
    assert document.session.user_markers == (Marker(2.5, "door", "user"),)
    stack.undo()
    stack.undo()
    assert document.session.user_markers == (Marker(1.0, "hit", "user"),)
    stack.push(DeleteMarker(document, 0))
    assert document.session.user_markers == ()
    stack.undo()
    assert len(document.session.user_markers) == 1 and len(changed) == 7
    # consecutive seed steps merge into one undo step; an in point does not merge
    for seed in (1, 2, 3):
        stack.push(SetSetting(document, "seed", seed))
    stack.push(SetSetting(document, "video_in", 0.5))
    stack.push(SetSetting(document, "video_in", 0.75))
    assert document.session.seed == 3 and document.session.video_in == 0.75
    stack.undo()
    assert document.session.video_in == 0.5
    stack.undo()
    stack.undo()
    assert document.session.seed == 0 and document.session.video_in == 0.0
    assert isinstance(document.session, Session)


def test_timeline_zoom_and_marker_hit_testing(qtbot) -> None:
    timeline = TimelineWidget()
    qtbot.addWidget(timeline)
    timeline.resize(1000, timeline.sizeHint().height())
    timeline.show()
    timeline.set_duration(10.0)
    timeline.set_range(0.0, 10.0)
    timeline.set_user_markers([Marker(4.0, "a"), Marker(6.0, "b")])
    assert timeline.x_to_time(timeline.time_to_x(3.3)) == pytest.approx(3.3)
    assert timeline.time_to_x(0.0) == HEADER_W
    picked = []
    timeline.markerSelected.connect(picked.append)
    qtbot.mousePress(timeline, Qt.MouseButton.LeftButton, pos=QPoint(round(timeline.user_marker_x(1)) + 2, 50))
    assert picked == [1]
    seeks = []
    timeline.seekRequested.connect(seeks.append)
    qtbot.mousePress(timeline, Qt.MouseButton.LeftButton, pos=QPoint(round(timeline.time_to_x(2.0)), 50))
    assert seeks and seeks[-1] == pytest.approx(2.0, abs=0.02)
    x = timeline.time_to_x(5.0)
    wheel = QWheelEvent(QPointF(x, 50), QPointF(x, 50), QPoint(0, 0), QPoint(0, 360), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.ControlModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(timeline, wheel)
    assert timeline.x_to_time(x) == pytest.approx(5.0, abs=0.01)  # zoomed around the pointer
    assert timeline.x_to_time(timeline.width()) - timeline.x_to_time(HEADER_W) == pytest.approx(10 * 0.8**3, rel=1e-3)


def test_clock_errors_name_no_command_line_option() -> None:
    from studio.clock import sender
    from ui.jobs import CLOCK_CURE, clock_error_for_app

    studio_error = sender._no_output_error("alsa", OSError("ALSA sequencer not found"))
    assert "--api" in str(studio_error)  # the CLI's wording
    shown = clock_error_for_app(studio_error)
    assert "--" not in str(shown) and str(shown).endswith(CLOCK_CURE)
    assert str(shown).startswith("No MIDI output is available through the alsa MIDI API (ALSA sequencer not found).")
    assert type(shown) is type(studio_error)
    plain = VideoError("clip.mp4: not a video file.")
    assert clock_error_for_app(plain) is plain


def test_transport_icons_are_drawn_in_the_text_colour(qtbot) -> None:
    from PySide6.QtCore import QSize
    from PySide6.QtGui import QColor, QImage
    from PySide6.QtWidgets import QStyle

    from ui.theme import TEXT, tinted_icon

    grey = QApplication.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay)
    image = tinted_icon(grey).pixmap(QSize(20, 20)).toImage().convertToFormat(QImage.Format.Format_ARGB32)
    opaque = [image.pixelColor(x, y) for x in range(image.width()) for y in range(image.height())
              if image.pixelColor(x, y).alpha() > 200]
    text = QColor(TEXT)
    assert opaque and all(max(abs(c.red() - text.red()), abs(c.green() - text.green()), abs(c.blue() - text.blue()))
                          <= 2 for c in opaque)  # premultiplied edges round by a step or two


def test_mixer_meters_show_each_stem_at_its_gain(qtbot) -> None:
    take = sine_take()
    panel = MixerPanel()
    qtbot.addWidget(panel)
    panel.set_take(take)
    panel.set_position(0.5)
    peak = 20 * np.log10(0.3)  # every stem is a 0.3 sine: -10.5 dBFS
    assert [panel.meter(n).value() for n in panel.stem_names()] == [round(peak * 10)] * 3
    qtbot.mouseClick(panel.mute_button("bass"), Qt.MouseButton.LeftButton)
    panel.gain_slider("lead").setValue(12)  # +6 dB
    assert panel.meter("bass").value() == panel.meter("bass").minimum()
    assert panel.meter("lead").value() == round((peak + 6.0) * 10)
    assert panel.meter("pad").value() == round(peak * 10)
