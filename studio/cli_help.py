"""The help formatter of every ``expotion`` command: argparse's defaults, shown only where they say something."""

from __future__ import annotations

import argparse


class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Adds ``(default: X)`` to an option's help, except where the help already names its default or the
    default is None, False or empty (``(default: None)`` after "default: the video's file name" said nothing)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if "default" in text or default is None or default is False or default == "" or default == []:
            return action.help
        return super()._get_help_string(action)
