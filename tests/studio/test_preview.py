"""``--preview``'s file and player: preview.wav always holds a whole WAV of the take's start,
grows as blocks come, and gives way to mix.wav when the take is complete."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from studio.preview import PREVIEW_NAME, Preview

RATE = 48000


class DeviceLog:
    """Stands in for the sound card: keeps what would have been played."""

    device = "test output"

    def __init__(self) -> None:
        self.blocks: list[np.ndarray] = []
        self.closed = False

    def add(self, block: np.ndarray) -> None:
        self.blocks.append(block)

    def close(self) -> None:
        self.closed = True


def _tone(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    mono = 0.3 * np.sin(2 * np.pi * 220.0 * t)
    return np.stack([mono, 0.5 * mono]).astype(np.float32)


def test_preview_file_grows_whole_and_is_replaced_by_the_take(tmp_path: Path) -> None:
    said: list[str] = []
    preview = Preview(tmp_path, RATE, say=said.append, player_factory=lambda rate, channels: None)
    audio = _tone(6.0)
    blocks = np.array_split(audio, 40, axis=1)
    start, lengths = 0, []
    for block in blocks:
        preview(start, block)
        start += block.shape[1]
        on_disk, rate = sf.read(tmp_path / PREVIEW_NAME, always_2d=True, dtype="float32")
        assert rate == RATE
        np.testing.assert_array_equal(on_disk.T, audio[:, : on_disk.shape[0]])  # always the take's start
        assert on_disk.shape[0] >= start / 1.25 - 1  # never more than a quarter behind
        lengths.append(on_disk.shape[0])
    assert len(set(lengths)) < 15  # rewritten as it grows by a quarter, not at every block
    assert said == [f"preview: the first {blocks[0].shape[1] / RATE:.1f} s are in {tmp_path / PREVIEW_NAME} "
                    "(no audio output here; open it)"]
    preview.close(complete=True)  # the take is written: the preview goes without a word
    assert not (tmp_path / PREVIEW_NAME).exists()
    assert len(said) == 1


def test_an_unfinished_take_keeps_the_preview_whole_and_says_so_once(tmp_path: Path) -> None:
    said: list[str] = []
    preview = Preview(tmp_path, RATE, say=said.append, player_factory=lambda rate, channels: None)
    audio = _tone(2.5)
    for start in range(0, audio.shape[1], 20000):
        preview(start, audio[:, start:start + 20000])
    preview.close(complete=False)
    preview.close(complete=False)
    on_disk, _ = sf.read(tmp_path / PREVIEW_NAME, always_2d=True, dtype="float32")
    np.testing.assert_array_equal(on_disk.T, audio)
    assert sorted(p.name for p in tmp_path.iterdir()) == [PREVIEW_NAME]  # no temporary files left
    assert said[1:] == [f"preview: {tmp_path / PREVIEW_NAME} stays, with the first 2.5 s of the take "
                        "(the next run into this folder replaces it)"]


def test_a_preview_already_whole_on_disk_still_says_it_stays(tmp_path: Path) -> None:
    """The last block made the file grow by a quarter, so it is written already: the cancel still says so."""
    said: list[str] = []
    preview = Preview(tmp_path, RATE, say=said.append, player_factory=lambda rate, channels: None)
    preview(0, _tone(1.0))
    preview(RATE, _tone(1.0))  # 2 s >= 1.25 x 1 s: rewritten now
    preview.close(complete=False)
    assert said[1:] == [f"preview: {tmp_path / PREVIEW_NAME} stays, with the first 2.0 s of the take "
                        "(the next run into this folder replaces it)"]


def test_a_run_stopped_before_any_audio_says_nothing_of_a_preview(tmp_path: Path) -> None:
    said: list[str] = []
    preview = Preview(tmp_path, RATE, say=said.append, player_factory=lambda rate, channels: None)
    preview.close(complete=False)
    assert said == [] and not (tmp_path / PREVIEW_NAME).exists()


def test_blocks_are_played_in_order_and_gaps_are_refused(tmp_path: Path) -> None:
    device = DeviceLog()
    said: list[str] = []
    preview = Preview(tmp_path, RATE, say=said.append, player_factory=lambda rate, channels: device)
    audio = _tone(1.0)
    preview(0, audio[:, :1000])
    preview(1000, audio[:, 1000:])
    np.testing.assert_array_equal(np.concatenate(device.blocks, axis=1), audio)
    assert "playing on test output" in said[0]
    with pytest.raises(ValueError, match="expected 48000"):
        preview(48001, audio)
    preview.close(complete=True)
    assert device.closed and not (tmp_path / PREVIEW_NAME).exists()


def test_a_procedural_take_previewed_is_the_take(tmp_path: Path) -> None:
    """The procedural engine's blocks, through the preview file, are the take's mix."""
    from expotion_engine.engines import get_engine
    from expotion_engine.types import GenerationRequest
    from tests.factories import make_control_track

    request = GenerationRequest(controls=make_control_track(3.0, energy=lambda t: t / 3.0, valence=0.5),
                                seed=4, sample_rate=RATE)
    preview = Preview(tmp_path, RATE, say=lambda message: None, player_factory=lambda rate, channels: None)
    take = get_engine("procedural").generate(request, on_audio=preview)
    assert preview.seconds == take.duration
    preview.close(complete=False)
    on_disk, _ = sf.read(tmp_path / PREVIEW_NAME, always_2d=True, dtype="float32")
    np.testing.assert_array_equal(on_disk.T, np.asarray(take.mix))
