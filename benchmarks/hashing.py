"""Content-hash speed: the whole-file streaming blake2b against reading the same file.

    .venv/bin/python benchmarks/hashing.py [--megabytes 1024]

Writes a file of random bytes, reads it once to warm the page cache, then times (best of
three, same run) a plain read of every byte in 4 MiB blocks (the baseline: what the disk
and page cache allow), ``content_hash`` (whole file, blake2b-128), and the old sampled
hash it replaced (16 x 1 MiB windows, which missed edits between them). Prints MB/s and
the hash's time as a multiple of the plain read.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from expotion_engine.media import hashing  # noqa: E402

CHUNK = 4 * 1024 * 1024


def plain_read(path: Path) -> None:
    """Read every byte once, doing nothing with it."""
    buffer = bytearray(CHUNK)
    with open(path, "rb", buffering=0) as handle:
        while handle.readinto(buffer):
            pass


def whole_hash(path: Path) -> None:
    """The current hash, bypassing the per-process memo so every call reads the file."""
    hashing._whole_hash.cache_clear()
    hashing.content_hash(path)


def best(fn, path: Path, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn(path)
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=1024, help="size of the test file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "media.bin"
        with path.open("wb") as handle:
            for _ in range(args.megabytes // 4):
                handle.write(os.urandom(CHUNK))
        size_mb = path.stat().st_size / 1e6
        plain_read(path)
        read_s = best(plain_read, path)
        hash_s = best(whole_hash, path)
        sampled_s = best(hashing.legacy_sampled_hash, path)
    print(f"file: {size_mb:.0f} MB (page-cached)")
    print(f"plain read (baseline):  {read_s:6.3f} s  {size_mb / read_s:7.0f} MB/s")
    print(f"content_hash (whole):   {hash_s:6.3f} s  {size_mb / hash_s:7.0f} MB/s  x{hash_s / read_s:.2f} of the read")
    print(f"old sampled hash:       {sampled_s:6.3f} s  (reads 16 MiB; missed edits between its windows)")


if __name__ == "__main__":
    main()
