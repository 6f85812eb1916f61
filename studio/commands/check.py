"""``expotion check DELIVERY_FOLDER``: run a dub stage's QC checks on a delivery folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from studio.export.check import check_delivery, table


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "check",
        help="QC a delivery folder: stems null, lengths, timecodes, markers, paths, timeline audio, levels",
        description="Read a delivery folder back with the readers the receiving programs use and check it: the "
                    "stems null against the mix, every file is as long as the music, every timestamp and "
                    "sequence start agrees, each marker lands on one frame in every format, every referenced "
                    "file is found (by relative paths inside the folder), each timeline plays the mix once, "
                    "and nothing clips. Prints a pass/fail table; the exit status is 1 when a check fails.",
    )
    p.add_argument("folder", type=Path, help="delivery folder (the one holding <title>_mix.wav)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    results = check_delivery(args.folder)
    print(table(results))
    failed = [r.name for r in results if not r.passed]
    print(f"{len(results) - len(failed)}/{len(results)} checks passed" + (f"; failed: {', '.join(failed)}" if failed
                                                                          else ""))
    return 1 if failed else 0
