"""The delivery formats by name, and :func:`export_delivery`, which writes a chosen set of them.

Each format is ``"module:function"``, imported only when it runs; the function is
``write(job, folder) -> list[Path]`` and may also take keyword-only ``progress`` and
``cancel``. Every format names the files it will write up front (:data:`FILES`), so an
export that would overwrite anything stops before it writes a byte. Audio goes first:
project and editor files point at the audio files. The delivery is written into a
staging folder (a hidden sibling of a new output folder, or a hidden folder inside an
existing one) and moved into place only when every format succeeded, so a failing or
cancelled format leaves no half-written delivery and whatever was there untouched. Every
delivery also gets its README (:mod:`studio.export.readme`) and a manifest of what it wrote
(:mod:`studio.export.manifest`), by which the next delivery into the folder removes the files
it does not write again, and nothing else.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from expotion_engine.errors import Cancelled, ExportError, ExpotionError
from expotion_engine.progress import CancelEvent, ProgressFn, check_cancel, no_progress, sub_progress
from studio.export.job import DeliveryFolder, ExportJob
from studio.export.manifest import GUIDE, Manifest, delivery_key, kept, read_manifest, stale
from studio.export.readme import readme_file, readme_text

log = logging.getLogger(__name__)

#: format name -> exporter, in the order an export runs them
FORMATS: dict[str, str] = {
    "audio": "studio.export.bwf:write_audio",
    "midi": "studio.export.midi:write_midi",
    "markers": "studio.export.markers:write_markers",
    "edl": "studio.export.editors:write_edl",
    "fcp7": "studio.export.editors:write_fcp7",
    "fcpxml": "studio.export.editors:write_fcpxml",
    "otio": "studio.export.editors:write_otio",
    "reaper": "studio.export.reaper:write_reaper",
    "dawproject": "studio.export.dawproject:write_dawproject",
    "video": "studio.export.video:write_video",
}

#: format name -> the relative paths it writes for a job (checked before anything is written);
#: the editor timelines need the source video and write nothing without one
FILES: dict[str, str | Callable[[ExportJob], list[str]]] = {
    "audio": "studio.export.bwf:audio_files",
    "midi": "studio.export.midi:midi_files",
    "markers": lambda job: [job.file("_markers.csv"), job.file("_markers.txt")],
    "edl": "studio.export.editors:edl_files",
    "fcp7": lambda job: [job.file("_fcp7.xml")] if job.video else [],
    "fcpxml": lambda job: [job.file(".fcpxml")] if job.video else [],
    "otio": lambda job: [job.file(".otio")],
    "reaper": lambda job: [job.file(".rpp")],
    "dawproject": lambda job: [job.file(".dawproject")],
    "video": "studio.export.video:video_files",
}

#: formats whose files refer to the audio files the ``audio`` format writes
USES_AUDIO = ("edl", "fcp7", "fcpxml", "otio", "reaper", "dawproject")


def _load(target: str) -> Callable:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def exporter(name: str) -> Callable[..., list[Path]]:
    """The write function of format ``name``."""
    return _load(FORMATS[_known([name])[0]])


def planned_files(job: ExportJob, name: str) -> list[str]:
    """Relative paths format ``name`` writes for ``job``."""
    plan = FILES[_known([name])[0]]
    return list((_load(plan) if isinstance(plan, str) else plan)(job))


def _known(formats: Sequence[str]) -> list[str]:
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ExportError(
            f"Unknown export format {', '.join(map(repr, unknown))}; valid formats are {', '.join(FORMATS)}."
        )
    return list(formats)


def resolve_formats(job: ExportJob, formats: Sequence[str] | None) -> list[str]:
    """The formats to run, in registry order; ``None`` means every format that applies to ``job``."""
    if formats is None:
        return [f for f in FORMATS if f != "video" or job.video is not None]
    if isinstance(formats, str):
        formats = [formats]
    chosen = set(_known(formats))
    if not chosen:
        raise ExportError(f"No export format chosen; valid formats are {', '.join(FORMATS)}.")
    return [f for f in FORMATS if f in chosen]


def _output_folder(out_dir: str | os.PathLike[str]) -> Path:
    folder = Path(out_dir).expanduser()
    if folder.exists() and not folder.is_dir():
        raise ExportError(f"{folder}: the output folder is a file; choose a folder for the delivery.")
    return folder


def _create(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"{folder}: cannot create the output folder ({exc.strerror}).") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ExportError(f"{folder}: the output folder is not writable.")


def _check_plan(job: ExportJob, folder: DeliveryFolder, formats: list[str]) -> dict[str, list[str]]:
    """Every planned file per format (the guide included); fails when two clash or one cannot be written."""
    plan = {name: planned_files(job, name) for name in formats}
    plan[GUIDE] = [readme_file(job)]
    seen: dict[str, str] = {}
    for name, files in plan.items():
        for relative in files:
            folder.check([relative])
            target = str(folder.path(relative))
            if target in seen:
                raise ExportError(
                    f"{relative}: formats {seen[target]!r} and {name!r} would both write this file "
                    "(two stems with names that differ only in punctuation?)."
                )
            seen[target] = name
    return plan


def _prepare(job: ExportJob, out_dir: str | os.PathLike[str], formats: Sequence[str] | None) -> tuple[
        list[str], Path, Manifest | None, frozenset[str], DeliveryFolder, dict[str, list[str]], str]:
    """Every check made before a byte is written: the formats, the folder, each planned file, what would be
    replaced; returns the formats, the folder, the previous delivery's manifest and README, the plan and key."""
    names = resolve_formats(job, formats)
    root = _output_folder(out_dir)
    previous = read_manifest(root) if root.is_dir() else None
    own = frozenset(previous.files.get(GUIDE, ())) if previous is not None else frozenset()
    check = DeliveryFolder(root, force=job.settings.force, own=own)
    plan = _check_plan(job, check, names)
    key = delivery_key(job)
    _check_replaced(check, previous, key, names, plan)
    return names, root, previous, own, check, plan, key


