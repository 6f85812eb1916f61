"""The Expotion Studio main window: picture and transport, the timeline, and the side panels.

It shows a :class:`~ui.document.SessionDocument` and asks ``studio`` to act: analysis,
generation and export run on worker threads (:mod:`ui.jobs`) with a task panel in the status bar
(never modal: playing, marking and editing go on);
marker and setting edits go through a QUndoStack; errors appear as dialogs.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import shiboken6
from PySide6.QtCore import QSettings, Qt, QTimer, QUrl, Slot
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QDragEnterEvent, QDropEvent, QKeySequence, QUndoStack
from PySide6.QtMultimedia import QMediaDevices
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollBar,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from expotion_engine.errors import ExpotionError
from expotion_engine.progress import CancelEvent, ProgressFn
from expotion_engine.types import ControlTrack, Marker, Take
from studio.preview import PREVIEW_NAME, kept_sentence
from studio.session import SESSION_SUFFIX, Session, TakeRecord, autosave_path, find_autosave
from studio.timecode import RateChoice, TimecodeError, choose_rate, parse_timecode
from ui import jobs
from ui.analysis_panel import AnalysisPanel
from ui.commands import AddMarker, CommentMarker, DeleteMarker, MoveMarker, RecolorMarker, RenameMarker, SetSetting
from ui.document import SessionDocument
from ui.engines import PROCEDURAL, EngineChoice, availability_summary, engine_choices
from ui.error_dialog import show_error
from ui.mixdown import MixerState
from ui.score_panel import ScorePanel
from ui.take_audio import TakeAudio
from ui.takes_panel import TakeRow, TakesPanel, tempo_label
from ui.timecode import format_timecode
from ui.timecode_panel import TimecodePanel
from ui.timeline import TimelineWidget
from ui.transport import Transport
from ui.transport_bar import TransportBar
from ui.video_view import VIDEO_SUFFIXES, VideoView, dropped_path
from ui.waveform import Peaks

log = logging.getLogger(__name__)

APP_NAME = "Expotion Studio"
MAX_RECENT = 8
AUTOSAVE_MS = 60_000
VIDEO_FILTER = "Videos (" + " ".join(f"*{s}" for s in VIDEO_SUFFIXES) + ")"
SESSION_FILTER = f"Expotion sessions (*{SESSION_SUFFIX})"
#: the title of the generation job (its task panel; the take lane says it while no take is drawn)
GENERATING = "Generating a take"
TIMELINE_FILTER = "Editor timelines (*.otio *.xml *.fcpxml *.edl)"


def take_start(take: Take, fallback: float) -> float:
    """Video time (s) of the take's music time 0: the in point of the analysis it was made from."""
    source = take.request.get("controls", {}).get("source", {}) if isinstance(take.request, dict) else {}
    try:
        return float(source["start"])
    except (KeyError, TypeError, ValueError):
        return fallback


def new_video_session(video: Path, *, progress: ProgressFn, cancel: CancelEvent) -> tuple[Session, str]:
    """A new session for ``video`` that starts at the timecode the file carries, and the sentence saying which."""
    session = jobs.new_session(video, progress=progress, cancel=cancel)
    return session, session.use_video_timecode()


