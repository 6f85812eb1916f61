"""Content hash over every byte (issue 13 item 13): an in-place edit anywhere in a large file is seen."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import studio.analysis as studio_analysis
from expotion_engine.errors import SessionError
from expotion_engine.media import hashing
from expotion_engine.media.hashing import content_hash
from expotion_engine.vision import AnalysisSettings
from studio.analysis import cache_key
from studio.session import Session

SIZE = 80 * 1024 * 1024  # over the 64 MiB where the old hash began sampling


def _legacy(path: Path) -> str:
    """The old sampled hash (version 1), which older sessions stored."""
    return hashing.legacy_sampled_hash(path)


def _sparse(path: Path) -> Path:
    """An 80 MiB file that costs no disk (sparse), with a little content at its start."""
    with path.open("wb") as handle:
        handle.write(b"ftypisom" * 64)
        handle.truncate(SIZE)
    return path


def _poke(path: Path, offset: int, data: bytes) -> None:
    """Edit the file in place, keeping its size and its modification time."""
    stat = path.stat()
    with path.open("r+b") as handle:
        handle.seek(offset)
        handle.write(data)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_an_edit_between_the_old_sampling_windows_changes_the_hash(tmp_path) -> None:
    original = _sparse(tmp_path / "a.mp4")
    edited = _sparse(tmp_path / "b.mp4")
    _poke(edited, 3 * 1024 * 1024 + 17, b"edited")
    assert _legacy(original) == _legacy(edited), "the edit sits where sampling never read"
    assert content_hash(original) != content_hash(edited)


def test_an_edit_in_place_is_seen_by_the_same_process(tmp_path) -> None:
    path = _sparse(tmp_path / "a.mp4")
    before = content_hash(path)
    _poke(path, SIZE // 2 + 5, b"x")
    assert content_hash(path) != before


def test_relink_refuses_a_large_file_edited_between_sampled_windows(tmp_path) -> None:
    original = _sparse(tmp_path / "film.mp4")
    session = Session()
    session.video_hash = content_hash(original)
    (tmp_path / "moved").mkdir()
    edited = _sparse(tmp_path / "moved" / "film.mp4")
    _poke(edited, 9 * 1024 * 1024 + 3, b"\x01")
    with pytest.raises(SessionError, match="not this session's video"):
        session.relink(edited)
    session.relink(original)
    assert session.video == original.resolve()


def test_a_session_with_the_old_sampled_hash_relinks_its_original_and_upgrades(tmp_path) -> None:
    original = _sparse(tmp_path / "film.mp4")
    session = Session()
    session.video_hash = _legacy(original)
    session.relink(original)
    assert session.video_hash == content_hash(original)


def test_the_analysis_cache_key_changes_with_the_hash_version(monkeypatch) -> None:
    """Entries keyed by the old sampled hash are never served for a whole-file hash."""
    settings = AnalysisSettings()
    key = cache_key("abc", settings, 0.0, 1.0)
    monkeypatch.setattr(studio_analysis, "HASH_VERSION", studio_analysis.HASH_VERSION - 1)
    assert cache_key("abc", settings, 0.0, 1.0) != key