def check_export(job: ExportJob, out_dir: str | os.PathLike[str], formats: Sequence[str] | None = None) -> None:
    """Fail with one sentence when :func:`export_delivery` of ``job`` into ``out_dir`` would stop before writing
    (a file in the way, an existing file without ``force``, a folder that is not writable); writes nothing,
    so a caller can check before it replaces anything else (``score`` before committing the new take)."""
    check_folder(_prepare(job, out_dir, formats)[1])


def check_folder(out_dir: str | os.PathLike[str]) -> None:
    """Fail with one sentence when the delivery folder ``out_dir`` is a file, lies under a file, or it (or the
    folder it would be made in) is not writable; needs no take, so it can run before any work."""
    root = _output_folder(out_dir).absolute()
    nearest = next(p for p in (root, *root.parents) if p.exists())
    if not nearest.is_dir():
        raise ExportError(f"{root}: cannot create the output folder ({nearest} is a file, not a folder).")
    if not os.access(nearest, os.W_OK | os.X_OK):
        raise ExportError(f"{nearest}: the output folder is not writable; choose another output folder.")


def _check_replaced(folder: DeliveryFolder, previous: Manifest | None, key: str, formats: list[str],
                    plan: dict[str, list[str]]) -> None:
    """Without ``force``, fail when this delivery would remove files of the delivery already in the folder."""
    if folder.force:
        return
    planned = {f for files in plan.values() for f in files}
    gone = [f for f in stale(previous, key, formats, planned) if (folder.root / f).exists()]
    if gone:
        raise ExportError(f"{folder.root} holds the delivery of another take ({gone[0]} would be removed); "
                          "use --force to replace it or choose another folder.")


def _relative(root: Path, path: Path) -> str:
    """``path`` relative to ``root`` in the manifest's ``/`` form."""
    return Path(path).resolve().relative_to(root).as_posix()


def _record(job: ExportJob, folder: DeliveryFolder, key: str, done: dict[str, tuple[str, ...]],
            carried: dict[str, tuple[str, ...]]) -> Manifest:
    """Write the guide (into the staging folder) listing this delivery's files and the previous one's that stay,
    and return the manifest naming them all."""
    still = {name: tuple(f for f in files if (folder.root / f).is_file()) for name, files in carried.items()}
    order = [*FORMATS, *sorted(set(still) - set(FORMATS))]
    files = [f for name in order for f in (done[name] if name in done else still.get(name, ()))]
    guide = readme_file(job)
    folder.write_text(guide, readme_text(job, files))
    return Manifest(key, {**{n: f for n, f in still.items() if f}, **done, GUIDE: (guide,)})


