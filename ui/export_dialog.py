"""The Export dialog: delivery formats from studio's registry, sample rate, bit depth, folder, start timecode."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from expotion_engine.errors import ExpotionError
from studio.export import BIT_DEPTHS, SAMPLE_RATES, safe_name
from studio.export.manifest import GUIDE, MANIFEST, read_manifest
from studio.export.registry import FORMATS
from studio.preflight import DELIVERY_FOLDER
from studio.session import Session
from studio.timecode import parse_timecode
from studio.timeline.deliver import ROUNDTRIP
from ui.timecode import format_timecode

#: What each registry format is called in the dialog (a format missing here shows its own name).
FORMAT_LABELS: dict[str, str] = {
    "audio": "Stems and mix (Broadcast WAV)",
    "midi": "MIDI file (tempo map, markers, notes)",
    "markers": "Marker lists (CSV, Audacity labels)",
    "edl": "CMX3600 EDL with locators",
    "fcp7": "Final Cut Pro 7 XML",
    "fcpxml": "FCPXML",
    "otio": "OpenTimelineIO timeline",
    "reaper": "REAPER project",
    "dawproject": "DAWproject (Bitwig, Studio One, Cubase)",
    "video": "Video with the new score",
}


def delivery_slug(session: Session) -> str:
    """The name a delivery of ``session`` gives its files (``<slug>_mix.wav``), as studio's export job derives it."""
    return safe_name(session.title or (session.video.stem if session.video else "untitled"))


def holds_delivery_of(folder: Path, session: Session) -> bool:
    """Whether ``folder`` holds a delivery of ``session``: its manifest lists the session's guide file."""
    manifest = read_manifest(folder)
    return manifest is not None and f"{delivery_slug(session)}_README.txt" in manifest.files.get(GUIDE, ())


def default_folder(session: Session) -> Path:
    """Where the session's delivery goes: the folder of its last delivery, else ``delivery/`` beside the session
    file, as ``expotion score`` writes it (so re-exporting updates that delivery in place, its manifest naming the
    files it replaces), else, when ``delivery/`` holds something else, ``<title>_delivery`` beside it."""
    base = session.path.parent if session.path else session.video.parent if session.video else Path.home()
    cli, own = base / DELIVERY_FOLDER, base / f"{delivery_slug(session)}_delivery"
    delivered = [folder for folder in (cli, own) if holds_delivery_of(folder, session)]
    if delivered:
        return max(delivered, key=lambda folder: (folder / MANIFEST).stat().st_mtime_ns)
    if not cli.exists() or (cli.is_dir() and not any(cli.iterdir())):
        return cli
    return own


def sequence_file(session: Session) -> str | None:
    """The name of the round-trip file an export adds for a session scored from an editor's sequence
    (``<title>_sequence<suffix>``, as :func:`studio.timeline.deliver.roundtrip_file` names it)."""
    if session.timeline is None:
        return None
    title = safe_name(session.title) if session.title else "<sequence name>"  # studio's fallback: the sequence's name
    return f"{title}_sequence{ROUNDTRIP[session.timeline.adapter][1]}"


class ExportDialog(QDialog):
    """Asks what, where and from which timecode; ``exportRequested(folder, formats, rate, depth, open, start)``."""

    exportRequested = Signal(Path, tuple, int, int, bool, float)

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export Delivery")
        self.setMinimumWidth(640)  # the format labels fit on two columns without clipping
        prefs = session.export
        self.folder = QLineEdit(str(default_folder(session)))
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)
        self._start, self._rate = session.timecode_start, session.timecode().rate
        self.timecode_start = QLineEdit(format_timecode(self._start, self._rate))
        self.timecode_start.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.timecode_start.setToolTip("Timecode of the video's first frame (HH:MM:SS:FF or seconds); the delivery "
                                       "places the music at it. A new session starts at the video's own timecode.")
        self.timecode_error = QLabel()
        self.timecode_error.setObjectName("warning")
        self.timecode_error.setWordWrap(True)
        self.timecode_error.hide()
        self.format_boxes: dict[str, QCheckBox] = {}
        group = QGroupBox("Formats")
        grid = QGridLayout(group)
        chosen = set(prefs.formats) or set(FORMATS)
        for i, name in enumerate(FORMATS):
            box = QCheckBox(FORMAT_LABELS.get(name, name))
            box.setToolTip(f"format '{name}'")
            box.setChecked(name in chosen)
            if name == "video" and not session.video_found:
                box.setChecked(False)
                box.setEnabled(False)
                box.setToolTip("The session's video is not found, so it cannot be re-scored")
            grid.addWidget(box, i // 2, i % 2)
            self.format_boxes[name] = box
        self.sample_rate = QComboBox()
        for rate in SAMPLE_RATES:
            self.sample_rate.addItem(f"{rate / 1000:g} kHz", rate)
        self.sample_rate.setCurrentIndex(SAMPLE_RATES.index(prefs.sample_rate))
        self.bit_depth = QComboBox()
        for depth in BIT_DEPTHS:
            self.bit_depth.addItem("32-bit float" if depth == 32 else f"{depth}-bit", depth)
        self.bit_depth.setCurrentIndex(BIT_DEPTHS.index(prefs.bit_depth))
        self.open_folder = QCheckBox("Open the folder when done")
        self.open_folder.setChecked(True)
        self.take_label = QLabel()
        self.take_label.setObjectName("take")
        self.take_label.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Exports", self.take_label)
        form.addRow("Folder", folder_row)
        form.addRow("Start timecode", self.timecode_start)
        form.addRow("", self.timecode_error)
        self.sequence_label: QLabel | None = None
        sequence = sequence_file(session)
        if sequence is not None:
            self.sequence_label = QLabel(f"Sequence with the score: {sequence}")
            self.sequence_label.setObjectName("sequence")
            self.sequence_label.setToolTip(f"{session.timeline.path.name} with the mix and stems as new audio "
                                           "tracks at its timecode, for the editor to import")
            form.addRow("Editor", self.sequence_label)
        form.addRow("Sample rate", self.sample_rate)
        form.addRow("Bit depth", self.bit_depth)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self._export)
        self.buttons.rejected.connect(self.reject)
        for box in self.format_boxes.values():
            box.toggled.connect(self._update_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(group)
        layout.addWidget(self.open_folder)
        layout.addWidget(self.buttons)
        self._update_button()

    def formats(self) -> tuple[str, ...]:
        """The ticked formats, in registry order."""
        return tuple(name for name, box in self.format_boxes.items() if box.isChecked())

    def _update_button(self) -> None:
        self.export_button.setEnabled(bool(self.formats()))

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export To", self.folder.text())
        if folder:
            self.folder.setText(folder)

    def start_seconds(self) -> float:
        """The start timecode field in seconds (the session's own value while it is not edited)."""
        if not self.timecode_start.isModified():
            return self._start
        return parse_timecode(self.timecode_start.text(), self._rate)

    def _export(self) -> None:
        try:
            start = self.start_seconds()
        except ExpotionError as exc:
            self.timecode_error.setText(str(exc))
            self.timecode_error.show()
            return
        self.exportRequested.emit(Path(self.folder.text()).expanduser(), self.formats(),
                                  int(self.sample_rate.currentData()), int(self.bit_depth.currentData()),
                                  self.open_folder.isChecked(), start)
        self.accept()
