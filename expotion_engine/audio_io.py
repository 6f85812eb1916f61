"""Audio that lives on disk: float WAV files written block by block and read back in blocks.

A long take cannot sit whole in memory (one 90-minute stereo float32 stem at 48 kHz is 2 GB),
so the procedural engine writes its mix and stems as they are made (:class:`WavWriter`, an
atomic float WAV) and a :class:`Take` refers to them through :class:`WavAudio`, an array-like
view that reads only the samples asked for. ``WavAudio`` has ``shape``, ``ndim``, ``dtype`` and
slicing (``audio[:, a:b]`` reads those frames), so code that walks audio in blocks works on it
unchanged, and ``np.asarray`` loads it whole for the code that needs that on a short take.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from expotion_engine.errors import AudioError

#: frames read or written per step when audio is walked in blocks (about 5 s at 48 kHz)
BLOCK = 1 << 18
#: audio longer than this (seconds) lives on disk: the procedural engine renders it there and a take's
#: WAV files this long are not read whole when it is loaded
ON_DISK_ABOVE_S = 120.0
_WAV_LIMIT = 2**32 - 4096  # above this a RIFF WAV cannot hold the data: RF64 then
_SAMPLE_BYTES = {"PCM_16": 2, "PCM_24": 3, "PCM_32": 4, "FLOAT": 4, "DOUBLE": 8}


class WavAudio:
    """A ``(channels, frames)`` float32 view of a WAV file that reads only the frames it is sliced to."""

    def __init__(self, path: str | os.PathLike[str], owner: Any = None) -> None:
        import soundfile as sf

        self.path = Path(path)
        try:
            info = sf.info(str(self.path))
        except (OSError, RuntimeError) as exc:
            raise AudioError(f"{self.path}: cannot read audio ({' '.join(str(exc).split())}).") from None
        self.sample_rate = int(info.samplerate)
        self.shape = (int(info.channels), int(info.frames))
        self._owner = owner  # keeps a spool folder alive as long as audio in it is referred to

    ndim = 2
    dtype = np.dtype(np.float32)

    @property
    def size(self) -> int:
        return self.shape[0] * self.shape[1]

    @property
    def nbytes(self) -> int:
        return 4 * self.size

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return f"WavAudio({str(self.path)!r}, shape={self.shape})"

    def read(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Frames ``start`` .. ``stop`` as a new float32 ``(channels, n)`` array."""
        import soundfile as sf

        frames = self.shape[1]
        stop = frames if stop is None else max(start, min(stop, frames))
        if stop <= start:
            return np.zeros((self.shape[0], 0), dtype=np.float32)
        try:
            with sf.SoundFile(str(self.path)) as handle:
                handle.seek(start)
                data = handle.read(stop - start, dtype="float32", always_2d=True)
        except (OSError, RuntimeError) as exc:
            raise AudioError(f"{self.path}: cannot read audio ({' '.join(str(exc).split())}).") from None
        return np.ascontiguousarray(data.T)

    def blocks(self, size: int = BLOCK) -> Iterator[tuple[int, np.ndarray]]:
        """``(start frame, block)`` pairs covering the file in order, one open file for all of them."""
        import soundfile as sf

        with sf.SoundFile(str(self.path)) as handle:
            for start in range(0, self.shape[1], size):
                yield start, np.ascontiguousarray(handle.read(min(size, self.shape[1] - start), dtype="float32",
                                                              always_2d=True).T)

    def __getitem__(self, key: Any) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key,)
        rows = key[0] if key else slice(None)
        cols = key[1] if len(key) > 1 else slice(None)
        if isinstance(cols, slice) and cols.step in (None, 1):
            start, stop, _ = cols.indices(self.shape[1])
            return self.read(start, stop)[rows]
        return np.asarray(self)[rows, cols]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        whole = self.read()
        return whole if dtype is None else whole.astype(dtype, copy=False)

    @property
    def T(self) -> np.ndarray:  # noqa: N802 - numpy's name
        return np.asarray(self).T

    def astype(self, dtype: Any, copy: bool = True) -> np.ndarray:
        return np.asarray(self).astype(dtype, copy=copy)

    # arithmetic loads the whole file: for code written for arrays, on audio short enough to hold
    def __mul__(self, other: Any) -> np.ndarray:
        return np.asarray(self) * other

    def __rmul__(self, other: Any) -> np.ndarray:
        return other * np.asarray(self)

    def __add__(self, other: Any) -> np.ndarray:
        return np.asarray(self) + other

    def __radd__(self, other: Any) -> np.ndarray:
        return other + np.asarray(self)

    def __sub__(self, other: Any) -> np.ndarray:
        return np.asarray(self) - other

    def __rsub__(self, other: Any) -> np.ndarray:
        return other - np.asarray(self)

    def __truediv__(self, other: Any) -> np.ndarray:
        return np.asarray(self) / other

    def __neg__(self) -> np.ndarray:
        return -np.asarray(self)


def is_lazy(audio: Any) -> bool:
    """Whether ``audio`` is on disk (a :class:`WavAudio`) rather than an array in memory."""
    return isinstance(audio, WavAudio)


