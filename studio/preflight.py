"""Checks before expensive work: the output is writable, the disk has room for the take and its
delivery, the timecode rate resolves and the chosen formats can be written.

``expotion score`` runs these before analysing a frame, so a full disk or a read-only folder
costs a second, not the whole analysis and generation.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from expotion_engine.errors import ExportError
from expotion_engine.media.probe import probe_video
from studio.export.text import safe_name
from studio.fsutil import check_take_targets, os_error_sentence
from studio.session import Session

log = logging.getLogger(__name__)

#: the delivery folder ``expotion score`` writes inside its output folder (``studio.commands.score``)
DELIVERY_FOLDER = "delivery"
#: where a take's files go in its folder (a link or file in the way of ``stems/`` is refused up front)
TAKE_LAYOUT = ("mix.wav", "take.json", "stems/mix.wav")
#: stems a take may carry (the procedural engine writes four, separation up to six)
MAX_STEMS = 6
#: bytes per sample frame of a take WAV (stereo 32-bit float)
TAKE_FRAME_BYTES = 2 * 4
#: headroom over the estimate (staging copies, project files, the session, the MIDI)
MARGIN = 1.25
MARGIN_BYTES = 16 * 2**20
#: endings of the files Expotion reads and writes: a new output folder named so is a file name given to -o
FILE_SUFFIXES = frozenset({
    ".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mts", ".m2ts", ".mxf",  # video
    ".wav", ".aif", ".aiff", ".flac", ".mp3", ".m4a", ".ogg", ".opus",  # audio
    ".mid", ".midi", ".expotion", ".edl", ".otio", ".fcpxml", ".rpp", ".dawproject",  # session and delivery
})


@dataclass(frozen=True)
class SpaceEstimate:
    """Bytes a score run needs in its output folder: the take, the delivery audio and the re-muxed video."""

    take: int
    delivery_audio: int
    video: int

    @property
    def total(self) -> int:
        """Everything with headroom, in bytes."""
        return int((self.take + self.delivery_audio + self.video) * MARGIN) + MARGIN_BYTES


def range_seconds(session: Session) -> float:
    """Length of the session's range in seconds (probing the video when the range is open-ended)."""
    end = session.video_out
    if end is None:
        end = probe_video(session.check_video()).duration
    return max(float(end) - float(session.video_in or 0.0), 0.0)


