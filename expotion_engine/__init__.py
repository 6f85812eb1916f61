"""Expotion engine: headless video analysis, music generation, stems and tempo.

No Qt, and no files written that the caller did not name.
"""

from expotion_engine.errors import (
    AudioError,
    Cancelled,
    ControlError,
    EngineError,
    ExportError,
    ExpotionError,
    ModelNotFoundError,
    PresetError,
    SessionError,
    VideoError,
)
from expotion_engine.types import (
    ControlTrack,
    GenerationRequest,
    Marker,
    MeterChange,
    Note,
    Stem,
    Take,
    TempoChange,
    TempoMap,
    VideoSource,
)

__version__ = "0.1.0"

__all__ = [
    "AudioError",
    "Cancelled",
    "ControlError",
    "ControlTrack",
    "EngineError",
    "ExportError",
    "ExpotionError",
    "GenerationRequest",
    "Marker",
    "MeterChange",
    "ModelNotFoundError",
    "Note",
    "PresetError",
    "SessionError",
    "Stem",
    "Take",
    "TempoChange",
    "TempoMap",
    "VideoError",
    "VideoSource",
]
