"""Loading a model draws no transformers progress bar and none of the config warnings every MusicGen
checkpoint gives, across the CLI's own bar (``expotion score --engine musicgen`` printed both)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from expotion_engine.engines.musicgen.loading import load_model


def test_loading_is_quiet_and_leaves_transformers_logging_as_it_was(
    tiny_dir: Path, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture,
) -> None:
    logger = logging.getLogger("transformers")
    level = logger.level
    logger.setLevel(logging.WARNING)  # the package's fixture quiets it; a user's run does not
    try:
        with caplog.at_level(logging.WARNING, logger="transformers"):
            load_model(tiny_dir, device="cpu")
        assert logger.getEffectiveLevel() == logging.WARNING
    finally:
        logger.setLevel(level)
    err = capfd.readouterr().err + caplog.text
    assert "Loading weights" not in err and "must be `None`" not in err
