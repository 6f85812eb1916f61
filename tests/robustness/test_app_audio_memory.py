"""The desktop app's waveforms and mixdowns of a long take need no more memory than a short one's.

A take on disk (mix and four stems, 16 kHz stereo float WAVs longer than the 120 s above which a
loaded take stays on disk) is loaded in a child process that does what the app does with it off
the GUI thread: the waveform of the mix and of every stem, the player's WAV with a stem muted and
another turned down, and the export's take through that mixer, saved. Its peak RSS comes from
``wait4`` for a SHORT and a LONG take. Loading the audio whole (the app before the block-wise
path) the peak grew by about 1.2 MB per second of this take; here the slope is near zero.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from expotion_engine.types import Take
from tests.robustness.long_takes import child_peak_mb, disk_take

RATE = 16000
SHORT, LONG = 125.0, 325.0
#: the most the peak may grow per second of take (whole: ~1.2 MB/s here; block by block ~0.01, the waveforms)
SLOPE_MB_PER_S = 0.1

CHILD = textwrap.dedent("""
    import sys
    from pathlib import Path
    from expotion_engine.types import Take
    from ui.mixdown import MixerState, mixed_take
    from ui.take_audio import write_mix_wav
    from ui.waveform import compute_peaks

    folder = Path(sys.argv[1])
    take = Take.load(folder / "take")
    assert take.on_disk
    for audio in (take.mix, *(s.audio for s in take.stems)):
        compute_peaks(audio, take.sample_rate)
    state = MixerState().with_stem("bass", gain_db=-6.0).with_stem("drums", mute=True)
    write_mix_wav(take, state, folder / "player.wav")
    mixed_take(take, state).save(folder / "mixed")
""")


def _peak_mb(seconds: float, folder: Path) -> float:
    disk_take(folder / "source", seconds, RATE).save(folder / "take")
    return child_peak_mb(CHILD, str(folder))


@pytest.mark.slow
def test_waveforms_and_mixdowns_of_a_long_take_need_no_more_memory(tmp_path: Path) -> None:
    short = _peak_mb(SHORT, tmp_path / "short")
    long = _peak_mb(LONG, tmp_path / "long")
    slope = (long - short) / (LONG - SHORT)
    assert slope < SLOPE_MB_PER_S, f"peak {short:.0f} MB at {SHORT:.0f} s, {long:.0f} MB at {LONG:.0f} s"
    frames = round(LONG * RATE)
    assert sf.info(str(tmp_path / "long" / "player.wav")).frames == frames
    mixed = Take.load(tmp_path / "long" / "mixed")
    assert [s.name for s in mixed.stems] == ["bass", "harmony", "melody"] and mixed.n_samples == frames
    take = Take.load(tmp_path / "long" / "take")
    tail = slice(frames - 5000, frames)  # the end of the last block: the stems were read to the end
    np.testing.assert_array_equal(mixed.stem("bass").audio[:, tail],
                                  (take.stem("bass").audio[:, tail] * 10 ** (-6 / 20)).astype(np.float32))
