"""The open session as the window sees it: a studio Session plus Qt signals when parts change.

Every edit the window makes goes through here (undo commands call :meth:`set_user_markers`
and :meth:`set_setting`), so each view redraws from the same model. The analysis and the
takes' audio are results, not settings: they are kept here, never in the session file
(the analysis cache and the take folders hold them on disk).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from expotion_engine.types import ControlTrack, Marker, Take
from studio.session import DeliveryPrefs, Session, TakeRecord

log = logging.getLogger(__name__)


class SessionDocument(QObject):
    """Holds the current :class:`Session`, its analysis and loaded takes; emits what changed."""

    sessionReplaced = Signal()
    markersChanged = Signal()
    settingChanged = Signal(str)
    controlsChanged = Signal()
    takesChanged = Signal()
    modifiedChanged = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._session = Session()
        self._controls: ControlTrack | None = None
        self._takes: dict[str, Take] = {}
        self._modified = False

    # ------------------------------------------------------------------ whole session

    @property
    def session(self) -> Session:
        return self._session

    @property
    def has_video(self) -> bool:
        return self._session.video is not None

    def replace(self, session: Session, controls: ControlTrack | None = None,
                takes: dict[str, Take] | None = None) -> None:
        """Show another session (opened, recovered or made for a new video)."""
        self._session = session
        self._controls = controls
        self._takes = dict(takes or {})
        self._set_modified(False)
        self.sessionReplaced.emit()

    @property
    def modified(self) -> bool:
        """True when the session holds changes that are not saved."""
        return self._modified

    def _set_modified(self, modified: bool) -> None:
        if modified != self._modified:
            self._modified = modified
            self.modifiedChanged.emit(modified)

    def mark_modified(self) -> None:
        self._set_modified(True)

    def save(self, path: str | Path | None = None) -> Path:
        """Save the session (atomically, by studio) and mark it clean."""
        written = self._session.save(path)
        self._set_modified(False)
        return written

    # ------------------------------------------------------------------ markers (undo commands use these)

    @property
    def user_markers(self) -> tuple[Marker, ...]:
        return self._session.user_markers

    def set_user_markers(self, markers: Sequence[Marker]) -> None:
        self._session.set_user_markers(markers)
        self._set_modified(True)
        self.markersChanged.emit()

    # ------------------------------------------------------------------ settings (undo commands use these)

    def setting(self, name: str) -> Any:
        if name == "engine":
            return (self._session.engine, dict(self._session.engine_options))
        return self._session.setting(name)

    def set_setting(self, name: str, value: Any) -> None:
        """Change one session setting by name; ``engine`` takes ``(name, options)``."""
        if name == "engine":
            engine, options = value
            self._session.set_setting("engine", engine)
            self._session.engine_options = dict(options)
        else:
            self._session.set_setting(name, value)
        self._set_modified(True)
        self.settingChanged.emit(name)

    def set_delivery(self, sample_rate: int, bit_depth: int, formats: tuple[str, ...]) -> None:
        """Remember the export dialog's choices in the session (validated by studio)."""
        prefs = DeliveryPrefs(sample_rate, bit_depth, formats)
        if prefs != self._session.export:
            self._session.export = prefs
            self._set_modified(True)

    # ------------------------------------------------------------------ analysis

    @property
    def controls(self) -> ControlTrack | None:
        return self._controls

    def set_controls(self, track: ControlTrack | None) -> None:
        self._controls = track
        self.controlsChanged.emit()

    def controls_stale(self) -> bool:
        """True when the analysis no longer matches the session's range or analysis settings."""
        track = self._controls
        if track is None:
            return False
        wanted = self._session.analysis.to_dict()
        done = dict(track.settings)
        same = all(done.get(f"analysis.{k}", v) == v for k, v in wanted.items() if k not in ("start", "end"))
        end = self._session.video_out if self._session.video_out is not None else track.source.duration
        in_range = abs(track.source.start - self._session.video_in) < 1e-3 and abs(track.source.end - end) < 0.05
        return not (same and in_range)

    # ------------------------------------------------------------------ takes

    @property
    def records(self) -> list[TakeRecord]:
        return list(self._session.takes)

    def take(self, take_id: str) -> Take | None:
        """The loaded audio of take ``take_id`` (None until it is loaded)."""
        return self._takes.get(take_id)

    def chosen_index(self) -> int:
        ids = [r.id for r in self._session.takes]
        return ids.index(self._session.chosen_take) if self._session.chosen_take in ids else -1

    def add_take(self, record: TakeRecord, take: Take) -> None:
        """A new take made by the pipeline (already in the session or not); it becomes the chosen one."""
        if all(r.id != record.id for r in self._session.takes):
            self._session.add_take(record)
        else:
            self._session.choose_take(record.id)
        self._takes[record.id] = take
        self._set_modified(True)
        self.takesChanged.emit()

    def set_loaded_take(self, take_id: str, take: Take) -> None:
        """Keep the audio of a take read from its folder."""
        self._takes[take_id] = take
        self.takesChanged.emit()

    def choose_take(self, index: int) -> None:
        record = self._session.takes[index]
        if record.id != self._session.chosen_take:
            self._session.choose_take(record.id)
            self._set_modified(True)
            self.takesChanged.emit()

    def set_take_mixer(self, take_id: str, mixer: Mapping[str, Any]) -> None:
        """Keep take ``take_id``'s mixer strips (JSON data) with its record, so they are saved and exported."""
        takes = self._session.takes
        for i, record in enumerate(takes):
            if record.id == take_id and dict(record.params.get("mixer", {})) != dict(mixer):
                params = {k: v for k, v in record.params.items() if k != "mixer"}
                if mixer:
                    params["mixer"] = dict(mixer)
                takes[i] = replace(record, params=params)
                self._set_modified(True)

    def remove_take(self, index: int) -> None:
        record = self._session.takes[index]
        self._session.remove_take(record.id)
        self._takes.pop(record.id, None)
        self._set_modified(True)
        self.takesChanged.emit()
