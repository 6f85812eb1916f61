#!/usr/bin/env python3
"""Set up Expotion Studio in ./.venv and run the demo or the test suite.

    python3.11 bootstrap.py demo [-o FOLDER]   # install, score the bundled demo video
    python3.11 bootstrap.py test [PYTEST ARGS]  # install dev extras, run the whole suite

Needs only Python 3.11 with pip. Every pip call uses ``constraints.txt`` (and
``PIP_CONSTRAINT`` for build environments) so torch stays the pinned 2.13.0 build and
no CUDA packages arrive. mediapipe 0.10.21 declares the GUI build of OpenCV, which ships
its own Qt and points Qt's plugin path at it (breaking PySide6); after installing, this
script removes it and reinstalls the headless build. When run as root on Debian/Ubuntu
it also installs the system libraries some features need (see README); otherwise it
names the missing ones.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
CONSTRAINTS = ROOT / "constraints.txt"
STAMP = VENV / ".expotion-install"
GUI_OPENCV = ("opencv-contrib-python", "opencv-python")
HEADLESS_OPENCV = "opencv-contrib-python-headless>=4.10,<4.12"
# Installed without their declared dependencies (basic-pitch's Linux default pulls TensorFlow;
# tinysoundfont declares pyaudio, used only for live playback, which needs PortAudio headers to
# build); what they need at run time is in pyproject.toml.
NO_DEPS: tuple[str, ...] = ("basic-pitch==0.4.0", "tinysoundfont>=0.3.7,<0.4")
# Debian packages: libpulse0 for QtMultimedia, libxcb-* and xvfb for the app on a virtual
# screen, libgl1/libegl1 for Qt's offscreen platform, jackd2 for the MIDI clock test, and the
# General MIDI SoundFont banks the sampled instruments play (MuseScore General, FluidR3 GM).
APT_PACKAGES = (
    "libpulse0",
    "libxcb-cursor0",
    "libxcb-icccm4",
    "libxcb-keysyms1",
    "libxkbcommon-x11-0",
    "libegl1",
    "libgl1",
    "xvfb",
    "jackd2",
    "musescore-general-soundfont",
    "fluid-soundfont-gm",
)


def log(message: str) -> None:
    print(f"[bootstrap] {message}", file=sys.stderr, flush=True)


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def run(cmd: list[str], env: dict[str, str] | None = None) -> None:
    log(" ".join(str(c) for c in cmd))
    subprocess.run(cmd, check=True, cwd=ROOT, env=env)


def install_system_packages() -> None:
    """apt-get the system libraries when root on Debian; otherwise report what is missing."""
    if not shutil.which("dpkg-query"):
        return
    query = subprocess.run(
        ["dpkg-query", "-W", "-f=${Package} ${Status}\n", *APT_PACKAGES],
        capture_output=True,
        text=True,
    )
    installed = {line.split()[0] for line in query.stdout.splitlines() if "install ok installed" in line}
    missing = [p for p in APT_PACKAGES if p not in installed]
    if not missing:
        return
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        try:
            run(["apt-get", "update", "-qq"], env=env)
            run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], env=env)
        except subprocess.CalledProcessError:
            log(f"could not install system packages {' '.join(missing)}; features needing them are skipped")
    else:
        log(f"system packages not installed (needs root): {' '.join(missing)}")


def install(extras: str) -> None:
    """Create .venv and install the project (editable) with ``extras``, once per change.

    The stamp records the install files' digest and the extras installed, so ``demo`` after
    ``test`` (fewer extras) does not reinstall, and ``test`` after ``demo`` installs the union.
    """
    if not VENV.exists():
        log(f"creating {VENV}")
        venv.EnvBuilder(with_pip=True).create(VENV)
    py = str(venv_python())
    digest = hashlib.sha256(
        b"".join((ROOT / f).read_bytes() for f in ("pyproject.toml", "constraints.txt", "bootstrap.py"))
    ).hexdigest()
    wanted = {e for e in extras.split(",") if e}
    stamp = STAMP.read_text().split("\n") if STAMP.exists() else []
    if len(stamp) == 2 and stamp[0] == digest:
        installed = {e for e in stamp[1].split(",") if e}
        if wanted <= installed:
            return
        wanted |= installed
    extras = ",".join(sorted(wanted))
    env = {**os.environ, "PIP_CONSTRAINT": str(CONSTRAINTS), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    pip = [py, "-m", "pip", "install", "-q", "-c", str(CONSTRAINTS)]
    run([*pip, "torch==2.13.0"], env=env)
    run([*pip, "-e", f".[{extras}]" if extras else "."], env=env)
    if NO_DEPS:
        run([*pip, "--no-deps", *NO_DEPS], env=env)
    present = subprocess.run(
        [py, "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True, check=True
    ).stdout.lower()
    gui = [name for name in GUI_OPENCV if f"\n{name}==" in f"\n{present}"]
    if gui:
        run([py, "-m", "pip", "uninstall", "-y", "-q", *gui], env=env)
        run([*pip, "--force-reinstall", "--no-deps", HEADLESS_OPENCV], env=env)
    run([py, "-c", "import cv2, mediapipe, torch; assert torch.__version__.startswith('2.13.0')"], env=env)
    STAMP.write_text(f"{digest}\n{extras}")


def main(argv: list[str]) -> int:
    if sys.version_info[:2] != (3, 11):
        log(f"Expotion Studio needs Python 3.11; this is {sys.version.split()[0]}.")
        return 2
    if not argv or argv[0] not in ("demo", "test", "install"):
        print(__doc__, file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    install_system_packages()
    install("dev,batch" if command == "test" else "")
    py = str(venv_python())
    if command == "install":
        return 0
    if command == "demo":
        out = rest or ["-o", "demo_out"]
        return subprocess.run([py, "-m", "studio", "demo", *out]).returncode  # -o is relative to where you are
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    lint = subprocess.run([str(VENV / "bin" / "lint-imports")], cwd=ROOT, env=env).returncode
    tests = subprocess.run([py, "-m", "pytest", *rest], cwd=ROOT, env=env).returncode
    return tests or lint


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
