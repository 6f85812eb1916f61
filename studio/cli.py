"""The ``expotion`` command line: ``get_parser()`` + ``main(argv=None)``.

Each sub-command lives in :mod:`studio.commands` as a module with ``add_parser(subparsers)``
and ``run(args) -> int``. A user mistake (any :class:`ExpotionError`) prints one sentence
and exits with code 2; Ctrl-C, SIGTERM and SIGHUP cancel the running job (its staging and
temporary files removed, its child processes killed) and exit with 130. A full or read-only
disk, or an output path under a file, is one sentence too, whichever command hit it. When the
reader of its output goes away (``expotion presets | head -1``), it stops quietly with 141
(128 + SIGPIPE), as a Unix tool killed by SIGPIPE does.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from typing import IO

from expotion_engine import __version__
from expotion_engine.errors import Cancelled, ExpotionError
from studio.cli_help import DefaultsHelpFormatter
from studio.commands import COMMANDS
from studio.fsutil import os_error_sentence
from studio.native_logs import silence_native_stderr
from studio.warmup import warm_up

EXIT_USER_ERROR = 2
EXIT_CANCELLED = 130
#: 128 + SIGPIPE: what a shell reports for a tool whose reader closed the pipe
EXIT_BROKEN_PIPE = 141


class _Parser(argparse.ArgumentParser):
    """argparse that exits with code 2 and one line for usage errors (its default)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USER_ERROR, f"expotion: error: {message}\n")

    def _print_message(self, message: str, file: IO[str] | None = None) -> None:
        """Print help, version and usage as argparse does, but let a closed pipe end the run (argparse ignores it)."""
        stream = file or sys.stderr
        if message and stream is not None:
            stream.write(message)


def chosen_command(argv: Sequence[str]) -> str | None:
    """The sub-command ``argv`` names (its first token that is not an option), if it is one."""
    for token in argv:
        if token == "--":
            return None
        if not token.startswith("-"):
            return token if token in COMMANDS else None
    return None


def get_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """Build the argument parser: only the sub-command ``argv`` names, else every one.

    Each sub-command module imports its own dependencies, so building one keeps start-up
    to what that command needs (``expotion demo`` does not import torch for ``stems``).
    """
    parser = _Parser(
        prog="expotion",
        description="Score video from the faces and motion of the people on screen.",
        formatter_class=DefaultsHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv: debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    command = chosen_command(argv) if argv is not None else None
    for name in (command,) if command is not None else COMMANDS:
        importlib.import_module(f"studio.commands.{name}").add_parser(sub)
    return parser


#: signals that stop a run the way Ctrl-C does (a terminal closing, a process manager stopping it)
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def _interrupt(signum: int, frame: object) -> None:
    """Turn SIGTERM/SIGHUP into KeyboardInterrupt, so every ``finally`` and staging clean-up runs."""
    raise KeyboardInterrupt


@contextlib.contextmanager
def stop_signals_interrupt() -> Iterator[None]:
    """While the block runs, SIGTERM and SIGHUP interrupt like Ctrl-C (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _interrupt) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code (141, with nothing printed, when its output's reader went away)."""
    try:
        try:
            return _run(argv)
        finally:
            if sys.stdout is not None:
                sys.stdout.flush()
    except BrokenPipeError:
        _drop_closed_output()
        return EXIT_BROKEN_PIPE


def _drop_closed_output() -> None:
    """Send stdout (and stderr, when it is closed too) to the null device: what is still buffered for the closed
    pipe goes nowhere, so exiting prints no "Exception ignored" and does not turn the exit code into 120."""
    closed = [sys.stdout]
    try:
        if sys.stderr is not None:
            sys.stderr.flush()
    except OSError:
        closed.append(sys.stderr)
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in closed:
        if stream is not None:
            os.dup2(devnull, stream.fileno())
    os.close(devnull)


def _run(argv: Sequence[str] | None) -> int:
    """Parse ``argv`` and run its sub-command; a user mistake, a cancel or a full disk is one sentence."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = get_parser(argv).parse_args(argv)
    warm_up(chosen_command(argv), getattr(args, "engine", None))
    level = (logging.WARNING, logging.INFO, logging.DEBUG)[min(args.verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    quiet = silence_native_stderr() if args.verbose < 2 else contextlib.nullcontext()
    try:
        with stop_signals_interrupt(), quiet:
            return int(args.run(args) or 0)
    except (Cancelled, KeyboardInterrupt):
        print("expotion: cancelled.", file=sys.stderr)
        return EXIT_CANCELLED
    except ExpotionError as exc:
        print(f"expotion: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except OSError as exc:
        sentence = os_error_sentence(exc)
        if sentence is None:
            raise
        print(f"expotion: error: {sentence}", file=sys.stderr)
        return EXIT_USER_ERROR
