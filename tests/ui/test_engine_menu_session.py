"""The Score panel's engine menu shows the engine Generate will use, also for settings it does not
list (a session scored with ``--model FOLDER``, ``--adapter`` or the default ``auto`` model)."""

from __future__ import annotations

from ui.engines import PROCEDURAL, EngineChoice
from ui.score_panel import ScorePanel

SMALL = EngineChoice("musicgen", "MusicGen — musicgen-small", True, "installed", {"model": "musicgen-small"})


def test_a_model_folder_with_an_adapter_is_shown_as_the_sessions_own_entry(qtbot) -> None:
    panel = ScorePanel()
    qtbot.addWidget(panel)
    panel.set_engines([PROCEDURAL, SMALL])
    edits: list[tuple[str, object]] = []
    panel.settingEdited.connect(lambda name, value: edits.append((name, value)))
    options = {"model": "/models/tiny", "adapter": "/runs/face/adapter", "precision": "fp32"}
    panel.show_settings({"engine": "musicgen", "engine_options": options})
    assert panel.engine.currentText() == "MusicGen — tiny + adapter"
    assert panel.current_engine().options == options and "adapter /runs/face/adapter" in panel.engine_detail.text()
    panel.show_settings({"engine": "musicgen", "engine_options": {}})  # another session: the default model
    assert panel.engine.currentText() == "MusicGen — auto" and panel.engine.count() == 3  # replaced, not added
    panel.show_settings({"engine": "musicgen", "engine_options": {"model": "musicgen-small", "precision": "int8"}})
    assert panel.engine.currentIndex() == 1
    panel.show_settings({"engine": "procedural", "engine_options": {}})
    assert panel.engine.currentIndex() == 0 and edits == []
