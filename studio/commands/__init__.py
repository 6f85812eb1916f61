"""Sub-commands of ``expotion``: one module each, listed here in help order.

A module provides ``add_parser(subparsers)`` (which sets ``run`` as the parser default)
and the function it names.
"""

COMMANDS: tuple[str, ...] = (
    "score",
    "export",
    "conform",
    "check",
    "analyze",
    "demo",
    "stems",
    "tempo",
    "models",
    "presets",
    "train",
    "clock",
    "batch",
)
