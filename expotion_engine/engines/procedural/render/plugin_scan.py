"""Scan a VST3/AU plugin in a separate Python process before Expotion loads it.

Loading runs the plugin's native code; one that crashes or hangs while loading would take the
app with it, so it is first loaded once in a child process that reports whether it is an
instrument. A crash (by signal), a hang (timeout) or a load failure there comes back as a
:class:`PluginScan` with an ``error``; results are kept per path, size and modification time.
"""

from __future__ import annotations

import functools
import json
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PluginScan:
    """What scanning a plugin in a child process found: whether it is an instrument, or why it failed."""

    is_instrument: bool = False
    name: str = ""
    error: str | None = None


_SCAN_SCRIPT = """
import json, sys
import pedalboard
try:
    plugin = pedalboard.load_plugin(sys.argv[1])
except Exception as exc:
    print(json.dumps({"error": " ".join(str(exc).split()) or type(exc).__name__}))
else:
    print(json.dumps({"instrument": bool(getattr(plugin, "is_instrument", False)),
                      "name": str(getattr(plugin, "name", ""))}))
"""
SCAN_TIMEOUT = 120.0


def scan_plugin(path: Path, timeout: float = SCAN_TIMEOUT) -> PluginScan:
    """Load ``path`` once in a separate Python process and report what it is; a crash or hang there is an error."""
    stat = path.stat()
    return _scan(str(path), stat.st_mtime_ns, stat.st_size, timeout)


@functools.lru_cache(maxsize=32)
def _scan(path: str, mtime_ns: int, size: int, timeout: float) -> PluginScan:
    try:
        result = subprocess.run([sys.executable, "-I", "-c", _SCAN_SCRIPT, path], capture_output=True, text=True,
                                errors="replace", timeout=timeout, check=False, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return PluginScan(error=f"scanning it did not finish within {timeout:g} s")
    if result.returncode < 0:
        try:
            name = signal.Signals(-result.returncode).name
        except ValueError:
            name = f"signal {-result.returncode}"
        return PluginScan(error=f"it crashed while being scanned in a separate process ({name})")
    try:
        report = json.loads(result.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        tail = " ".join(result.stderr.split())[-200:]
        return PluginScan(error=f"the scanning process ended with exit code {result.returncode} "
                                f"({tail or 'no output'})")
    if "error" in report:
        return PluginScan(error=str(report["error"]))
    return PluginScan(is_instrument=bool(report.get("instrument")), name=str(report.get("name", "")))
