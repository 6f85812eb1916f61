"""``expotion models list|pull``: which weights and SoundFont banks are installed, and fetching them."""

from __future__ import annotations

import argparse
import sys

from studio.cli_help import DefaultsHelpFormatter
from studio.models import entries, get_entry
from studio.progress_bar import progress_and_cancel


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "models",
        help="list the model weights Expotion can use, or download one",
        description="List model weights (installed or not, and where), or download and verify one "
                    "into $EXPOTION_MODELS_DIR (default ~/.cache/expotion/models).",
        formatter_class=DefaultsHelpFormatter,
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    listing = actions.add_parser("list", help="show every known model and where it is installed")
    listing.add_argument("--family", default=None, help="only this family (demucs, musicgen, soundfont)")
    listing.set_defaults(run=run_list)
    pull = actions.add_parser("pull", help="download and verify a model or the SoundFont bank (needs the network)")
    pull.add_argument("name", help="model name, as shown by `expotion models list`")
    pull.set_defaults(run=run_pull)


def run_list(args: argparse.Namespace) -> int:
    rows = entries(args.family)
    width = max((len(e.name) for e in rows), default=4)
    for entry in rows:
        where = entry.installed() or "not installed"
        print(f"{entry.name:<{width}}  {entry.family:<8}  {entry.size_mb:>5} MB  {where}")
        print(f"{'':<{width}}  {entry.description}")
    return 0


def run_pull(args: argparse.Namespace) -> int:
    entry = get_entry(args.name)
    with progress_and_cancel(f"pull {entry.name}") as (progress, cancel):
        folder = entry.pull(progress, cancel)
    print(f"{entry.name} installed in {folder}", file=sys.stderr)
    return 0
