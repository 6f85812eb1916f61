"""Generation in a child process: the same take as studio makes in-process, cancel kills the child's group."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pytest

from expotion_engine.errors import Cancelled, SessionError
from expotion_engine.types import Take
from studio import pipeline
from studio.session import Session
from ui.job_process import run_in_child

pytestmark = pytest.mark.slow


def test_the_child_makes_the_take_studio_makes_and_leaves_the_session_alone(session_copy: Path) -> None:
    session = Session.load(session_copy)
    controls = pipeline.analyze_session(session)
    session.seed = 1  # the seed of the session's first take, made in-process by the fixture
    before = session.to_dict(None)
    stages: list[str] = []
    made = run_in_child("generate", session, controls, progress=lambda f, m: stages.append(m),
                        cancel=threading.Event())
    assert session.to_dict(None) == before  # the window adds the record itself
    assert made.controls is controls and made.record is not None
    assert made.record.id == "take-003" and made.record.folder == session.takes_dir / "take-003"
    assert made.record.seed == 1 and made.record.preset == session.preset
    assert any(s.startswith("generate") for s in stages)
    fresh = Take.load(made.record.folder)
    first = Take.load(session.take("take-001").folder)
    np.testing.assert_array_equal(fresh.mix, first.mix)
    assert [s.name for s in fresh.stems] == [s.name for s in first.stems]


def test_cancel_kills_the_childs_process_group_and_adds_no_take(session_copy: Path) -> None:
    session = Session.load(session_copy)
    controls = pipeline.analyze_session(session)
    cancel = threading.Event()
    pids: list[int] = []

    def progress(fraction: float, message: str) -> None:
        if message.startswith("generate"):
            cancel.set()

    with pytest.raises(Cancelled):
        run_in_child("generate", session, controls, progress=progress, cancel=cancel, started=pids.append)
    assert len(pids) == 1
    with pytest.raises(ProcessLookupError):
        os.killpg(pids[0], 0)  # nothing of the child's group is left
    assert not (session.takes_dir / "take-003").exists()


def test_an_error_in_the_child_arrives_as_the_same_error(session_copy: Path) -> None:
    session = Session.load(session_copy)
    controls = pipeline.analyze_session(session)
    session.engine = "no-such-engine"
    with pytest.raises(SessionError) as in_process:
        Session.from_dict(session.to_dict(None), session.path)
    with pytest.raises(SessionError) as child:
        run_in_child("generate", session, controls, progress=lambda f, m: None, cancel=threading.Event())
    assert str(child.value) == str(in_process.value)
    assert any("In the background process" in note for note in child.value.__notes__)
