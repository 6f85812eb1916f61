"""Audio to notes with Spotify's basic-pitch, run through onnxruntime on its bundled model.

basic-pitch 0.4 ships its network as ``nmp.onnx`` inside the wheel (no download). Its
``predict`` reads a file path; here the same steps run on an array: resample to 22.05 kHz
mono, cut into basic-pitch's 2 s windows with its 30-frame overlap, run the model,
unwrap, and turn the note/onset/contour activations into notes with basic-pitch's own
``model_output_to_notes``.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

from expotion_engine.errors import EngineError
from expotion_engine.progress import CancelEvent, ProgressFn, check_cancel, no_progress
from expotion_engine.types import Note

log = logging.getLogger(__name__)

OVERLAP_FRAMES = 30
INSTALL_HINT = (
    "install it with `pip install -c constraints.txt --no-deps basic-pitch==0.4.0` plus "
    "`pip install -c constraints.txt onnxruntime mir-eval pretty-midi \"resampy<0.4.3\"`"
)


class TranscriptionUnavailable(EngineError):
    """basic-pitch or onnxruntime is missing, or its model cannot be loaded here."""


@contextlib.contextmanager
def _quiet_imports() -> Iterator[None]:
    """basic-pitch warns on import about every backend it does not find (TensorFlow, CoreML…)."""
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # resampy imports pkg_resources
            yield
    finally:
        logging.disable(previous)


@functools.lru_cache(maxsize=1)
def _model() -> Any:
    try:
        import onnxruntime  # noqa: F401

        with _quiet_imports():
            import basic_pitch
            from basic_pitch.inference import Model
    except ImportError as exc:
        raise TranscriptionUnavailable(f"Audio-to-MIDI needs basic-pitch and onnxruntime ({exc}); {INSTALL_HINT}.") \
            from None
    path = basic_pitch.build_icassp_2022_model_path(basic_pitch.FilenameSuffix.onnx)
    if not path.is_file():
        raise TranscriptionUnavailable(f"basic-pitch's model {path} is missing; reinstall basic-pitch==0.4.0.")
    try:
        with _quiet_imports():
            return Model(path)
    except (ValueError, RuntimeError) as exc:
        raise TranscriptionUnavailable(f"basic-pitch's model {path} cannot run here ({exc}).") from None


def availability() -> str | None:
    """None when transcription can run here, else the reason it cannot (one sentence)."""
    try:
        _model()
    except TranscriptionUnavailable as exc:
        return str(exc)
    return None


def transcribe(
    audio: np.ndarray,
    sample_rate: int,
    *,
    onset_threshold: float = 0.5,
    frame_threshold: float = 0.3,
    min_note_seconds: float = 0.1277,
    min_frequency: float | None = None,
    max_frequency: float | None = None,
    program: int = 0,
    channel: int = 0,
    progress: ProgressFn | None = None,
    cancel: CancelEvent | None = None,
) -> tuple[Note, ...]:
    """Notes of a pitched (ideally monophonic or sparse) part, times in seconds from its start.

    Thresholds and the minimum note length are basic-pitch's defaults. Raises
    :class:`TranscriptionUnavailable` where basic-pitch cannot run.
    """
    import soxr

    model = _model()
    from basic_pitch import constants
    from basic_pitch.inference import unwrap_output, window_audio_file
    from basic_pitch.note_creation import model_output_to_notes

    report = progress or no_progress
    mono = np.asarray(audio, dtype=np.float32)
    if mono.ndim == 2:
        mono = mono.mean(axis=0)
    if sample_rate != constants.AUDIO_SAMPLE_RATE:
        mono = soxr.resample(mono, sample_rate, constants.AUDIO_SAMPLE_RATE, quality="HQ").astype(np.float32)
    overlap = OVERLAP_FRAMES * constants.FFT_HOP
    hop = constants.AUDIO_N_SAMPLES - overlap
    padded = np.concatenate([np.zeros(overlap // 2, np.float32), mono])
    n_windows = max(int(np.ceil(len(padded) / hop)), 1)
    outputs: dict[str, list[np.ndarray]] = {"note": [], "onset": [], "contour": []}
    for i, (window, _) in enumerate(window_audio_file(padded, hop)):
        check_cancel(cancel)
        for key, value in model.predict(window[None]).items():
            outputs[key].append(value)
        report((i + 1) / n_windows, f"transcribing {i + 1}/{n_windows}")
    if not outputs["note"]:
        return ()
    unwrapped = {k: unwrap_output(np.concatenate(v), len(mono), OVERLAP_FRAMES) for k, v in outputs.items()}
    min_frames = int(round(min_note_seconds * constants.AUDIO_SAMPLE_RATE / constants.FFT_HOP))
    _, events = model_output_to_notes(
        unwrapped,
        onset_thresh=onset_threshold,
        frame_thresh=frame_threshold,
        min_note_len=min_frames,
        min_freq=min_frequency,
        max_freq=max_frequency,
        include_pitch_bends=False,
    )
    notes = [
        Note(pitch=int(pitch), start=float(start), end=float(end),
             velocity=int(np.clip(round(127 * float(amplitude)), 1, 127)), channel=channel, program=program)
        for start, end, pitch, amplitude, _ in events
        if end > start
    ]
    return tuple(sorted(notes, key=lambda n: (n.start, n.pitch)))


__all__ = ["TranscriptionUnavailable", "availability", "transcribe"]
