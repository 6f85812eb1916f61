"""The musicgen engine built while the CLI's warm-up thread is still importing transformers
(a re-score whose analysis comes from the cache reaches the engine within a second or two)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

_SCRIPT = """
import sys, time
from pathlib import Path
from studio import pipeline
from studio.session import Session
from studio.warmup import warm_up
from tests.factories import make_control_track

warm_up("score", "musicgen")
while "transformers" not in sys.modules:  # the warm-up thread has begun importing transformers
    time.sleep(0.001)
session = Session(title="race", engine="musicgen",
                  engine_options={"model": sys.argv[1], "device": "cpu", "precision": "fp32"})
record, take = pipeline.generate_take(session, make_control_track(0.5), folder=Path(sys.argv[2]))
print(take.engine, take.info["model"])
"""


def test_the_engine_waits_for_the_warm_up_import_of_transformers(tiny_dir: Path, tmp_path: Path) -> None:
    """transformers swaps its module in sys.modules at the end of its import: the engine's own import
    must not run beside the warm-up's, or it fails with "cannot import name 'AutoTokenizer'"."""
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run([sys.executable, "-c", _SCRIPT, str(tiny_dir), str(tmp_path / "take")], cwd=root,
                          capture_output=True, text=True, env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin",
                                                               "HF_HUB_OFFLINE": "1", "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["musicgen", "tiny"]
