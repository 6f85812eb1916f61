"""Content identity of media files: a streaming blake2b over every byte of the file.

Every byte counts, so an in-place edit anywhere in an hour-long video changes the hash
(relink refuses the file, the analysis cache misses). Hashing streams in 4 MiB blocks at
disk speed; within one process a result is reused while the file's size, mtime, ctime
and inode stay the same, so repeated checks of one video read it once.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

HASH_VERSION = 2
_CHUNK = 4 * 1024 * 1024
_LEGACY_WHOLE_LIMIT = 64 * 1024 * 1024
_LEGACY_CHUNK = 1024 * 1024
_LEGACY_SAMPLES = 16


def content_hash(path: str | os.PathLike[str]) -> str:
    """A hex digest identifying the file's whole content (``blake2b``, 128 bit, size included)."""
    path = Path(path)
    stat = path.stat()
    return _whole_hash(str(path.resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)


@functools.lru_cache(maxsize=256)
def _whole_hash(path: str, size: int, mtime_ns: int, ctime_ns: int, inode: int) -> str:
    digest = hashlib.blake2b(digest_size=16)
    digest.update(size.to_bytes(8, "little"))
    buffer = bytearray(_CHUNK)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as handle:
        while True:
            n = handle.readinto(buffer)
            if not n:
                break
            digest.update(view[:n])
    return digest.hexdigest()


def legacy_sampled_hash(path: str | os.PathLike[str]) -> str:
    """The hash version 1 gave (files over 64 MiB sampled), only to recognise hashes stored by older sessions."""
    path = Path(path)
    size = path.stat().st_size
    if size <= _LEGACY_WHOLE_LIMIT:
        return content_hash(path)
    digest = hashlib.blake2b(digest_size=16)
    digest.update(size.to_bytes(8, "little"))
    step = (size - _LEGACY_CHUNK) // (_LEGACY_SAMPLES - 1)
    with path.open("rb") as handle:
        for i in range(_LEGACY_SAMPLES):
            handle.seek(i * step)
            digest.update(handle.read(_LEGACY_CHUNK))
    return digest.hexdigest()
