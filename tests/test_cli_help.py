"""Every command's --help shows an option's default once and only where it says something."""

from __future__ import annotations

import re

import pytest

from studio.cli import main

COMMANDS = ["score", "analyze", "batch", "clock", "conform", "demo", "export", "models", "stems", "tempo", "train"]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_shows_no_empty_or_repeated_defaults(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert not re.search(r"\(default: (None|False|)\)", text), text
    options = re.split(r"\s(?=--?[a-z])", text)
    repeated = [o for o in options if len(re.findall(r"\(default", o)) > 1 or ("default:" in o and "(default: " in o
                                                                                and o.count("default") > 1)]
    assert not repeated, repeated


def test_a_default_that_says_something_is_still_shown(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["score", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: 0)" in text and "(default: cinematic)" in text
    assert "(default: the video's file name)" in text and "(default: the video's file name) (default" not in text


def test_conforms_sample_rate_says_it_keeps_the_takes_rate(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["conform", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "the take's own" in text and "`expotion export --sample-rate` delivers it at another" in text
    assert "48000 for a new one" not in text.split("--sample-rate {")[-1].split("--bit-depth")[0]
