"""The Generate panel: preset browser with descriptions, prompt, engine, seed, BPM override."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ui.engines import EngineChoice, session_choice

MAX_SEED = 2**31 - 1


@dataclass(frozen=True)
class PresetInfo:
    """What the browser shows of a preset."""

    name: str
    title: str
    description: str
    prompt: str = ""


class _PromptEdit(QPlainTextEdit):
    """A prompt box that reports its text when it loses focus or is flushed (one undo step per edit)."""

    committed = Signal(str)

    def commit(self) -> None:
        """Report the text as it is now (the window ignores a text that did not change)."""
        self.committed.emit(self.toPlainText().strip())

    def focusOutEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().focusOutEvent(event)
        self.commit()


class ScorePanel(QWidget):
    """Edits generation settings (``settingEdited(name, value)``) and asks to generate."""

    settingEdited = Signal(str, object)
    generateRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._choices: list[EngineChoice] = []
        self._listed = 0  # entries from set_engines; after them, at most one for the open session's own settings
        self.presets = QListWidget()
        self.presets.setMinimumHeight(120)
        self.presets.currentItemChanged.connect(self._on_preset)
        self.description = QLabel()
        self.description.setWordWrap(True)
        self.description.setObjectName("secondary")
        self.description.setMinimumHeight(48)
        self.description.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.prompt = _PromptEdit()
        self.prompt.setPlaceholderText("Describe the music: genre, mood, instruments (e.g. warm lo-fi piano, no drums)")
        self.prompt.setFixedHeight(64)
        self.prompt.committed.connect(lambda text: self.settingEdited.emit("prompt", text))
        self.engine = QComboBox()
        self.engine.currentIndexChanged.connect(self._on_engine)
        self.engine_detail = QLabel()
        self.engine_detail.setWordWrap(True)
        self.engine_detail.setObjectName("secondary")
        self.seed = QSpinBox()
        self.seed.setRange(0, MAX_SEED)
        self.seed.setKeyboardTracking(False)
        self.seed.valueChanged.connect(lambda v: self.settingEdited.emit("seed", int(v)))
        dice = QPushButton("New seed")
        dice.setToolTip("Pick a random seed: same seed and settings give the same music")
        dice.clicked.connect(lambda: self.seed.setValue(random.randint(0, MAX_SEED)))
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(dice)
        self.bpm_override = QCheckBox("Override")
        self.bpm = QSpinBox()
        self.bpm.setRange(40, 240)
        self.bpm.setValue(100)
        self.bpm.setSuffix(" BPM")
        self.bpm.setEnabled(False)
        self.bpm.setKeyboardTracking(False)
        self.bpm_override.toggled.connect(self._on_bpm_toggle)
        self.bpm.valueChanged.connect(lambda v: self._emit_bpm())
        bpm_row = QHBoxLayout()
        bpm_row.addWidget(self.bpm_override)
        bpm_row.addWidget(self.bpm, 1)
        self.generate_button = QPushButton("Generate")
        self.generate_button.setObjectName("generate")
        self.generate_button.setToolTip("Score the in–out range with these settings (Ctrl+G)")
        self.generate_button.clicked.connect(self.generateRequested)
        form = QFormLayout()
        form.addRow("Prompt", self.prompt)
        form.addRow("Engine", self.engine)
        form.addRow("", self.engine_detail)
        form.addRow("Seed", seed_row)
        form.addRow("Tempo", bpm_row)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Preset"))
        layout.addWidget(self.presets, 2)
        layout.addWidget(self.description)
        layout.addLayout(form)
        layout.addWidget(self.generate_button)

    # ------------------------------------------------------------------ data in

    def set_presets(self, presets: Sequence[PresetInfo]) -> None:
        self.presets.blockSignals(True)
        self.presets.clear()
        for info in presets:
            item = QListWidgetItem(info.title)
            item.setData(Qt.ItemDataRole.UserRole, info)
            item.setToolTip(info.description)
            self.presets.addItem(item)
        self.presets.blockSignals(False)

    def set_engines(self, choices: Sequence[EngineChoice]) -> None:
        """Fill the engine menu; unavailable models are listed greyed out with how to install them."""
        self._choices = list(choices)
        self._listed = len(self._choices)
        model = QStandardItemModel(self.engine)
        for choice in self._choices:
            model.appendRow(self._item(choice))
        self.engine.blockSignals(True)
        self.engine.setModel(model)
        self.engine.setCurrentIndex(0)
        self.engine.blockSignals(False)
        self._show_engine_detail()

    def show_settings(self, values: Mapping[str, Any]) -> None:
        """Show the session's settings without emitting edits."""
        for widget in (self.presets, self.seed, self.bpm, self.bpm_override, self.engine):
            widget.blockSignals(True)
        try:
            preset = values.get("preset")
            for row in range(self.presets.count()):
                if self.presets.item(row).data(Qt.ItemDataRole.UserRole).name == preset:
                    self.presets.setCurrentRow(row)
                    self._show_description(self.presets.item(row).data(Qt.ItemDataRole.UserRole))
            if self.prompt.toPlainText().strip() != (values.get("prompt") or ""):
                self.prompt.setPlainText(values.get("prompt") or "")
            self.seed.setValue(int(values.get("seed") or 0))
            bpm = values.get("bpm")
            self.bpm_override.setChecked(bpm is not None)
            self.bpm.setEnabled(bpm is not None)
            if bpm is not None:
                self.bpm.setValue(int(round(float(bpm))))
            engine, options = values.get("engine", "procedural"), values.get("engine_options") or {}
            index = self._engine_index(engine, options)
            if index < 0:
                index = self._add_session_engine(session_choice(engine, options))
            self.engine.setCurrentIndex(index)
            self._show_engine_detail()
        finally:
            for widget in (self.presets, self.seed, self.bpm, self.bpm_override, self.engine):
                widget.blockSignals(False)

    def commit_pending(self) -> None:
        """Report what is typed but not yet committed (prompt, seed, BPM) so an action reads the current text."""
        for spin in (self.seed, self.bpm):
            spin.interpretText()
        self.prompt.commit()

    def current_engine(self) -> EngineChoice | None:
        index = self.engine.currentIndex()
        return self._choices[index] if 0 <= index < len(self._choices) else None

    # ------------------------------------------------------------------ internals

    def _engine_index(self, engine: str, options: Mapping[str, Any]) -> int:
        for i, choice in enumerate(self._choices):
            if choice.engine == engine and all(options.get(k) == v for k, v in choice.options.items()):
                return i
        return -1

    @staticmethod
    def _item(choice: EngineChoice) -> QStandardItem:
        item = QStandardItem(choice.label if choice.available else f"{choice.label} (not installed)")
        item.setToolTip(choice.detail)
        item.setEnabled(choice.available)
        return item

    def _add_session_engine(self, choice: EngineChoice) -> int:
        """Add (in place of an earlier session's) the entry for settings the menu does not list; its index."""
        model = self.engine.model()  # a QStandardItemModel: set_engines' or the combo box's own
        model.removeRows(self._listed, model.rowCount() - self._listed)
        del self._choices[self._listed:]
        self._choices.append(choice)
        model.appendRow(self._item(choice))
        return len(self._choices) - 1

    def _on_preset(self, current: QListWidgetItem | None, _previous: QListWidgetItem | None) -> None:
        if current is None:
            return
        info: PresetInfo = current.data(Qt.ItemDataRole.UserRole)
        self._show_description(info)
        self.settingEdited.emit("preset", info.name)

    def _show_description(self, info: PresetInfo) -> None:
        text = info.description
        if info.prompt:
            text += f"\nPreset prompt: “{info.prompt}”"
        self.description.setText(text)

    def _on_engine(self, index: int) -> None:
        self._show_engine_detail()
        choice = self.current_engine()
        if choice is not None:
            self.settingEdited.emit("engine", (choice.engine, dict(choice.options)))

    def _show_engine_detail(self) -> None:
        choice = self.current_engine()
        self.engine_detail.setText(choice.detail if choice is not None else "")

    def _on_bpm_toggle(self, on: bool) -> None:
        self.bpm.setEnabled(on)
        self._emit_bpm()

    def _emit_bpm(self) -> None:
        self.settingEdited.emit("bpm", float(self.bpm.value()) if self.bpm_override.isChecked() else None)
