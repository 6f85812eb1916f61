"""Undoable edits (QUndoCommand) of user markers and session settings.

Marker commands keep the marker list before and after the edit, so undo and redo restore
exactly what the model held. Setting commands are pushed after the window has applied
(and studio has validated) the change; consecutive steps of one spin box merge into one
undo step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Protocol

from PySide6.QtGui import QUndoCommand

from expotion_engine.types import Marker

_SETTING_ID = 7001
_UNSET = object()

#: Settings edited by stepping a spin box: consecutive changes merge into one undo step.
MERGING_SETTINGS = ("seed", "bpm")


class MarkerModel(Protocol):
    """What marker commands need from the document."""

    @property
    def user_markers(self) -> tuple[Marker, ...]: ...

    def set_user_markers(self, markers: Sequence[Marker]) -> None: ...


class SettingModel(Protocol):
    """What setting commands need from the document."""

    def setting(self, name: str) -> Any: ...

    def set_setting(self, name: str, value: Any) -> None: ...


class _MarkersCommand(QUndoCommand):
    def __init__(self, model: MarkerModel, after: Sequence[Marker], text: str) -> None:
        super().__init__(text)
        self._model = model
        self._before = tuple(model.user_markers)
        self._after = tuple(after)

    def redo(self) -> None:
        self._model.set_user_markers(self._after)

    def undo(self) -> None:
        self._model.set_user_markers(self._before)


class AddMarker(_MarkersCommand):
    """Add ``marker`` (music time, s) after the existing user markers."""

    def __init__(self, model: MarkerModel, marker: Marker) -> None:
        super().__init__(model, (*model.user_markers, marker), f"Add marker “{marker.name}”")


class MoveMarker(_MarkersCommand):
    """Move user marker ``index`` to music time ``time`` (not before the in point)."""

    def __init__(self, model: MarkerModel, index: int, time: float) -> None:
        markers = list(model.user_markers)
        markers[index] = replace(markers[index], time=max(float(time), 0.0))
        super().__init__(model, markers, f"Move marker “{markers[index].name}”")


class RenameMarker(_MarkersCommand):
    """Rename user marker ``index``."""

    def __init__(self, model: MarkerModel, index: int, name: str) -> None:
        markers = list(model.user_markers)
        old = markers[index].name
        markers[index] = replace(markers[index], name=name)
        super().__init__(model, markers, f"Rename marker “{old}” to “{name}”")


class RecolorMarker(_MarkersCommand):
    """Give user marker ``index`` its own colour (``#rrggbb``; None: its kind's colour)."""

    def __init__(self, model: MarkerModel, index: int, color: str | None) -> None:
        markers = list(model.user_markers)
        markers[index] = replace(markers[index], color=color)
        super().__init__(model, markers, f"Colour marker “{markers[index].name}”")


class CommentMarker(_MarkersCommand):
    """Give user marker ``index`` a comment ("" removes it); exports that carry comments write it."""

    def __init__(self, model: MarkerModel, index: int, comment: str) -> None:
        markers = list(model.user_markers)
        markers[index] = replace(markers[index], comment=comment)
        super().__init__(model, markers, f"Comment on marker “{markers[index].name}”")


class DeleteMarker(_MarkersCommand):
    """Delete user marker ``index``."""

    def __init__(self, model: MarkerModel, index: int) -> None:
        markers = list(model.user_markers)
        removed = markers.pop(index)
        super().__init__(model, markers, f"Delete marker “{removed.name}”")


class SetSetting(QUndoCommand):
    """Change one named session setting (prompt, seed, BPM, preset, engine, in/out, analysis values).

    With ``before`` given the change has already been applied (and validated) by the caller,
    so the first ``redo`` (which QUndoStack.push makes) does nothing.
    """

    def __init__(self, model: SettingModel, name: str, value: Any, label: str | None = None,
                 *, before: Any = _UNSET) -> None:
        super().__init__(f"Change {label or name.removeprefix('analysis.').replace('_', ' ')}")
        self._model = model
        self.name = name
        self._applied = before is not _UNSET
        self._before = model.setting(name) if before is _UNSET else before
        self._after = value

    def id(self) -> int:  # noqa: A003 - Qt API name
        return _SETTING_ID if self.name in MERGING_SETTINGS or self.name.startswith("analysis.") else -1

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt override
        if not isinstance(other, SetSetting) or other.name != self.name:
            return False
        self._after = other._after
        return True

    def redo(self) -> None:
        if self._applied:
            self._applied = False
            return
        self._model.set_setting(self.name, self._after)

    def undo(self) -> None:
        self._model.set_setting(self.name, self._before)