def _accepts(function: Callable, parameter: str) -> bool:
    return parameter in inspect.signature(function).parameters


def _staging(root: Path) -> Path:
    """A fresh staging folder on the same disk as ``root``: inside it when it exists, else beside it."""
    parent = root if root.is_dir() else root.parent
    return Path(tempfile.mkdtemp(prefix=f".{root.name}.", suffix=".partial", dir=parent))


def _run_format(name: str, job: ExportJob, folder: DeliveryFolder, kwargs: dict[str, object]) -> list[Path]:
    """Run one format, turning any failure into one sentence that names the format."""
    try:
        return [Path(p) for p in exporter(name)(job, folder, **kwargs)]
    except Cancelled:
        raise
    except OSError as exc:
        raise ExportError(
            f"The {name} export failed ({exc.strerror or exc}); nothing was written into {folder.root}."
        ) from None
    except ExpotionError as exc:
        raise ExportError(f"The {name} export failed: {exc} Nothing was written into {folder.root}.") from None
    except Exception as exc:
        log.exception("the %s export failed", name)
        raise ExportError(
            f"The {name} export failed ({type(exc).__name__}: {exc}); nothing was written into {folder.root}."
        ) from exc


def export_delivery(
    job: ExportJob,
    out_dir: str | os.PathLike[str],
    formats: Sequence[str] | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelEvent | None = None,
) -> list[Path]:
    """Write the chosen delivery ``formats`` (all when ``None``) for ``job`` into ``out_dir``.

    Checks every format name, the folder and every planned file before writing; refuses
    to overwrite unless ``job.settings.force``. Runs the formats in registry order with
    ``progress`` and stops between them (and inside long ones) when ``cancel`` is set.
    Everything is written into a staging folder first and moved into ``out_dir`` only
    when every format succeeded: a failure or cancel leaves ``out_dir`` as it was (absent
    when it was absent). Returns every file written.
    """
    report = progress or no_progress
    names, root, previous, own, check, plan, key = _prepare(job, out_dir, formats)
    _create(root if root.is_dir() else root.parent)
    if "audio" not in names and any(n in USES_AUDIO for n in names):
        missing = [f for f in planned_files(job, "audio") if not (check.root / f).exists()]
        if missing:
            log.warning("project files refer to audio not in %s (%s); add the 'audio' format", check.root, missing[0])
    try:
        folder = DeliveryFolder(root, force=job.settings.force, staging=_staging(check.root), own=own)
    except OSError as exc:
        raise ExportError(f"{root}: cannot write the delivery there ({exc.strerror or exc}).") from None
    written: list[Path] = []
    done: dict[str, tuple[str, ...]] = {}
    try:
        for index, name in enumerate(names):
            check_cancel(cancel)
            write = exporter(name)
            kwargs: dict[str, object] = {}
            if _accepts(write, "progress"):
                kwargs["progress"] = sub_progress(report, index / len(names), (index + 1) / len(names))
            if _accepts(write, "cancel"):
                kwargs["cancel"] = cancel
            report(index / len(names), f"Exporting {name}")
            paths = _run_format(name, job, folder, kwargs)
            announced = {(folder.root / f).resolve() for f in plan[name]}
            unplanned = [p for p in paths if p.resolve() not in announced]
            if unplanned:
                log.warning("%s export wrote files it did not announce: %s", name, ", ".join(map(str, unplanned)))
            written += paths
            done[name] = tuple(_relative(folder.root, p) for p in paths)
            log.info("%s: %d file(s)", name, len(paths))
        check_cancel(cancel)
        record = _record(job, folder, key, done, kept(previous, key, names))
        written.append(folder.root / record.files[GUIDE][0])
        folder.commit(record, previous)
    except BaseException:
        folder.discard()
        raise
    report(1.0, "Export finished")
    return written
