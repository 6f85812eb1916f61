"""The CLI bar draws each fraction with the message that came with it (``expotion batch`` showed
"100% ... 1 running": the new fraction beside the previous message)."""

from __future__ import annotations

import io

import pytest

from studio.progress_bar import TerminalProgress


def test_each_drawn_fraction_carries_its_own_message(monkeypatch: pytest.MonkeyPatch) -> None:
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    bar = TerminalProgress("batch", delay=0.0)
    bar._bar.mininterval = 0.0  # draw every update, not at most one per 0.1 s
    bar(0.5, "1 done, 1 running")
    bar(1.0, "2 done, 0 running")
    bar.close()
    lines = [line for line in err.getvalue().replace("\r", "\n").splitlines() if "%" in line]
    assert any("50%" in line and "1 done, 1 running" in line for line in lines)
    assert not any("100%" in line and "1 running" in line for line in lines)
