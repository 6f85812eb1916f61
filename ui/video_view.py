"""The video picture: a QGraphicsVideoItem in a QGraphicsView, letterboxed to the view.

A graphics item (not a QVideoWidget) so that ``grab()``, screenshots and tests see the
frame; it also accepts dropped video and session files.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRectF, QSizeF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QDragEnterEvent, QDropEvent, QFont
from PySide6.QtMultimediaWidgets import QGraphicsVideoItem
from PySide6.QtWidgets import QFrame, QGraphicsScene, QGraphicsSimpleTextItem, QGraphicsView, QWidget

from studio.session import SESSION_SUFFIX
from ui.theme import DIM_TEXT

#: Suffixes the app accepts when a file is dropped on it (and offers in the Open Video dialog).
VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".mkv", ".avi", ".webm", ".mxf")


def dropped_path(event: QDragEnterEvent | QDropEvent) -> Path | None:
    """The first local video or session file in a drag, or None."""
    mime = event.mimeData()
    if not mime.hasUrls():
        return None
    for url in mime.urls():
        if url.isLocalFile():
            path = Path(url.toLocalFile())
            if path.suffix.lower() in (*VIDEO_SUFFIXES, SESSION_SUFFIX):
                return path
    return None


class VideoView(QGraphicsView):
    """Shows a media player's frames; emits ``fileDropped(path)`` for dropped files."""

    fileDropped = Signal(Path)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setBackgroundBrush(QBrush(QColor("#000000")))
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setAcceptDrops(True)
        self.setMinimumSize(320, 180)
        self._scene = QGraphicsScene(self)
        self.setScene(self._scene)
        self.video_item = QGraphicsVideoItem()
        self.video_item.setSize(QSizeF(640, 360))
        self._scene.addItem(self.video_item)
        self.video_item.nativeSizeChanged.connect(self._on_native_size)
        self._hint = QGraphicsSimpleTextItem("Drop a video here, or File ▸ Open Video…")
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() + 2)
        self._hint.setFont(font)
        self._hint.setBrush(QColor(DIM_TEXT))
        self._scene.addItem(self._hint)
        self._center_hint()

    def set_has_video(self, present: bool) -> None:
        """Show the drop hint only while no video is loaded."""
        self._hint.setVisible(not present)

    def _center_hint(self) -> None:
        box = self._hint.boundingRect()
        size = self.video_item.size()
        self._hint.setPos((size.width() - box.width()) / 2, (size.height() - box.height()) / 2)

    def _on_native_size(self, size: QSizeF) -> None:
        if size.width() > 0 and size.height() > 0:
            self.video_item.setSize(size)
            self._center_hint()
            self._fit()

    def _fit(self) -> None:
        rect = QRectF(self.video_item.pos(), self.video_item.size())
        self._scene.setSceneRect(rect)
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._fit()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self._fit()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        if dropped_path(event) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802 - Qt override
        if dropped_path(event) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        path = dropped_path(event)
        if path is not None:
            event.acceptProposedAction()
            self.fileDropped.emit(path)
