"""A cancelled ``--preview`` run keeps its preview.wav; scoring into the same folder again needs no
``--force`` for it and does not leave it beside the new take."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from studio.cli import main
from studio.demo.scenarios import Clip
from studio.preview import PREVIEW_NAME, Preview


def test_a_rerun_after_a_cancelled_preview_replaces_the_preview(face_clip: Clip, tmp_path: Path) -> None:
    out = tmp_path / "out"
    preview = Preview(out, 48000, play=False, say=lambda message: None)
    preview(0, np.zeros((2, 4800), np.float32))
    preview.close(complete=False)  # what a run cancelled mid-generation leaves
    assert [p.name for p in out.iterdir()] == [PREVIEW_NAME]
    assert main(["score", str(face_clip.path), "-o", str(out), "--start", "1.0", "--end", "3.0",
                 "--no-delivery"]) == 0
    assert not (out / PREVIEW_NAME).exists() and (out / "mix.wav").is_file()


def test_a_user_folder_named_like_the_preview_still_needs_force(face_clip: Clip, tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / PREVIEW_NAME).mkdir(parents=True)
    assert main(["score", str(face_clip.path), "-o", str(out), "--start", "1.0", "--end", "3.0",
                 "--no-delivery"]) == 2
    assert (out / PREVIEW_NAME).is_dir()