def estimate_space(session: Session, formats: list[str] | None, *, delivery: bool) -> SpaceEstimate:
    """What a score of ``session`` will write, from its range, sample rate, bit depth and video size."""
    seconds = range_seconds(session)
    rate = session.export.sample_rate
    files = 1 + MAX_STEMS
    take = int(seconds * rate * TAKE_FRAME_BYTES * files)
    if not delivery:
        return SpaceEstimate(take, 0, 0)
    chosen = set(formats) if formats else None
    audio = 0 if chosen is not None and "audio" not in chosen else int(seconds * rate * 2 * session.export.bit_depth
                                                                       // 8 * files)
    video = 0
    if (chosen is None or "video" in chosen) and session.video_found and session.video is not None:
        info = probe_video(session.video)
        share = min(seconds / info.duration, 1.0) if info.duration > 0 else 1.0
        # the re-mux copies the picture and adds PCM-sized audio at most
        video = int(os.path.getsize(session.video) * share) + int(seconds * rate * 2 * 4)
    return SpaceEstimate(take, audio, video)


def check_writable(folder: Path) -> None:
    """Fail with one sentence unless a file can be created (and removed) in ``folder``."""
    try:
        fd, probe = tempfile.mkstemp(prefix=".expotion-probe.", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        exc.filename = str(folder)  # the folder, not the probe's name inside it
        raise ExportError(os_error_sentence(exc, "the output folder is not writable")
                          or f"{folder}: cannot write into the output folder ({exc.strerror}).") from None


def check_folder_name(path: str | os.PathLike[str]) -> None:
    """Refuse a new output folder named like a media, MIDI or session file (``-o clip.mp4``), which a user
    means as the output file; an existing folder of that name is used as it is."""
    path = Path(path)
    if path.suffix.lower() in FILE_SUFFIXES and not path.exists():
        raise ExportError(f"{path}: -o names the output folder, not a file; give a folder name without "
                          f"{path.suffix} (the files inside are named from the title).")


def check_output_path(path: str | os.PathLike[str] | None, *, folder: bool = False) -> None:
    """Fail with one sentence before any work when ``path`` (a file, or a ``folder``) cannot be written:
    a part of it is a file, it is a folder where a file is wanted, a new folder is named like a file, an
    existing output folder or the nearest existing folder above it is not writable."""
    if path is None:
        return
    if folder:
        check_folder_name(path)
    path = Path(path).absolute()
    if path.exists():
        if folder and not path.is_dir():
            raise ExportError(f"{path} is a file; the output must be a folder.")
        if not folder and path.is_dir():
            raise ExportError(f"{path} is a folder; the output must be a file name.")
        if folder:
            check_writable(path)
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ExportError(f"{path}: cannot write there ({parent} is a file, not a folder); "
                                  "choose another output.")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise ExportError(f"{path}: cannot write there ({parent} is not writable); choose another output.")
            return


def check_free_space(folder: Path, needed: int) -> None:
    """Fail with one sentence when the disk of ``folder`` has less than ``needed`` bytes free."""
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise ExportError(
            f"{folder}: this take and its delivery need about {_mb(needed)} and the disk has {_mb(free)} free; "
            "free some space or choose another output folder."
        )
    log.info("free space: %s needed, %s free", _mb(needed), _mb(free))


def check_formats_possible(session: Session, formats: list[str] | None) -> None:
    """Fail when a chosen format cannot be written: the video formats need the video and ffmpeg."""
    chosen = set(formats or ())
    if "video" not in chosen and (chosen or not session.video_found):
        return
    if "video" in chosen and not session.video_found:
        raise ExportError(f"The video format needs the source video, which is missing ({session.video}).")
    try:
        import imageio_ffmpeg

        imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError, OSError) as exc:
        raise ExportError(f"The video format needs ffmpeg, which is not available ({exc}).") from None


def write_folders(session: Session, out: Path, *, delivery: bool = True) -> list[Path]:
    """The folders a score into ``out`` writes into: ``out``, the take's ``stems/``, the delivery folder and its
    stems folder (those that do not exist yet are made inside one that does)."""
    folders = [out, out / "stems"]
    if delivery:
        root = out / DELIVERY_FOLDER
        folders += [root, root / f"{safe_name(session.title)}_stems"]
    return folders


def check_folders(folders: list[Path]) -> None:
    """Fail with one sentence when one of ``folders`` is a file or exists and cannot be written into."""
    for folder in folders:
        if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
            raise ExportError(f"{folder} is a file; the output needs a folder there, so move it or choose another "
                              "output folder.")
        if folder.is_dir():
            check_writable(folder)


def preflight(session: Session, out: Path, *, delivery: bool = True) -> SpaceEstimate:
    """Every check ``score`` makes before analysing: every folder it writes into is writable (the take's, the
    delivery's), room on the disk, timecode, formats."""
    check_writable(out)
    check_take_targets(out, list(TAKE_LAYOUT), force=True)
    check_folders(write_folders(session, out, delivery=delivery))
    formats = list(session.export.formats) or None
    if delivery:
        session.timecode()
        check_formats_possible(session, formats)
    estimate = estimate_space(session, formats, delivery=delivery)
    check_free_space(out, estimate.total)
    return estimate


def _mb(size: int) -> str:
    return f"{size / 2**20:,.0f} MB"


__all__ = ["DELIVERY_FOLDER", "FILE_SUFFIXES", "SpaceEstimate", "check_folder_name", "check_folders",
           "check_formats_possible", "check_free_space", "check_output_path", "check_writable", "estimate_space",
           "preflight", "range_seconds", "write_folders"]
