"""Playback: the video player (with its own sound) and the take's audio, kept in sync.

The video's QMediaPlayer is the master clock. The take's mix is a second QMediaPlayer
slaved to it: music time 0 is the take's start in video time, so the take plays only
while the playhead is inside it, and is re-seeked when it drifts more than
``DRIFT_S`` from the video. J/K/L shuttle: L plays forward (again: 2x, 4x), K pauses,
J plays backward (again: 2x, 4x) by stepping frames on a timer, since media players
cannot play backward.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, QUrl, Signal, Slot
from PySide6.QtMultimedia import QAudioOutput, QMediaMetaData, QMediaPlayer
from PySide6.QtMultimediaWidgets import QGraphicsVideoItem

log = logging.getLogger(__name__)

DRIFT_S = 0.08
TICK_MS = 33
SHUTTLE_RATES = (1.0, 2.0, 4.0)


class Transport(QObject):
    """Plays a video with a take's mix in sync; reports the playhead position in seconds."""

    positionChanged = Signal(float)
    playingChanged = Signal(bool)
    videoLoaded = Signal(float)  # duration, s
    errorOccurred = Signal(str)

    def __init__(self, video_item: QGraphicsVideoItem, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.video = QMediaPlayer(self)
        self.video_audio = QAudioOutput(self)
        self.video.setAudioOutput(self.video_audio)
        self.video.setVideoOutput(video_item)
        self.take = QMediaPlayer(self)
        self.take_audio = QAudioOutput(self)
        self.take.setAudioOutput(self.take_audio)
        self._take_start = 0.0
        self._take_duration = 0.0
        self._fps = 25.0
        self._position = 0.0
        self._playing = False
        self._rate_index = 0
        self._reverse_index = -1
        self._range: tuple[float, float] | None = None
        self._announced = False
        self._tick = QTimer(self)
        self._tick.setInterval(TICK_MS)
        self._tick.timeout.connect(self._on_tick)
        self._reverse = QTimer(self)
        self._reverse.setInterval(40)
        self._reverse.timeout.connect(self._on_reverse_step)
        self.video.positionChanged.connect(self._on_player_position)
        self.video.mediaStatusChanged.connect(self._on_status)
        self.video.errorOccurred.connect(self._on_error)
        self.take.errorOccurred.connect(self._on_error)

    # ------------------------------------------------------------------ loading

    def load(self, path: str | Path) -> None:
        """Open a video file; ``videoLoaded(duration)`` follows when it is ready."""
        self.stop()
        self._position = 0.0
        self._announced = False
        url = QUrl.fromLocalFile(str(Path(path).resolve()))
        if self.video.source() == url:
            # QMediaPlayer ignores the source it already has: no videoLoaded, and the picture stays black
            self.video.setSource(QUrl())
        self.video.setSource(url)

    def set_fps(self, fps: float) -> None:
        """Frame rate for frame stepping (from the probe; the player's metadata is a fallback)."""
        if fps > 0:
            self._fps = float(fps)

    @property
    def fps(self) -> float:
        return self._fps

    def set_take_audio(self, path: str | Path | None, start: float = 0.0, duration: float = 0.0) -> None:
        """Play ``path`` (a WAV of the take's mix) from video time ``start``; None for no take."""
        position = self.take.position()
        self._take_start = float(start)
        self._take_duration = float(duration)
        if path is None:
            self.take.setSource(QUrl())
            return
        self.take.setSource(QUrl.fromLocalFile(str(Path(path).resolve())))
        self.take.setPlaybackRate(self.video.playbackRate())
        if position > 0:
            self.take.setPosition(position)
        self._sync_take(force=True)

    def set_play_range(self, start: float, end: float) -> None:
        """Stop playback at ``end`` (the out point); playback started outside starts at ``start``."""
        self._range = (float(start), float(end))

    # ------------------------------------------------------------------ state

    @property
    def position(self) -> float:
        return self._position

    @property
    def duration(self) -> float:
        return self.video.duration() / 1000.0

    @property
    def playing(self) -> bool:
        return self._playing

    def _set_playing(self, playing: bool) -> None:
        if playing != self._playing:
            self._playing = playing
            self.playingChanged.emit(playing)

    # ------------------------------------------------------------------ commands

    @Slot()
    def play(self) -> None:
        """Play forward at 1x from the playhead (from the in point when past the out point)."""
        self._stop_reverse()
        self._rate_index = 0
        self._start_forward(1.0)

    def _start_forward(self, rate: float) -> None:
        if self.video.source().isEmpty():
            return
        if self._range is not None and self._position >= self._range[1] - 1e-3:
            self.seek(self._range[0])
        self.video.setPlaybackRate(rate)
        self.take.setPlaybackRate(rate)
        self.video.play()
        self._tick.start()
        self._set_playing(True)
        self._sync_take(force=True)

    @Slot()
    def pause(self) -> None:
        """Pause video and take (K)."""
        self._stop_reverse()
        self._rate_index = 0
        self.video.pause()
        self.take.pause()
        self._tick.stop()
        self._set_playing(False)
        self._position = self.video.position() / 1000.0
        self.positionChanged.emit(self._position)

    def stop(self) -> None:
        """Halt playback (video and take) and the timers, keeping the playhead.

        Players are paused, never ``QMediaPlayer.stop()``ped: stopping makes the FFmpeg backend
        tear down and rebuild its decoders and seek to 0 on the GUI thread, work that can wait
        on its threads, and nothing here needs a stopped player.
        """
        self._stop_reverse()
        self._tick.stop()
        for player in (self.video, self.take):
            if player.playbackState() == QMediaPlayer.PlaybackState.PlayingState:
                player.pause()
        self._set_playing(False)

    def close(self) -> None:
        """Release both players' media when the window closes (what their destructors would do, done once, now)."""
        self.stop()
        for player in (self.video, self.take):
            if not player.source().isEmpty():
                player.setSource(QUrl())

    @Slot()
    def toggle(self) -> None:
        """Space: play or pause."""
        if self._playing:
            self.pause()
        else:
            self.play()

    @Slot()
    def shuttle_forward(self) -> None:
        """L: play forward; pressed again while playing forward, faster (2x, 4x)."""
        if self._playing and self._reverse_index < 0:
            self._rate_index = min(self._rate_index + 1, len(SHUTTLE_RATES) - 1)
        else:
            self._stop_reverse()
            self._rate_index = 0
        self._start_forward(SHUTTLE_RATES[self._rate_index])

    @Slot()
    def shuttle_backward(self) -> None:
        """J: play backward; pressed again, faster (2x, 4x). Video only, as editors do."""
        if self._reverse_index >= 0:
            self._reverse_index = min(self._reverse_index + 1, len(SHUTTLE_RATES) - 1)
            return
        self.video.pause()
        self.take.pause()
        self._tick.stop()
        self._reverse_index = 0
        self._reverse.start()
        self._set_playing(True)

    def _stop_reverse(self) -> None:
        if self._reverse_index >= 0:
            self._reverse.stop()
            self._reverse_index = -1

    @Slot()
    def _on_reverse_step(self) -> None:
        step = SHUTTLE_RATES[self._reverse_index] * self._reverse.interval() / 1000.0
        target = self._position - step
        lower = self._range[0] if self._range is not None else 0.0
        if target <= lower:
            self.seek(lower)
            self.pause()
            return
        self.seek(target)

    def seek(self, seconds: float) -> None:
        """Move the playhead (scrubbing calls this continuously); keeps playing if playing."""
        seconds = min(max(float(seconds), 0.0), max(self.duration, 0.0)) if self.duration > 0 else 0.0
        self._position = seconds
        self.video.setPosition(int(round(seconds * 1000)))
        self._sync_take(force=True)
        self.positionChanged.emit(seconds)

    def step_frames(self, count: int) -> None:
        """←/→: pause and move ``count`` frames (snapped to the frame grid)."""
        if self._playing:
            self.pause()
        frame = round(self._position * self._fps) + count
        self.seek(max(frame, 0) / self._fps)

    # ------------------------------------------------------------------ sync

    def _take_time(self) -> float:
        return self._position - self._take_start

    def _sync_take(self, force: bool = False) -> None:
        if self.take.source().isEmpty():
            return
        music = self._take_time()
        inside = 0.0 <= music < self._take_duration
        forward = self._playing and self._reverse_index < 0
        if not inside:
            if self.take.playbackState() == QMediaPlayer.PlaybackState.PlayingState:
                self.take.pause()
            return
        if force or abs(self.take.position() / 1000.0 - music) > DRIFT_S:
            self.take.setPosition(int(round(music * 1000)))
        if forward and self.take.playbackState() != QMediaPlayer.PlaybackState.PlayingState:
            self.take.play()
        elif not forward and self.take.playbackState() == QMediaPlayer.PlaybackState.PlayingState:
            self.take.pause()

    @Slot()
    def _on_tick(self) -> None:
        self._position = self.video.position() / 1000.0
        if self._range is not None and self._position >= self._range[1]:
            self.pause()
            self.seek(self._range[1])
            return
        self._sync_take()
        self.positionChanged.emit(self._position)

    @Slot(int)
    def _on_player_position(self, ms: int) -> None:
        if not self._playing:
            return
        self._position = ms / 1000.0

    @Slot(QMediaPlayer.MediaStatus)
    def _on_status(self, status: QMediaPlayer.MediaStatus) -> None:
        if status == QMediaPlayer.MediaStatus.LoadedMedia and not self._announced:
            self._announced = True
            rate = self.video.metaData().value(QMediaMetaData.Key.VideoFrameRate)
            if isinstance(rate, int | float) and rate > 0:
                self._fps = float(rate)
            self.video.pause()  # a paused (not stopped) player shows the first frame and renders seeks
            self.video.setPosition(0)
            self.videoLoaded.emit(self.duration)
        elif status == QMediaPlayer.MediaStatus.EndOfMedia:
            self._tick.stop()
            self.take.pause()
            self._set_playing(False)
            self.video.pause()  # stay paused on the last frame so seeking shows frames again
        elif status == QMediaPlayer.MediaStatus.InvalidMedia:
            self.errorOccurred.emit(f"{self.video.source().toLocalFile()}: the player cannot decode this file.")

    @Slot(QMediaPlayer.Error, str)
    def _on_error(self, error: QMediaPlayer.Error, message: str) -> None:
        if error != QMediaPlayer.Error.NoError:
            log.warning("media player error %s: %s", error, message)
            self.errorOccurred.emit(message or str(error))
