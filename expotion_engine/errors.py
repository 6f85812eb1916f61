"""One root exception for everything a user can get wrong, with specific subclasses.

Messages are one sentence that names the file or value and what would be valid; the CLI
prints them as they are (exit code 2) and the desktop app shows them in a dialog.
"""

from __future__ import annotations


class ExpotionError(Exception):
    """Root of every error that is the user's input, not a bug."""


class VideoError(ExpotionError):
    """A video cannot be opened, decoded, or has no frames in the asked range."""


class AudioError(ExpotionError):
    """An audio file cannot be read or has the wrong shape or rate."""


class ControlError(ExpotionError):
    """A ControlTrack file or analysis setting is invalid."""


class PresetError(ExpotionError):
    """A preset file is missing, unreadable, or has a bad field."""


class SessionError(ExpotionError):
    """A session file is missing, corrupted, or from an unknown version."""


class EngineError(ExpotionError):
    """An engine cannot run with the given request or options."""


class ModelNotFoundError(EngineError):
    """Model weights are not installed where the loader looks."""


class ExportError(ExpotionError):
    """An export target is invalid or would overwrite existing files."""


class Cancelled(ExpotionError):
    """A long operation stopped because its cancel event was set."""