def iter_blocks(audio: Any, size: int = BLOCK) -> Iterator[tuple[int, np.ndarray]]:
    """``(start, (channels, n) float32 block)`` over ``audio`` in order, an array or a :class:`WavAudio`."""
    if isinstance(audio, WavAudio):
        yield from audio.blocks(size)
        return
    for start in range(0, audio.shape[-1], size):
        yield start, np.asarray(audio[:, start:start + size], dtype=np.float32)


def peak(audio: Any, start: int = 0, stop: int | None = None, size: int = BLOCK) -> float:
    """The largest ``|sample|`` of frames ``start..stop`` of ``audio`` (array or :class:`WavAudio`), read in blocks."""
    stop = audio.shape[-1] if stop is None else min(stop, audio.shape[-1])
    best = 0.0
    for a in range(max(start, 0), stop, size):
        block = np.asarray(audio[:, a:min(a + size, stop)])
        best = max(best, float(np.max(np.abs(block), initial=0.0)))
    return best


def energy(audio: Any, start: int = 0, stop: int | None = None, size: int = BLOCK) -> float:
    """The sum of squares (float64) of frames ``start..stop`` of ``audio``, read in blocks of ``size`` frames."""
    stop = audio.shape[-1] if stop is None else min(stop, audio.shape[-1])
    return sum((float(np.sum(np.asarray(audio[:, a:min(a + size, stop)]).astype(np.float64) ** 2))
                for a in range(max(start, 0), stop, size)), 0.0)


class WavWriter:
    """A float WAV (or ``subtype``, e.g. ``"PCM_16"``) written block by block under a hidden temporary name,
    renamed into place on :meth:`close`."""

    def __init__(self, path: str | os.PathLike[str], sample_rate: int, channels: int, frames: int,
                 subtype: str = "FLOAT") -> None:
        import soundfile as sf

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".part", dir=self.path.parent)
        os.close(fd)
        self._tmp = Path(tmp)
        big = frames * channels * _SAMPLE_BYTES.get(subtype, 4) > _WAV_LIMIT
        self._handle = sf.SoundFile(tmp, "w", samplerate=int(sample_rate), channels=channels, subtype=subtype,
                                    format="RF64" if big else "WAV")
        self.frames = 0

    def write(self, block: np.ndarray) -> None:
        """Append a ``(channels, n)`` block."""
        self._handle.write(np.ascontiguousarray(np.asarray(block, dtype=np.float32).T))
        self.frames += block.shape[-1]

    def close(self) -> Path:
        """Finish the file and move it to its name."""
        self._handle.close()
        os.chmod(self._tmp, 0o666 & ~_umask())
        os.replace(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        """Drop the half-written file."""
        try:
            self._handle.close()
        finally:
            self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> WavWriter:
        return self

    def __exit__(self, kind: Any, value: Any, traceback: Any) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_wav_blocks(path: str | os.PathLike[str], audio: Any, sample_rate: int) -> Path:
    """Write ``audio`` (an array or :class:`WavAudio`) as a float WAV at ``path``, atomically, block by block."""
    shape = audio.shape
    with WavWriter(path, sample_rate, shape[0], shape[1]) as writer:
        for _, block in iter_blocks(audio):
            writer.write(block)
    return Path(path)


def place_file(source: Path, target: Path) -> None:
    """Put a copy of ``source`` at ``target`` atomically: a hard link when both are on one disk, else a copy."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        tmp_path.unlink()
        try:
            os.link(source, tmp_path)
        except OSError:
            shutil.copyfile(source, tmp_path)
        os.replace(tmp_path, target)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


class Spool:
    """A private folder for audio being made; removed when nothing refers to it any more (or on :meth:`close`)."""

    def __init__(self, parent: str | os.PathLike[str] | Spool | None = None, prefix: str = "expotion-render-",
                 suffix: str = "") -> None:
        """``parent``: the folder to make it in (a :class:`Spool` is made only when this one is), else temp."""
        self._where = (parent, prefix, suffix)
        self._path: Path | None = None
        self._finalizer: weakref.finalize | None = None

    @property
    def path(self) -> Path:
        """The folder, made on first use: a take rendered in memory never leaves one behind, even when killed."""
        if self._path is None:
            parent, prefix, suffix = self._where
            if isinstance(parent, Spool):
                parent = parent.path
            self._path = Path(tempfile.mkdtemp(prefix=prefix, suffix=suffix, dir=parent))
            self._finalizer = weakref.finalize(self, shutil.rmtree, str(self._path), True)
        return self._path

    def file(self, name: str) -> Path:
        return self.path / name

    def audio(self, path: Path) -> WavAudio:
        """A :class:`WavAudio` of a finished file in this spool that keeps the spool alive."""
        return WavAudio(path, owner=self)

    def close(self) -> None:
        if self._finalizer is not None:
            self._finalizer()


__all__ = ["BLOCK", "ON_DISK_ABOVE_S", "Spool", "WavAudio", "WavWriter", "energy", "is_lazy", "iter_blocks", "peak",
           "place_file", "write_wav_blocks"]
