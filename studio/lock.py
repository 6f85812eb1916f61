"""One writer per output folder: an advisory ``flock`` on ``<folder>/.expotion.lock``.

A second run into the same folder stops at once with one sentence naming the first run's
process, instead of racing it. The lock dies with its process (a crash or ``kill -9``
frees it), and whoever holds it may remove the staging files an interrupted run left.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from pathlib import Path
from types import TracebackType

from expotion_engine.errors import ExportError
from studio.fsutil import os_error_sentence

#: the lock file's name inside the locked folder (not a user file: emptiness checks ignore it)
LOCK_NAME = ".expotion.lock"


class FolderBusy(ExportError):
    """Another Expotion run is writing into the folder."""


class FolderLock:
    """Hold ``<folder>/.expotion.lock`` (creating the folder) for as long as the block runs."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self._fd: int | None = None
        self._created = False

    def acquire(self) -> None:
        """Take the lock or fail with one sentence; the folder is created when missing (and removed again
        on release when the run left it empty)."""
        if self.folder.exists() and not self.folder.is_dir():
            raise ExportError(f"{self.folder} is a file; the output must be a folder.")
        try:
            self._created = not self.folder.exists()
            self.folder.mkdir(parents=True, exist_ok=True)
            while True:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    owner = _read_owner(fd)
                    os.close(fd)
                    raise FolderBusy(
                        f"{self.folder} is in use by another Expotion run{owner}; wait for it to finish or "
                        "choose another output folder."
                    ) from None
                if _same_file(fd, self.path):  # not a lock file the previous holder just removed
                    break
                os.close(fd)
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError as exc:
            exc.filename = str(self.folder)  # the user's folder, not the lock file inside it
            denied = exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS)
            action = ("cannot create the output folder" if not self.folder.is_dir() else
                      "the output folder is not writable" if denied else "cannot write into the output folder")
            raise ExportError(os_error_sentence(exc, action)
                              or f"{self.folder}: cannot write into the output folder ({exc.strerror}).") from None
        self._fd = fd

    def release(self) -> None:
        """Remove the lock file and let the next run in; a folder the lock created and nothing filled goes too."""
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()
        os.close(self._fd)
        self._fd = None
        if self._created:
            with contextlib.suppress(OSError):
                self.folder.rmdir()

    def __enter__(self) -> FolderLock:
        self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.release()


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except OSError:
        return False


def _read_owner(fd: int) -> str:
    """`` (process N)`` from the lock file, or nothing when it cannot be read."""
    try:
        text = os.pread(fd, 32, 0).decode().strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return f" (process {text})" if text.isdigit() else ""


__all__ = ["LOCK_NAME", "FolderBusy", "FolderLock"]