class MainWindow(QMainWindow):
    """One window, one session."""

    def __init__(self, settings: QSettings | None = None, autosave_ms: int = AUTOSAVE_MS) -> None:
        super().__init__()
        self.settings = settings or QSettings("Expotion", APP_NAME)
        self.document = SessionDocument(self)
        self.undo_stack = QUndoStack(self)
        self.jobs = jobs.JobRunner(self)
        self.clock = jobs.ClockRunner(self)
        self.peaks: dict[str, Peaks] = {}
        self.stem_peaks: dict[str, dict[str, Peaks]] = {}
        self._unreadable: set[Path] = set()  # folders of takes whose audio could not be read
        self.mixer_states: dict[str, MixerState] = {}
        self.ab_slots: dict[str, int | None] = {"A": None, "B": None}
        self.conform_report = None  # the last conform's report dialog

        self.video_view = VideoView()
        self.transport = Transport(self.video_view.video_item, self)
        self.transport_bar = TransportBar(self.transport)
        self.take_audio = TakeAudio(self.transport, self)
        self.timeline = TimelineWidget()
        self.analysis_panel = AnalysisPanel()
        self.score_panel = ScorePanel()
        self.takes_panel = TakesPanel()
        self.timecode_panel = TimecodePanel()
        self.side = QTabWidget()
        self.side.addTab(self.analysis_panel, "Analysis")
        self.side.addTab(self.score_panel, "Score")
        self.side.addTab(self.takes_panel, "Takes")
        self.side.addTab(self.timecode_panel, "Session")
        self.side.setMinimumWidth(330)

        picture = QWidget()
        picture_layout = QVBoxLayout(picture)
        picture_layout.setContentsMargins(0, 0, 0, 0)
        picture_layout.setSpacing(0)
        picture_layout.addWidget(self.video_view, 1)
        picture_layout.addWidget(self.transport_bar)
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(picture)
        top.addWidget(self.side)
        top.setStretchFactor(0, 3)
        top.setStretchFactor(1, 1)
        main = QSplitter(Qt.Orientation.Vertical)
        main.addWidget(top)
        self.timeline_scroll = QScrollBar(Qt.Orientation.Horizontal)
        self.timeline_scroll.setToolTip("Scroll the zoomed timeline (= and - zoom, \\ shows all)")
        timeline_box = QWidget()
        timeline_layout = QVBoxLayout(timeline_box)
        timeline_layout.setContentsMargins(0, 0, 0, 0)
        timeline_layout.setSpacing(0)
        timeline_layout.addWidget(self.timeline)
        timeline_layout.addWidget(self.timeline_scroll)
        main.addWidget(timeline_box)
        main.setStretchFactor(0, 1)
        main.setCollapsible(1, False)
        self.setCentralWidget(main)
        self.setAcceptDrops(True)
        self.resize(1280, 820)
        self._splitters = {"top": top, "main": main}
        self.audio_warning = QLabel("No audio output: playback is silent")
        self.audio_warning.setObjectName("warning")
        self.audio_warning.setToolTip("No sound device was found; connect or enable one, then restart the app.")
        self.statusBar().addPermanentWidget(self.audio_warning)
        self.audio_warning.setVisible(not QMediaDevices.audioOutputs())

        self._build_actions()
        self._connect()
        self.score_panel.set_engines([PROCEDURAL])
        self.score_panel.set_presets(jobs.preset_infos())
        self._list_engines()
        self._autosave = QTimer(self)
        self._autosave.setInterval(autosave_ms)
        self._autosave.timeout.connect(self.autosave)
        self._autosave.start()
        self._restore_layout()
        self._show_session()

    # ------------------------------------------------------------------ actions and menus

    def _action(self, text: str, slot, shortcut: QKeySequence | str | None = None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
        action.triggered.connect(slot)
        self.addAction(action)  # shortcuts work even when the menu bar is hidden
        return action

    def _build_actions(self) -> None:
        a = self._action
        self.act_open_video = a("Open &Video…", self.choose_video, "Ctrl+O")
        self.act_open_session = a("Open &Session…", self.choose_session, "Ctrl+Shift+O")
        self.act_open_timeline = a("Open &Timeline…", self.choose_timeline, "Ctrl+Alt+O",
                                   "Score an editor's sequence (.otio, FCP 7 XML, FCPXML, EDL): its cuts, markers "
                                   "and timecode")
        self.act_conform = a("&Conform to New Timeline…", self.choose_conform_timeline, None,
                             "Move the chosen take onto a recut of the sequence this session was scored from")
        self.act_save = a("&Save Session", self.save, "Ctrl+S")
        self.act_save_as = a("Save Session &As…", self.save_as, "Ctrl+Shift+S")
        self.act_export = a("&Export…", self.open_export_dialog, "Ctrl+E", "Write stems, MIDI, markers and projects")
        self.act_quit = a("&Quit", self.close, "Ctrl+Q")
        self.act_undo = self.undo_stack.createUndoAction(self, "&Undo")
        # explicit keys, never StandardKey: the platform lists differ (X11's Redo already holds Ctrl+Shift+Z,
        # so adding it again made the shortcut ambiguous there) and offscreen tests would see other keys
        self.act_undo.setShortcut(QKeySequence("Ctrl+Z"))
        self.act_redo = self.undo_stack.createRedoAction(self, "&Redo")
        self.act_redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.act_undo.setProperty("command", "Undo")
        self.act_redo.setProperty("command", "Redo")
        self.addActions([self.act_undo, self.act_redo])
        self.act_add_marker = a("Add &Marker at Playhead", self.add_marker_at_playhead, "M")
        self.act_rename_marker = a("Rename Marker…", self.rename_selected_marker, "F2")
        self.act_comment_marker = a("Comment on Marker…", self.comment_selected_marker, "Shift+F2",
                                    "A note on the selected marker, saved in the session and exported where "
                                    "formats have comments")
        self.act_delete_marker = a("Delete Marker", self.delete_selected_marker, "Delete")
        self.act_play = a("Play / Pause", self.transport.toggle, "Space")
        self.act_back = a("Play Backward (J)", self.transport.shuttle_backward, "J")
        self.act_pause = a("Pause (K)", self.transport.pause, "K")
        self.act_forward = a("Play Forward (L)", self.transport.shuttle_forward, "L")
        self.act_in = a("Set &In Point", self.set_in_at_playhead, "I")
        self.act_out = a("Set &Out Point", self.set_out_at_playhead, "O")
        self.act_clear_range = a("Clear In/Out", self.clear_range, "Alt+X")
        self.act_prev = a("Previous Frame", lambda: self.transport.step_frames(-1), "Left")
        self.act_next = a("Next Frame", lambda: self.transport.step_frames(1), "Right")
        self.act_prev10 = a("Back 10 Frames", lambda: self.transport.step_frames(-10), "Shift+Left")
        self.act_next10 = a("Forward 10 Frames", lambda: self.transport.step_frames(10), "Shift+Right")
        self.act_home = a("Go to In Point", self.transport_bar._go_in, "Home")
        self.act_end = a("Go to Out Point", self.transport_bar._go_out, "End")
        self.act_goto = a("&Go to Timecode…", self.ask_go_to_timecode, "Ctrl+T",
                          "Type a timecode (HH:MM:SS:FF) or seconds and move the playhead there")
        self.act_analyse = a("&Analyse Video", self.analyse, "Ctrl+R")
        self.act_generate = a("&Generate Take", self.generate, "Ctrl+G")
        self.act_ab = a("Switch A ⇄ B", self.toggle_ab, "T")
        self.act_preview = a("&Preview While Generating", self._set_preview, None,
                             "Play a take's first seconds while the rest is made (preview.wav in the takes folder)")
        self.act_preview.setCheckable(True)
        self.act_next_marker = a("Next Marker", lambda: self.go_to_marker(1), "Shift+M")
        self.act_prev_marker = a("Previous Marker", lambda: self.go_to_marker(-1), "Ctrl+Shift+M")
        self.act_snap = a("&Snap Markers to Hits and Beats", self._set_snap, "S",
                          "Dragged markers land on a hit point, section or beat nearby (always on a frame)")
        self.act_snap.setCheckable(True)
        self.act_snap.setChecked(True)
        self.act_zoom_in = a("Zoom &In", lambda: self.timeline.zoom(0.5), "=")
        self.act_zoom_out = a("Zoom &Out", lambda: self.timeline.zoom(2.0), "-")
        self.act_zoom_fit = a("Zoom to &Fit", self.timeline.zoom_to_fit, "\\")
        self.act_bars_ruler = a("Ruler in &Bars and Beats", self.set_bars_ruler, None,
                                "Count the time ruler in the take's bars and beats instead of timecode")
        self.act_bars_ruler.setCheckable(True)
        self.act_shortcuts = a("&Keyboard Shortcuts", self.show_shortcuts, "F1")
        self.act_clock = a("Send MIDI &Clock", self.toggle_clock)
        self.act_clock.setCheckable(True)
        self.act_clock.setEnabled(jobs.clock_available())
        if not jobs.clock_available():
            self.act_clock.setStatusTip("The MIDI clock needs studio.clock with a MIDI backend")

        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addActions([self.act_open_video, self.act_open_session, self.act_open_timeline])
        self.recent_menu = file_menu.addMenu("Open &Recent")
        file_menu.addSeparator()
        file_menu.addActions([self.act_save, self.act_save_as])
        file_menu.addSeparator()
        file_menu.addAction(self.act_export)
        file_menu.addSeparator()
        file_menu.addAction(self.act_quit)
        edit = bar.addMenu("&Edit")
        edit.addActions([self.act_undo, self.act_redo])
        edit.addSeparator()
        edit.addActions([self.act_add_marker, self.act_rename_marker, self.act_comment_marker, self.act_delete_marker,
                         self.act_next_marker, self.act_prev_marker, self.act_snap])
        view = bar.addMenu("&View")
        view.addActions([self.act_zoom_in, self.act_zoom_out, self.act_zoom_fit])
        view.addSeparator()
        view.addAction(self.act_bars_ruler)
        play = bar.addMenu("&Playback")
        play.addActions([self.act_play, self.act_back, self.act_pause, self.act_forward])
        play.addSeparator()
        play.addActions([self.act_in, self.act_out, self.act_clear_range, self.act_home, self.act_end,
                         self.act_goto])
        play.addSeparator()
        play.addActions([self.act_prev, self.act_next, self.act_prev10, self.act_next10])
        score = bar.addMenu("&Score")
        score.addActions([self.act_analyse, self.act_generate, self.act_preview, self.act_ab])
        score.addSeparator()
        score.addAction(self.act_conform)
        score.addSeparator()
        score.addAction(self.act_clock)
        bar.addMenu("&Help").addAction(self.act_shortcuts)
        self._update_recent_menu()

    def _connect(self) -> None:
        d = self.document
        d.sessionReplaced.connect(self._show_session)
        d.markersChanged.connect(self._show_markers)
        d.settingChanged.connect(self._on_setting_changed)
        d.controlsChanged.connect(self._show_controls)
        d.takesChanged.connect(self._show_takes)
        d.modifiedChanged.connect(lambda _m: self._update_title())
        self.undo_stack.cleanChanged.connect(lambda _clean: self._update_title())

        t = self.transport
        t.videoLoaded.connect(self._on_video_loaded)
        t.positionChanged.connect(self.timeline.set_position)
        t.positionChanged.connect(self._show_levels)
        t.errorOccurred.connect(lambda message: self.error("Playback", ExpotionError(message)))
        self.take_audio.failed.connect(lambda exc: self.error("Playing the take", exc))

        tl = self.timeline
        tl.seekRequested.connect(t.seek)
        tl.viewChanged.connect(self._show_view)
        self.timeline_scroll.valueChanged.connect(self._scroll_timeline)
        tl.markerAddRequested.connect(self.add_marker)
        tl.markerMoved.connect(self.move_marker)
        tl.markerRenameRequested.connect(self.rename_marker)
        tl.markerDeleteRequested.connect(self.delete_marker)
        tl.markerRecolorRequested.connect(self.recolor_marker)
        tl.markerCommentRequested.connect(self.ask_marker_comment)
        tl.inPointRequested.connect(self.set_in)
        tl.outPointRequested.connect(self.set_out)

        self.video_view.fileDropped.connect(self.open_path)
        self.analysis_panel.settingEdited.connect(lambda name, value: self.change_setting(f"analysis.{name}", value))
        self.analysis_panel.analyseRequested.connect(self.analyse)
        self.score_panel.settingEdited.connect(self.change_setting)
        self.timecode_panel.settingEdited.connect(self.change_setting)
        self.timecode_panel.invalid.connect(lambda exc: self.error("That timecode is not valid", exc))
        self.score_panel.generateRequested.connect(self.generate)
        self.takes_panel.takeActivated.connect(self.choose_take)
        self.takes_panel.slotAssigned.connect(self._assign_slot)
        self.takes_panel.compareRequested.connect(self.toggle_ab)
        self.takes_panel.deleteRequested.connect(self.delete_take)
        self.takes_panel.mixer.stateChanged.connect(self._on_mixer)
        self.jobs.busyChanged.connect(self._update_enabled)
        self.jobs.taskStarted.connect(self._show_task)
        self.clock.stopped.connect(lambda: self.act_clock.setChecked(False))

    def _show_task(self, panel: QWidget) -> None:
        """A job's panel in the status bar; the message before it goes (the panel would clip it mid-word)."""
        self.statusBar().clearMessage()
        self.statusBar().insertPermanentWidget(0, panel)

    def _list_engines(self) -> None:
        """Find which MusicGen models are installed, off the GUI thread (engines themselves run in a child process)."""

        def listing(*, progress, cancel) -> list[EngineChoice]:
            return engine_choices()

        self._engine_worker = jobs.Worker(listing, name="list engines")
        self._engine_worker.returned.connect(self._on_engines)
        self._engine_worker.start()

    def _on_engines(self, choices: list[EngineChoice]) -> None:
        self.score_panel.set_engines(choices)
        self.score_panel.show_settings(self._score_values())
        self.statusBar().showMessage(availability_summary(choices), 10000)

    # ------------------------------------------------------------------ showing the document

    @property
    def session(self) -> Session:
        return self.document.session

    def _show_session(self) -> None:
        s = self.session
        self.video_view.set_has_video(s.video is not None)
        if s.video is not None and s.video.is_file():
            self.transport.set_fps(s.frame_rate)
            self.transport.load(s.video)
        self._show_range()
        self._show_markers()
        self._show_controls()
        self._show_takes()
        self.analysis_panel.show_settings(s.analysis.to_dict())
        self.score_panel.show_settings(self._score_values())
        self._show_timecode()
        self._update_title()
        self._update_enabled()

    def _score_values(self) -> dict:
        s = self.session
        return {"preset": s.preset, "prompt": s.prompt, "seed": s.seed, "bpm": s.bpm, "engine": s.engine,
                "engine_options": s.engine_options}

    def _show_range(self) -> None:
        s = self.session
        end = s.video_out if s.video_out is not None else self.transport.duration
        self.timeline.set_range(s.video_in, end)
        self.transport_bar.set_range(s.video_in, s.video_out, s.timecode_start, self.timecode().rate)
        self.timeline.set_frame_rate(s.frame_rate)
        self.timeline.set_timecode(s.timecode_start, self.timecode().rate)
        self.transport.set_play_range(s.video_in, end if end > s.video_in else self.transport.duration)

    def timecode(self) -> RateChoice:
        """The rate the session's timecode counts at (declared, else chosen for the video)."""
        try:
            return self.session.timecode()
        except ExpotionError:
            return choose_rate(self.transport.fps)

    def _show_timecode(self) -> None:
        s = self.session
        self.timecode_panel.show_settings(s.timecode_start, s.timecode_rate, self.timecode())

    def _show_markers(self) -> None:
        self.timeline.set_user_markers(self.document.user_markers)

    def _show_controls(self) -> None:
        track = self.document.controls
        self.timeline.set_controls(track)
        self.analysis_panel.show_analysis(track, self.document.controls_stale())

    def _show_takes(self) -> None:
        records = self.document.records
        rows = []
        for record in records:
            take = self.document.take(record.id)
            detail = f"{record.preset or 'no preset'}, {record.engine}, seed\u00a0{record.seed}"  # no break in "seed 0"
            if take is not None:
                detail += f", {tempo_label(take.tempo_map)}, {len(take.stems)}\u00a0stems"
            elif record.folder.is_dir():
                # every take shows its waveform and tempo
                self.jobs.load_take(record, self._on_take_loaded, self._on_take_failed)
            if record.prompt:
                detail += f"\n“{record.prompt}”"
            rows.append(TakeRow(record.label or record.id, detail, self.peaks.get(record.id)))
        current = self.document.chosen_index()
        self.takes_panel.set_takes(rows, current, self.ab_slots)
        self._show_current_take()

    def _show_current_take(self) -> None:
        index = self.document.chosen_index()
        record = self.document.records[index] if index >= 0 else None
        take = self.document.take(record.id) if record is not None else None
        if take is None:
            self.timeline.set_take(None, None)
            self.timeline.set_stems([])
            self.takes_panel.mixer.set_take(None)
            self.take_audio.set_take(None)
            if record is not None:
                self.jobs.load_take(record, self._on_take_loaded, self._on_take_failed)
            self._update_take_note()
            return
        start = take_start(take, self.session.video_in)
        state = self.mixer_state(record)
        self.timeline.set_take(self.peaks.get(record.id), take.tempo_map, take.markers, start)
        stems = self.stem_peaks.get(record.id, {})
        self.timeline.set_stems([(s.name, stems.get(s.name)) for s in take.stems],
                                state.gains([s.name for s in take.stems]))
        if self.take_audio.take is not take:
            self.takes_panel.mixer.set_take(take, state)
            self.take_audio.set_take(take, start, state)
            self._show_levels(self.transport.position)

    def mixer_state(self, record: TakeRecord) -> MixerState:
        """The take's mixer strips: as moved in this window, else as saved with the session."""
        if record.id not in self.mixer_states:
            self.mixer_states[record.id] = MixerState.from_dict(record.params.get("mixer"))
        return self.mixer_states[record.id]

    @Slot(float, float)
    def _show_view(self, start: float, end: float) -> None:
        """Keep the scrollbar on the timeline's visible span (milliseconds; hidden when all is shown)."""
        bar = self.timeline_scroll
        span_ms = int(round((end - start) * 1000))
        bar.blockSignals(True)
        bar.setRange(0, max(int(round(self.timeline.duration * 1000)) - span_ms, 0))
        bar.setPageStep(max(span_ms, 1))
        bar.setSingleStep(max(span_ms // 10, 1))
        bar.setValue(int(round(start * 1000)))
        bar.blockSignals(False)
        bar.setVisible(bar.maximum() > 0)

    @Slot(int)
    def _scroll_timeline(self, value: int) -> None:
        start, end = self.timeline.view
        self.timeline.set_view(value / 1000, value / 1000 + (end - start))

    @Slot(float)
    def _show_levels(self, video_time: float) -> None:
        take = self.take_audio.take
        if take is not None:
            self.takes_panel.mixer.set_position(video_time - take_start(take, self.session.video_in))
            self.timeline.set_levels(self.takes_panel.mixer.levels)

    def _on_take_loaded(self, record: TakeRecord, take: Take, peaks: Peaks, stems: dict[str, Peaks]) -> None:
        if record not in self.document.records:  # read for a session that is no longer open
            return
        self._unreadable.discard(record.folder)
        self.peaks[record.id] = peaks
        self.stem_peaks[record.id] = stems
        self.document.set_loaded_take(record.id, take)

    def _on_take_failed(self, record: TakeRecord) -> None:
        self._unreadable.add(record.folder)
        self._update_take_note()

    def _update_take_note(self) -> None:
        """What the empty take lane says: a take being made or read, one that cannot be read, or the next step."""
        index = self.document.chosen_index()
        record = self.document.records[index] if index >= 0 else None
        name = record.label or record.id if record is not None else ""
        if self.jobs.busy and self.jobs.worker is not None and self.jobs.worker.name == GENERATING:
            note = f"{GENERATING}…"
        elif record is not None and record.folder in self._unreadable:
            note = f"{name} cannot be read (see the error); choose another take or press Generate"
        elif record is not None:
            note = f"Reading {name}…"
        elif self.document.controls is not None:
            note = "No take yet: choose a preset and press Generate"
        else:
            note = "No take yet: analyse the video, then press Generate"
        self.timeline.set_take_note(note)

    def _update_title(self) -> None:
        if not shiboken6.isValid(self.undo_stack):  # the stack announces its own clearing while the window closes
            return
        s = self.session
        name = s.path.name if s.path is not None else (s.title or "Untitled")
        dirty = self.document.modified or not self.undo_stack.isClean()
        self.setWindowTitle(f"{name}{' •' if dirty else ''} — {APP_NAME}")

    def _update_enabled(self) -> None:
        busy = self.jobs.busy
        has_video = self.document.has_video
        for action in (self.act_analyse,):
            action.setEnabled(has_video and not busy)
        self.act_generate.setEnabled(self.document.controls is not None and not busy)
        self._update_take_note()
        self.act_export.setEnabled(self.document.chosen_index() >= 0 and not busy)
        self.act_conform.setEnabled(self.session.timeline is not None and self.document.chosen_index() >= 0
                                    and not busy)
        self.analysis_panel.analyse_button.setEnabled(has_video and not busy)
        self.score_panel.generate_button.setEnabled(self.document.controls is not None and not busy)
        self.score_panel.generate_button.setToolTip(
            "Score the in–out range with these settings (Ctrl+G)" if self.document.controls is not None
            else "Analyse the video first")

    @Slot(str)
    def _on_setting_changed(self, name: str) -> None:
        if name in ("timecode_start", "timecode_rate"):
            self._show_timecode()
            self._show_range()
        elif name in ("video_in", "video_out"):
            self._show_range()
            self.analysis_panel.show_analysis(self.document.controls, self.document.controls_stale())
        elif name.startswith("analysis."):
            self.analysis_panel.show_settings(self.session.analysis.to_dict())
            self.analysis_panel.show_analysis(self.document.controls, self.document.controls_stale())
        else:
            self.score_panel.show_settings(self._score_values())
        self._update_title()

    @Slot(float)
    def _on_video_loaded(self, duration: float) -> None:
        self.timeline.set_duration(duration)
        self._show_range()
        self.transport.seek(self.session.video_in)

    # ------------------------------------------------------------------ opening and saving

    def error(self, title: str, exc: BaseException) -> QMessageBox:
        """Show ``exc`` as a dialog: its one-sentence message, the details on request."""
        return show_error(title, exc, self)

    @Slot()
    def choose_video(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open Video", self._last_folder(), VIDEO_FILTER)
        if path:
            self.open_video(Path(path))

    @Slot()
    def choose_session(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open Session", self._last_folder(), SESSION_FILTER)
        if path:
            self.open_session(Path(path))

    @Slot()
    def choose_timeline(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open Timeline", self._last_folder(), TIMELINE_FILTER)
        if path:
            self.open_timeline(Path(path))

    def open_timeline(self, path: Path, session_file: Path | None = None) -> jobs.Worker | None:
        """A new session for an editor's timeline: asks where to save it (the sequence's picture is rendered
        beside it), then reads, renders and analyses the sequence in the background. Missing media are listed."""
        if self._refuse_while_busy() or not self._may_discard():
            return None
        path = Path(path)
        if session_file is None:
            suggested = path.with_suffix(SESSION_SUFFIX)
            chosen, _ = QFileDialog.getSaveFileName(self, "Save the Timeline's Session", str(suggested),
                                                    SESSION_FILTER)
            if not chosen:
                return None
            session_file = Path(chosen if chosen.endswith(SESSION_SUFFIX) else chosen + SESSION_SUFFIX)
        self.settings.setValue("last_folder", str(path.parent))
        return self.jobs.run(f"Opening the timeline {path.name}", jobs.open_timeline, path, Path(session_file),
                             on_result=self._on_timeline_opened)

    def _on_timeline_opened(self, opened: jobs.OpenedTimeline) -> None:
        self._reset_for(opened.session, opened.controls)
        self._add_recent(opened.session.path)
        source = opened.session.timeline
        edits = sum(1 for m in opened.controls.markers if m.cause == "edit")
        self.statusBar().showMessage(f"Opened {source.path.name if source else 'the timeline'}: {edits} edits, "
                                     f"{len(opened.session.markers)} markers; choose a preset and press Generate.",
                                     10000)

    @Slot()
    def choose_conform_timeline(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Conform to New Timeline", self._last_folder(), TIMELINE_FILTER)
        if path:
            self.conform_to(Path(path))

    def conform_to(self, new_timeline: Path) -> jobs.Worker | None:
        """Conform the chosen take onto ``new_timeline`` (a recut of the session's sequence) in the background;
        the conformed session opens when done and its report is shown."""
        self.commit_edits()
        index = self.document.chosen_index()
        if self._refuse_while_busy() or index < 0 or self.session.timeline is None:
            return None
        if (self.document.modified or not self.undo_stack.isClean()) and not self.save():
            return None
        new_timeline = Path(new_timeline)
        base = self.session.path.parent / f"{self.session.path.stem}_conform_{new_timeline.stem}"
        output = next(p for p in (base.with_name(f"{base.name}{f'_{n}' if n else ''}") for n in range(1000))
                      if not p.exists())
        take_id = self.document.records[index].id
        return self.jobs.run(f"Conforming to {new_timeline.name}", jobs.conform_session, self.session, new_timeline,
                             output, take_id,
                             on_result=lambda done: self._on_conformed(done, take_id, new_timeline))

    def _on_conformed(self, done: jobs.Conformed, take_id: str, new_timeline: Path) -> None:
        def open_conformed(_title: str) -> None:  # once the conform's job has ended: opening analyses
            self.jobs.jobFinished.disconnect(open_conformed)
            self.open_session(done.session_file)

        from ui.timeline_dialogs import ConformReportDialog

        self.jobs.jobFinished.connect(open_conformed)
        self.conform_report = ConformReportDialog(
            f"Take {take_id} moved onto {new_timeline.name}; the conformed session is {done.session_file}.",
            done.report, self)
        self.conform_report.open()

    def _last_folder(self) -> str:
        return str(self.settings.value("last_folder", str(Path.home())))

    @Slot(Path)
    def open_path(self, path: Path) -> None:
        """Open a dropped or command-line file: a session (``.expotion``) or a video."""
        path = Path(path)
        if path.suffix.lower() == SESSION_SUFFIX:
            self.open_session(path)
        else:
            self.open_video(path)

    def _refuse_while_busy(self) -> bool:
        if self.jobs.busy:
            self.statusBar().showMessage("Wait for the running job to finish (or cancel it) first.", 6000)
        return self.jobs.busy

    def open_video(self, path: Path) -> None:
        """Start a new session for the video at ``path`` (probed off the GUI thread)."""
        if self._refuse_while_busy() or not self._may_discard():
            return
        self.settings.setValue("last_folder", str(Path(path).parent))
        self.jobs.run_quiet("Opening the video", new_video_session, Path(path), on_result=self._on_new_session)

    def _on_new_session(self, opened: tuple[Session, str]) -> None:
        session, start = opened
        self._reset_for(session)
        # the file's name, not its path: the whole sentence fits the status bar beside a running job's panel
        self.statusBar().showMessage(f"Opened {session.video.name}. {start} Press Analyse to read its faces and "
                                     "motion.", 8000)

    def _reset_for(self, session: Session, controls=None) -> None:
        self.transport.stop()
        self.take_audio.set_take(None)
        self.undo_stack.clear()
        self.peaks.clear()
        self.stem_peaks.clear()
        self.mixer_states.clear()
        self.ab_slots = {"A": None, "B": None}
        self.document.replace(session, controls)

    def open_session(self, path: Path) -> None:
        """Open a session file, offering its autosave when it holds newer, unsaved work."""
        if self._refuse_while_busy() or not self._may_discard():
            return
        path = Path(path)
        try:
            autosaved = find_autosave(path) is not None
            if autosaved and self.ask_recover(path):
                session = Session.recover(path)
                recovered = True
            else:
                if autosaved:  # "No" discards the autosave, so the question is not asked again at every launch
                    autosave_path(path).unlink(missing_ok=True)
                session = Session.load(path)
                recovered = False
        except ExpotionError as exc:
            self.error("Opening the session", exc)
            return
        self._reset_for(session)
        if recovered:
            self.document.mark_modified()
        self._add_recent(path)
        if session.video is not None and not session.video_found:
            self._ask_relink(session)
        elif session.video is not None:
            self.analyse()

    def offer_recovery(self) -> None:
        """At start-up: open the last session when its autosave holds work that was never saved."""
        for text in self.recent_sessions():
            if find_autosave(text) is not None:
                self.open_session(Path(text))
                return

    def ask_recover(self, path: Path) -> bool:
        """"Recover unsaved session?": True to open the autosave's newer state."""
        box = QMessageBox(QMessageBox.Icon.Question, "Recover unsaved session?",
                          f"{path.name} has unsaved changes from a session that did not close properly. "
                          "Recover them?", QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
        box.setObjectName("recover")
        box.setDefaultButton(QMessageBox.StandardButton.Yes)
        return box.exec() == QMessageBox.StandardButton.Yes

    def _ask_relink(self, session: Session) -> None:
        answer = QMessageBox.question(
            self, "Video not found",
            f"The session's video is not at {session.video} any more. Find it?")
        if answer != QMessageBox.StandardButton.Yes:
            return
        path, _ = QFileDialog.getOpenFileName(self, "Find the Video", self._last_folder(), VIDEO_FILTER)
        if not path:
            return
        try:
            session.relink(path)
        except ExpotionError as exc:
            self.error("Relinking the video", exc)
            return
        self.document.mark_modified()
        self._show_session()
        self.analyse()

    def commit_edits(self) -> None:
        """Apply what is typed but not yet committed (prompt, seed, BPM, analysis boxes).

        The one place every action that reads the session (analyse, generate, save, export,
        quit, close, open) calls first, so a prompt typed just before Ctrl+G or Ctrl+S is used.
        """
        self.score_panel.commit_pending()
        self.analysis_panel.commit_pending()
        self.timecode_panel.commit_pending()

    @Slot()
    def save(self) -> bool:
        """Save to the session's file (asks for one the first time); True when saved."""
        self.commit_edits()
        if self.session.path is None:
            return self.save_as()
        return self.save_to(self.session.path)

    @Slot()
    def save_as(self) -> bool:
        start = self.session.path or (self.session.video.with_suffix(SESSION_SUFFIX) if self.session.video else None)
        path, _ = QFileDialog.getSaveFileName(self, "Save Session", str(start or self._last_folder()), SESSION_FILTER)
        if not path:
            return False
        if not path.endswith(SESSION_SUFFIX):
            path += SESSION_SUFFIX
        return self.save_to(Path(path))

    def save_to(self, path: Path) -> bool:
        """Save the session to ``path``; errors become a dialog. True when saved."""
        self.commit_edits()
        try:
            written = self.document.save(path)
        except (ExpotionError, OSError) as exc:
            self.error("Saving the session", exc)
            return False
        self.undo_stack.setClean()
        self._add_recent(written)
        self._update_title()
        self.statusBar().showMessage(f"Saved {written}", 5000)
        return True

    @Slot()
    def autosave(self) -> None:
        """Write the autosave beside a saved session that has unsaved changes."""
        self.commit_edits()
        if self.session.path is None or not (self.document.modified or not self.undo_stack.isClean()):
            return
        try:
            self.session.autosave()
        except (ExpotionError, OSError) as exc:
            log.warning("autosave failed: %s", exc)

    def _may_discard(self) -> bool:
        self.commit_edits()
        if not (self.document.modified or not self.undo_stack.isClean()) or not self.document.has_video:
            return True
        answer = self.ask_save_changes()
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def ask_save_changes(self) -> QMessageBox.StandardButton:
        """Save, Discard or Cancel: what to do with unsaved changes before they would be lost."""
        return QMessageBox.question(
            self, "Unsaved changes", "Save the changes to this session first?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel)

    def recent_sessions(self) -> list[str]:
        value = self.settings.value("recent_sessions", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in value or []]

    def _add_recent(self, path: Path) -> None:
        text = str(Path(path).resolve())
        recent = [text] + [p for p in self.recent_sessions() if p != text]
        self.settings.setValue("recent_sessions", recent[:MAX_RECENT])
        self._update_recent_menu()

    def _update_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.recent_sessions()
        for path in recent:
            action = self.recent_menu.addAction(Path(path).name)
            action.setStatusTip(path)
            action.triggered.connect(lambda _checked=False, p=path: self.open_session(Path(p)))
        self.recent_menu.setEnabled(bool(recent))

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        if dropped_path(event) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        path = dropped_path(event)
        if path is not None:
            event.acceptProposedAction()
            self.open_path(path)

    # ------------------------------------------------------------------ edits (undoable)

    def change_setting(self, name: str, value) -> bool:
        """Apply one setting through studio's validation, then record it for undo; False when refused."""
        before = self.document.setting(name)
        if before == value:
            return True
        try:
            self.document.set_setting(name, value)
        except ExpotionError as exc:
            self.error("That setting is not valid", exc)
            self._on_setting_changed(name)
            return False
        self.undo_stack.push(SetSetting(self.document, name, value, before=before))
        return True

    @Slot()
    def ask_go_to_timecode(self) -> None:
        """Ask for a timecode and move the playhead there."""
        if not self.document.has_video:
            return
        current = format_timecode(self.session.timecode_start + self.transport.position, self.timecode().rate)
        text, ok = QInputDialog.getText(self, "Go to Timecode", "Timecode (HH:MM:SS:FF) or seconds:", text=current)
        if ok and text.strip():
            self.go_to_timecode(text)

    def go_to_timecode(self, text: str) -> bool:
        """Move the playhead to source timecode ``text``; False (with a dialog) when it is not in the video."""
        try:
            seconds = parse_timecode(text, self.timecode().rate) - self.session.timecode_start
            if not 0.0 <= seconds <= self.transport.duration + 1e-6:
                start = format_timecode(self.session.timecode_start, self.timecode().rate)
                raise TimecodeError(f"Timecode {text.strip()} is outside the video, which starts at {start}.")
        except ExpotionError as exc:
            self.error("Go to timecode", exc)
            return False
        self.transport.seek(seconds)
        return True

    def music_time(self, video_time: float) -> float:
        return video_time - self.session.video_in

    @Slot()
    def add_marker_at_playhead(self) -> None:
        self.add_marker(self.music_time(self.transport.position))

    @Slot(float)
    def add_marker(self, music_time: float) -> None:
        """Add a user marker (music time); markers before the in point are refused."""
        if not self.document.has_video:
            return
        if music_time < 0:
            self.error("Adding a marker", ExpotionError("A marker must be at or after the in point."))
            return
        name = f"Marker {len(self.document.user_markers) + 1}"
        self.undo_stack.push(AddMarker(self.document, Marker(self.on_frame(music_time), name, "user")))
        self.timeline.select_marker(len(self.document.user_markers) - 1)

    def go_to_marker(self, direction: int) -> bool:
        """Move the playhead to the next (``direction`` 1) or previous (-1) user marker; False when none."""
        here = self.music_time(self.transport.position)
        times = sorted(m.time for m in self.document.user_markers)
        ahead = [t for t in times if t > here + 1e-6] if direction > 0 else [t for t in times if t < here - 1e-6]
        if not ahead:
            return False
        self.transport.seek(self.session.video_in + (ahead[0] if direction > 0 else ahead[-1]))
        return True

    def _set_snap(self, on: bool) -> None:
        self.timeline.snap_to_hits = on

    def _set_preview(self, on: bool) -> None:
        """Score ▸ Preview While Generating (remembered)."""
        self.settings.setValue("score/preview", on)

    @Slot(bool)
    def set_bars_ruler(self, on: bool) -> None:
        """View ▸ Ruler in Bars and Beats (remembered): the ruler counts the take's bars, else timecode."""
        self.timeline.set_ruler("bars" if on else "timecode")
        self.act_bars_ruler.setChecked(on)
        self.settings.setValue("view/ruler", self.timeline.ruler)

    @Slot()
    def show_shortcuts(self) -> None:
        """Help > Keyboard Shortcuts: every action with a key, in a table."""
        from ui.shortcuts_dialog import ShortcutsDialog

        ShortcutsDialog(self.actions(), self).open()

    def on_frame(self, music_time: float) -> float:
        """``music_time`` moved onto the nearest video frame (markers never land between frames)."""
        fps = self.session.frame_rate
        video = self.session.video_in + music_time
        return max(round(math.floor(video * fps + 0.5 + 1e-9) / fps - self.session.video_in, 6), 0.0)

    @Slot(int, float)
    def move_marker(self, index: int, music_time: float) -> None:
        self.undo_stack.push(MoveMarker(self.document, index, self.on_frame(music_time)))

    @Slot(int)
    def rename_marker(self, index: int) -> None:
        old = self.document.user_markers[index].name
        name, ok = QInputDialog.getText(self, "Rename Marker", "Name:", text=old)
        if ok and name.strip() and name.strip() != old:
            self.undo_stack.push(RenameMarker(self.document, index, name.strip()))

    @Slot(int, object)
    def recolor_marker(self, index: int, color: str | None) -> None:
        """Give user marker ``index`` its own colour (``#rrggbb``), or back its default with None."""
        if self.document.user_markers[index].color != color:
            self.undo_stack.push(RecolorMarker(self.document, index, color))

    @Slot(int)
    def ask_marker_comment(self, index: int) -> None:
        """Ask for user marker ``index``'s comment (several lines; empty removes it)."""
        marker = self.document.user_markers[index]
        text, ok = QInputDialog.getMultiLineText(self, "Marker Comment", f"Comment on “{marker.name}”:",
                                                 marker.comment)
        if ok:
            self.comment_marker(index, text)

    def comment_marker(self, index: int, comment: str) -> None:
        """Give user marker ``index`` a comment (undoable; saved in the session, exported where formats can)."""
        comment = comment.strip()
        if self.document.user_markers[index].comment != comment:
            self.undo_stack.push(CommentMarker(self.document, index, comment))

    @Slot(int)
    def delete_marker(self, index: int) -> None:
        self.undo_stack.push(DeleteMarker(self.document, index))
        self.timeline.select_marker(-1)

    @Slot()
    def rename_selected_marker(self) -> None:
        if self.timeline.selected_marker >= 0:
            self.rename_marker(self.timeline.selected_marker)

    @Slot()
    def comment_selected_marker(self) -> None:
        if self.timeline.selected_marker >= 0:
            self.ask_marker_comment(self.timeline.selected_marker)

    @Slot()
    def delete_selected_marker(self) -> None:
        """Delete the selected marker, unless the keyboard focus is in a side panel (the Takes list, a field)."""
        focus = QApplication.focusWidget()
        if focus is not None and self.side.isAncestorOf(focus):
            return
        if self.timeline.selected_marker >= 0:
            self.delete_marker(self.timeline.selected_marker)

    @Slot(float)
    def set_in(self, video_time: float) -> None:
        self.change_setting("video_in", round(max(video_time, 0.0), 4))

    @Slot(float)
    def set_out(self, video_time: float) -> None:
        self.change_setting("video_out", round(video_time, 4))

    @Slot()
    def set_in_at_playhead(self) -> None:
        self.set_in(self.transport.position)

    @Slot()
    def set_out_at_playhead(self) -> None:
        self.set_out(self.transport.position)

    @Slot()
    def clear_range(self) -> None:
        self.undo_stack.beginMacro("Clear in/out")
        self.change_setting("video_out", None)
        self.change_setting("video_in", 0.0)
        self.undo_stack.endMacro()

    # ------------------------------------------------------------------ analysis, generation, takes

    @Slot()
    def analyse(self) -> jobs.Worker | None:
        """Analyse the in–out range with the session's settings in the background (task panel, Cancel)."""
        self.commit_edits()
        if not self.document.has_video or self.jobs.busy:
            return None
        return self.jobs.run("Analysing the video", jobs.analyse_session, self.session,
                             on_result=self._analysed)

    def _analysed(self, controls: ControlTrack) -> None:
        self.document.set_controls(controls)
        hits = sum(1 for m in controls.markers if m.kind == "hit")
        takes = len(self.document.records)  # a session opened with its takes: the next step is not a first take
        then = (f"{takes} take{'s' if takes != 1 else ''} in the Takes tab; Generate makes another" if takes
                else "choose a preset and press Generate")
        self.statusBar().showMessage(f"Analysed {controls.duration:.1f} s: {hits} hit points; {then}.", 8000)

    @Slot()
    def generate(self) -> jobs.Worker | None:
        """Make a new take from the analysis and the Score settings in the background (task panel, Cancel)."""
        self.commit_edits()
        if self.document.controls is None or self.jobs.busy:
            return None
        if self.session.path is None:
            QMessageBox.information(self, "Save the session first",
                                    "Takes are kept in a folder beside the session file; choose where to save it.")
            if not self.save_as():
                return None
        controls = None if self.document.controls_stale() else self.document.controls
        preview = self.act_preview.isChecked()
        worker = self.jobs.run(GENERATING, jobs.generate_take, self.session, controls, preview,
                               on_result=self._on_generated)
        if worker is not None:
            kept = self.session.takes_dir / PREVIEW_NAME
            worker.aborted.connect(lambda: self._say_preview_kept(kept))
            worker.errored.connect(lambda exc: self._say_preview_kept(kept))
        return worker

    def _say_preview_kept(self, path: Path) -> None:
        """A generation that stopped (cancelled, failed) says once where the preview it kept is and what it holds."""
        sentence = kept_sentence(path)
        if sentence is not None:
            self.statusBar().showMessage(sentence[0].upper() + sentence[1:] + ".")

    def _on_generated(self, result: jobs.GeneratedTake) -> None:
        if result.controls is not self.document.controls:
            self.document.set_controls(result.controls)
        self.peaks[result.record.id] = result.peaks
        self.stem_peaks[result.record.id] = result.stem_peaks
        self.document.add_take(result.record, result.take)
        self.side.setCurrentWidget(self.takes_panel)
        self.statusBar().showMessage(f"{result.record.id}: {result.take.duration:.1f} s, "
                                     f"{len(result.take.stems)} stems", 8000)

    @Slot(int)
    def choose_take(self, index: int) -> None:
        if 0 <= index < len(self.document.records):
            self.document.choose_take(index)

    @Slot(int)
    def delete_take(self, index: int) -> None:
        record = self.document.records[index]
        answer = QMessageBox.question(self, "Remove take", f"Remove {record.label or record.id} from the session? "
                                      "Its files stay on disk.")
        if answer == QMessageBox.StandardButton.Yes:
            self.document.remove_take(index)

    def _assign_slot(self, slot: str, index: int) -> None:
        self.ab_slots[slot] = index
        self._show_takes()

    @Slot()
    def toggle_ab(self) -> None:
        """Switch between take A and take B at the playhead (first two takes when unassigned)."""
        count = len(self.document.records)
        if count < 2:
            return
        a = self.ab_slots["A"] if self.ab_slots["A"] is not None else count - 2
        b = self.ab_slots["B"] if self.ab_slots["B"] is not None else count - 1
        current = self.document.chosen_index()
        self.choose_take(b if current == a else a)

    def _on_mixer(self, state: MixerState) -> None:
        index = self.document.chosen_index()
        if index >= 0:
            take_id = self.document.records[index].id
            self.mixer_states[take_id] = state
            self.document.set_take_mixer(take_id, state.to_dict())
            self.take_audio.set_state(state)
            take = self.document.take(take_id)
            if take is not None:
                stems = self.stem_peaks.get(take_id, {})
                self.timeline.set_stems([(s.name, stems.get(s.name)) for s in take.stems],
                                        state.gains([s.name for s in take.stems]))
                self.timeline.set_levels(self.takes_panel.mixer.levels)
            self._update_title()

    # ------------------------------------------------------------------ export and clock

    @Slot()
    def open_export_dialog(self) -> None:
        from ui.export_dialog import ExportDialog

        self.commit_edits()
        if self.document.chosen_index() < 0:
            return
        dialog = ExportDialog(self.session, self)
        dialog.take_label.setText(self.export_summary())
        dialog.exportRequested.connect(self.export)
        dialog.open()

    def export_summary(self) -> str:
        """What an export writes: which take, what it was made with, and whether the mixer changes it."""
        record = self.document.records[self.document.chosen_index()]
        take = self.document.take(record.id)
        made = f"{record.preset or 'no preset'}, {record.engine}, seed {record.seed}"
        prompt = f" “{record.prompt}”" if record.prompt else ""
        mix = self.mixer_state(record).summary([s.name for s in take.stems]) if take is not None else "as generated"
        return f"Take {record.label or record.id}{prompt} ({made}); mix {mix}."

    def export(self, folder: Path, formats: tuple[str, ...], sample_rate: int, bit_depth: int,
               open_folder: bool = True, timecode_start: float | None = None) -> jobs.Worker | None:
        """Write the chosen take's delivery to ``folder`` (worker thread); opens the folder when done.

        ``timecode_start`` (the export dialog's, s) becomes the session's start timecode first (undoable).
        """
        self.commit_edits()
        index = self.document.chosen_index()
        if self.jobs.busy or index < 0:
            return None
        if timecode_start is not None and not self.change_setting("timecode_start", timecode_start):
            return None
        try:
            self.document.set_delivery(sample_rate, bit_depth, tuple(formats))
        except ExpotionError as exc:
            self.error("Export settings", exc)
            return None
        take_id = self.document.records[index].id
        folder = Path(folder)
        force = folder.is_dir() and any(folder.iterdir())
        if force and not self.ask_overwrite(folder):
            return None
        return self.jobs.run("Exporting", jobs.export_take, self.session, take_id, folder, tuple(formats), force,
                             self.mixer_state(self.document.records[index]),
                             on_result=lambda written: self._on_exported(folder, written, open_folder))

    def ask_overwrite(self, folder: Path) -> bool:
        """True when the user agrees to replace the files an export writes into a folder that is not empty."""
        answer = QMessageBox.question(self, "Replace files?",
                                      f"{folder} is not empty. Replace the delivery files already there?")
        return answer == QMessageBox.StandardButton.Yes

    def _on_exported(self, folder: Path, written: list[Path], open_folder: bool) -> None:
        from ui.export_dialog import sequence_file

        sequence = sequence_file(self.session)
        laid_in = f"; sequence with the score: {sequence}" if any(p.name == sequence for p in written) else ""
        self.statusBar().showMessage(f"Wrote {len(written)} files to {folder}{laid_in}", 10000)
        if open_folder:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    @Slot(bool)
    def toggle_clock(self, on: bool) -> None:
        """Start (and play) or stop the live MIDI clock that follows the chosen take's tempo map."""
        index = self.document.chosen_index()
        take = self.document.take(self.document.records[index].id) if index >= 0 else None
        if not on or take is None:
            self.clock.stop()
            self.act_clock.setChecked(False)
            return
        self.clock.start(take, self.transport.position - take_start(take, self.session.video_in))
        self.transport.play()

    # ------------------------------------------------------------------ closing

    def _restore_layout(self) -> None:
        """Window geometry and splitter positions as the last window left them."""
        self.set_bars_ruler(self.settings.value("view/ruler", "timecode") == "bars")
        self.act_preview.setChecked(str(self.settings.value("score/preview", "false")).lower() == "true")
        geometry = self.settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        for name, splitter in self._splitters.items():
            state = self.settings.value(f"window/{name}")
            if state is not None:
                splitter.restoreState(state)

    def _save_layout(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        for name, splitter in self._splitters.items():
            self.settings.setValue(f"window/{name}", splitter.saveState())

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        if not self._may_discard():
            event.ignore()
            return
        self._save_layout()
        self._autosave.stop()
        self.clock.stop()
        self.transport.close()
        jobs.abort_all()
        self.take_audio.close()
        super().closeEvent(event)
