"""``expotion train`` into a folder that holds a run: refused without ``--resume`` (it overwrote the
run's adapter and mixed its checkpoints with the new run's)."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.cli import main


def test_a_fresh_run_into_a_previous_runs_folder_is_refused(tmp_path: Path, tiny_dir: Path,
                                                            capfd: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    (run / "checkpoints" / "step-0000006").mkdir(parents=True)
    (run / "adapter").mkdir()
    (run / "adapter" / "adapter_config.json").write_text("{}")
    data = tmp_path / "data"
    data.mkdir()
    assert main(["train", str(data), "-o", str(run), "--model", str(tiny_dir), "--max-steps", "2"]) == 2
    assert "already holds a training run (checkpoints, adapter); continue it with --resume" in capfd.readouterr().err
    assert (run / "adapter" / "adapter_config.json").read_text() == "{}"
