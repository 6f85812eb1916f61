"""What every exporter is given: the Take, where the music sits on the video, and the
delivery settings; plus the one place that writes delivery files safely.

Exporters never open files themselves: they ask :class:`DeliveryFolder` for a path
inside the output folder (never outside it), write to the temporary name it hands
out, and it renames into place (or into a staging folder that is moved into place
when the whole delivery is done). Without ``force`` an existing file is never replaced.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from expotion_engine.errors import ExportError
from expotion_engine.types import Marker, Take
from studio.export.manifest import MANIFEST, Manifest
from studio.export.text import clean_line, safe_name, valid_unicode
from studio.fsutil import os_error_sentence, publish_folder
from studio.timecode import DAY_SECONDS, RateChoice, TimecodeRate, check_delivery_rate, choose_rate

SAMPLE_RATES = (44100, 48000, 96000)
BIT_DEPTHS = (16, 24, 32)
VIDEO_AUDIO = ("aac", "pcm")
VIDEO_TRACKS = ("keep", "mix", "score")
TIMELINE_AUDIO = ("both-mix-enabled", "mix", "stems")
MIDI_START = ("zero", "timecode")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportSettings:
    """Delivery format choices: sample rate, bit depth (32 = float), the re-muxed video's audio
    codec (``aac``, or ``pcm`` in a MOV/MKV), overwrite policy, and its audio streams
    (``video_tracks``: ``keep`` the score then the source's own audio, ``mix`` also a
    pre-mixed score + source stream first, ``score`` the score alone), the editor timelines' audio
    (``timeline_audio``: ``both-mix-enabled`` the mix on an enabled track and the stems on disabled
    tracks, ``mix`` the mix alone, ``stems`` the stems alone, enabled) and where the MIDI file
    starts (``midi_start``: ``zero`` at the music's first bar with its SMPTE offset as metadata,
    ``timecode`` at timecode 00:00:00:00 with a pre-roll up to the music, for hosts that ignore
    SMPTE offsets)."""

    sample_rate: int = 48000
    bit_depth: int = 24
    force: bool = False
    video_audio: str = "aac"
    video_tracks: str = "keep"
    timeline_audio: str = "both-mix-enabled"
    midi_start: str = "zero"

    def __post_init__(self) -> None:
        if self.sample_rate not in SAMPLE_RATES:
            raise ExportError(
                f"Sample rate {self.sample_rate} Hz is not offered; choose one of "
                f"{', '.join(str(r) for r in SAMPLE_RATES)}."
            )
        if self.bit_depth not in BIT_DEPTHS:
            raise ExportError(
                f"Bit depth {self.bit_depth} is not offered; choose one of {', '.join(map(str, BIT_DEPTHS))} "
                "(32 is float)."
            )
        if self.video_audio not in VIDEO_AUDIO:
            raise ExportError(
                f"Video audio codec {self.video_audio!r} is not offered; choose one of {', '.join(VIDEO_AUDIO)}."
            )
        if self.video_tracks not in VIDEO_TRACKS:
            raise ExportError(
                f"Video audio {self.video_tracks!r} is not offered; choose one of {', '.join(VIDEO_TRACKS)}."
            )
        if self.timeline_audio not in TIMELINE_AUDIO:
            raise ExportError(
                f"Timeline audio {self.timeline_audio!r} is not offered; choose one of {', '.join(TIMELINE_AUDIO)}."
            )
        if self.midi_start not in MIDI_START:
            raise ExportError(f"MIDI start {self.midi_start!r} is not offered; choose one of {', '.join(MIDI_START)}.")


@dataclass(frozen=True, eq=False)
class ExportJob:
    """One delivery: a Take placed on a video.

    Time zero is the video's first presented frame: music time 0 is ``video_in`` seconds
    after it (whatever the container's own start time; the re-mux maps it), and that
    frame carries the timecode ``timecode_start`` (seconds, e.g. 3600.0 for 01:00:00:00),
    so music time ``t`` is at timecode ``timecode_start + video_in + t``. Timecode counts
    at ``timecode_rate`` (a declared SMPTE rate, :func:`studio.timecode.parse_rate`) or,
    when None, the rate :func:`studio.timecode.choose_rate` picks for ``fps``.
    ``markers`` are the Take's markers plus the session's user cues, in music time.
    ``take_name`` is how the session calls this take (written into the BWF iXML); blank
    names it by its seed. The title is kept to one line of valid Unicode
    (:func:`studio.export.text.clean_line`) and marker names to valid Unicode (each writer takes
    :attr:`studio.export.cues.Cue.label`, one line, or escapes the full name itself).
    """

    take: Take
    title: str
    video: Path | None = None
    video_in: float = 0.0
    timecode_start: float = 0.0
    fps: float = 25.0
    markers: tuple[Marker, ...] = ()
    settings: ExportSettings = field(default_factory=ExportSettings)
    take_name: str = ""
    timecode_rate: str | None = None

    def __post_init__(self) -> None:
        for name in ("video_in", "timecode_start"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0.0):
                raise ExportError(f"Export {name} must be a time >= 0 s, got {value!r}.")
        if not (math.isfinite(self.fps) and self.fps > 0):
            raise ExportError(f"Export frame rate must be > 0 fps, got {self.fps!r}.")
        if self.start_seconds + self.take.duration >= DAY_SECONDS:
            raise ExportError(
                f"The music would run past timecode 24:00:00:00 (it starts {self.start_seconds:.3f} s into the "
                "timecode day); choose an earlier --timecode-start, timecode does not wrap."
            )
        object.__setattr__(self, "title", clean_line(self.title) or "untitled")
        object.__setattr__(self, "markers", tuple(replace(m, name=valid_unicode(m.name)) for m in self.markers))
        if self.video is not None:
            object.__setattr__(self, "video", Path(self.video))
        check_delivery_rate(self.tc)

    @property
    def timecode(self) -> RateChoice:
        """The timecode rate every format counts at, and whether it was mapped from ``fps``."""
        return choose_rate(self.fps, self.timecode_rate)

    @property
    def tc(self) -> TimecodeRate:
        """Shorthand for ``timecode.rate``."""
        return self.timecode.rate

    @property
    def take_label(self) -> str:
        """``take_name``, or ``seed<N>`` when the take has no name."""
        return self.take_name or f"seed{self.take.seed}"

    @property
    def start_seconds(self) -> float:
        """Absolute timecode of music time 0, in seconds."""
        return self.timecode_start + self.video_in

    @property
    def slug(self) -> str:
        """``title`` made safe for file names (letters, digits, ``-``, ``_``)."""
        return safe_name(self.title)

    @property
    def mix_file(self) -> str:
        """Relative path of the mix BWF in the delivery folder (project files point here)."""
        return f"{self.slug}_mix.wav"

    def stem_file(self, stem: str) -> str:
        """Relative path of one stem's BWF in the delivery folder."""
        return f"{self.slug}_stems/{self.slug}_{safe_name(stem)}.wav"

    def file(self, suffix: str) -> str:
        """Relative path of a delivery file named after the title: ``<slug><suffix>`` (e.g. ``.mid``)."""
        return f"{self.slug}{suffix}"


class DeliveryFolder:
    """Writes files under one output folder: inside it only, atomically, no silent overwrite.

    With ``staging`` (a scratch folder on the same disk) files are written there and only
    :meth:`commit` moves them into ``root``, so a delivery appears whole or not at all;
    paths handed out and recorded in :attr:`written` are always the final ones in ``root``.
    """

    def __init__(self, root: str | os.PathLike[str], *, force: bool = False,
                 staging: str | os.PathLike[str] | None = None, own: frozenset[str] = frozenset()) -> None:
        self.root = Path(root).resolve()
        self.force = force
        self.staging = None if staging is None else Path(staging).resolve()
        self.written: list[Path] = []
        #: Expotion's own bookkeeping files (the previous delivery's README) replaced even without ``force``
        self.own = frozenset((self.root / relative).resolve() for relative in own)

    def path(self, relative: str | os.PathLike[str]) -> Path:
        """The absolute path of ``relative`` inside the folder; refuses anything outside it."""
        target = (self.root / relative).resolve()
        if target != self.root and self.root not in target.parents:
            raise ExportError(f"{relative}: refusing to write outside the output folder {self.root}.")
        if target.exists() and not self.force and target not in self.own:
            raise ExportError(f"{target} already exists; use --force to overwrite it.")
        return target

    def check(self, relatives: list[str]) -> None:
        """Fail before anything is written when any of ``relatives`` cannot be written: it exists (without
        ``force``), a folder is where it goes, a file is where its folder goes, or its folder is not writable."""
        for relative in relatives:
            check_place(self.root, self.path(relative))

    def _place(self, target: Path) -> Path:
        """Where ``target`` is written now: itself, or its place in the staging folder."""
        return target if self.staging is None else self.staging / target.relative_to(self.root)

    @contextlib.contextmanager
    def open_temp(self, relative: str | os.PathLike[str]) -> Iterator[Path]:
        """Yield a temporary path beside the target; rename it into place when the block succeeds."""
        target = self.path(relative)
        place = self._place(target)
        place.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=place.parent)
        os.close(fd)
        tmp_path = Path(tmp)
        try:
            yield tmp_path
            os.chmod(tmp_path, 0o644)
            os.replace(tmp_path, place)
        except BaseException:
            tmp_path.unlink(missing_ok=True)
            raise
        self.written.append(target)

    def commit(self, record: Manifest | None = None, previous: Manifest | None = None) -> None:
        """Move every staged file into ``root`` (renaming the staging folder itself where ``root`` is new).

        With ``record`` (what this delivery consists of), the files ``previous`` (the delivery already
        there) names and ``record`` does not are removed once the new files are in place, and ``record``
        becomes the folder's manifest. Until it does, the manifest names both deliveries' files, so an
        interrupted commit leaves nothing Expotion wrote unrecorded.
        """
        if self.staging is None:
            return
        if not self.root.exists() and self.staging.parent == self.root.parent:
            if record is not None:
                _write_atomic(self.staging / MANIFEST, record.text())
            os.replace(self.staging, self.root)
            publish_folder(self.root)
        else:
            self.root.mkdir(parents=True, exist_ok=True)
            if not self.force:
                self.check([str(t.relative_to(self.root)) for t in self.written])
            if record is not None and previous is not None:
                _write_atomic(self.root / MANIFEST, record.merged(previous).text())
            for target in self.written:
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(self._place(target), target)
            if record is not None:
                for relative in sorted(previous.paths() - record.paths()) if previous is not None else ():
                    self._remove(relative)
                _write_atomic(self.root / MANIFEST, record.text())
            shutil.rmtree(self.staging, ignore_errors=True)
        self.staging = None

    def _remove(self, relative: str) -> None:
        """Remove a file the previous delivery wrote (never a link or a folder), and its folder once empty."""
        old = self.root / relative
        if old.resolve().parent != self.root and self.root not in old.resolve().parents:
            return
        if old.is_file() and not old.is_symlink():
            old.unlink()
            log.info("removed %s of the previous delivery", old)
            if old.parent != self.root:
                with contextlib.suppress(OSError):
                    old.parent.rmdir()

    def discard(self) -> None:
        """Remove the staging folder and everything in it; ``root`` is left as it was."""
        if self.staging is not None:
            shutil.rmtree(self.staging, ignore_errors=True)
            self.staging = None
        self.written.clear()

    def write_bytes(self, relative: str | os.PathLike[str], data: bytes) -> Path:
        """Write ``data`` to ``relative`` atomically; returns the final path."""
        with self.open_temp(relative) as tmp:
            tmp.write_bytes(data)
        return self.written[-1]

    def write_text(self, relative: str | os.PathLike[str], text: str) -> Path:
        """Write UTF-8 ``text`` to ``relative`` atomically; returns the final path."""
        return self.write_bytes(relative, text.encode("utf-8"))


def check_place(root: Path, target: Path) -> None:
    """Fail with one sentence when ``target`` (inside ``root``) cannot be written: a folder is where the file
    goes, a file is where one of its folders goes, or the nearest existing folder is not writable."""
    if target.is_dir():
        raise ExportError(f"{target} is a folder; the delivery needs a file there, so move it or choose another "
                          "output folder.")
    for folder in [target.parent, *(p for p in target.parent.parents if root in p.parents or p == root)]:
        if not folder.exists():
            continue
        if not folder.is_dir():
            raise ExportError(f"{folder} is a file; the delivery needs a folder there, so move it or choose "
                              "another output folder.")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise ExportError(f"{folder}: the output folder is not writable; choose another output folder.")
        return


def _write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` under a temporary name beside it, then rename it into place."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise ExportError(os_error_sentence(exc, "cannot record the delivery")
                          or f"{path}: cannot record the delivery ({exc.strerror}).") from None
