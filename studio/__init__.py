"""Expotion Studio: sessions, presets, the scoring pipeline, exporters and the CLI.

Orchestrates :mod:`expotion_engine`; has no Qt. The desktop app in :mod:`ui` drives it.
"""

__all__: list[str] = []
