"""Where MusicGen weights live: a local folder, Expotion's model folder, the Hugging Face
cache, or the Hub.

Expotion's model folder is ``$EXPOTION_MODELS_DIR/musicgen/<name>`` (default
``~/.cache/expotion/models``, shared with the Demucs weights). Only safetensors weights
and the tokenizer/config files are fetched (never the pickled ``pytorch_model.bin``
copies); ``pull`` verifies every large file against the SHA-256 the Hub publishes for it
and records the commit it got in ``expotion_source.json``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from expotion_engine.engines.musicgen.catalog import VARIANTS, get_variant
from expotion_engine.errors import ModelNotFoundError
from expotion_engine.progress import CancelEvent, ProgressFn, check_cancel
from expotion_engine.types import atomic_write_json, parse_json, read_regular_text

log = logging.getLogger(__name__)

#: Files fetched from a MusicGen repository.
ALLOW_PATTERNS = ("*.json", "*.safetensors", "spiece.model")
#: Weight files that are pickles (loading one can run code); never loaded.
PICKLED_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
_TRUE = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class ResolvedModel:
    """A model folder that holds every file needed to load it, and where it came from."""

    name: str
    path: Path
    origin: str  # "folder", "models-dir", "hf-cache" or "download"
    repo_id: str | None = None
    revision: str | None = None


def is_offline() -> bool:
    """True where Hugging Face downloads are switched off (``HF_HUB_OFFLINE``/``TRANSFORMERS_OFFLINE``)."""
    return any(os.environ.get(var, "").strip().lower() in _TRUE for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def hf_cache_dir() -> Path:
    """The Hugging Face hub cache folder, honouring ``HF_HUB_CACHE``/``HF_HOME`` at call time."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]) / "hub"
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


SOURCE_FILE = "expotion_source.json"


def models_dir() -> Path:
    """``$EXPOTION_MODELS_DIR/musicgen`` (default ``$XDG_CACHE_HOME`` or ``~/.cache``, then ``expotion/models``)."""
    configured = os.environ.get("EXPOTION_MODELS_DIR")
    if configured:
        return Path(configured).expanduser() / "musicgen"
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "expotion" / "models" / "musicgen"


def _recorded_revision(folder: Path) -> str | None:
    try:
        return str(json.loads((folder / SOURCE_FILE).read_text())["revision"])
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None


def missing_files(folder: Path) -> list[str]:
    """Names of the files a loadable MusicGen folder needs that ``folder`` lacks."""
    missing = [] if (folder / "config.json").is_file() else ["config.json"]
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        missing += [s for s in safetensors_shards(index) if not (folder / s).is_file()]
    elif not (folder / "model.safetensors").is_file():
        pickled = sorted(p.name for p in folder.glob("*") if p.suffix in PICKLED_SUFFIXES)
        missing.append(f"model.safetensors (pickled {', '.join(pickled)} is never loaded)" if pickled
                       else "model.safetensors")
    if not ((folder / "tokenizer.json").is_file() or (folder / "spiece.model").is_file()):
        missing.append("tokenizer.json")
    return missing


def safetensors_shards(index: Path) -> list[str]:
    """The weight files a ``model.safetensors.index.json`` names; refuses an index naming anything but
    ``.safetensors`` files beside it (a pickled ``.bin``/``.pt`` could run code when loaded)."""
    data = parse_json(read_regular_text(index, ModelNotFoundError, "weight index"), index, ModelNotFoundError,
                      "weight index")
    weight_map = data.get("weight_map") if isinstance(data, dict) else None
    if not isinstance(weight_map, dict) or not all(isinstance(v, str) for v in weight_map.values()):
        raise ModelNotFoundError(f"{index}: unreadable weight index (no 'weight_map' of tensor names to files).")
    shards = sorted(set(weight_map.values()))
    for shard in shards:
        if not shard.endswith(".safetensors"):
            raise ModelNotFoundError(f"{index}: names {shard!r}, which is not a safetensors file; Expotion loads "
                                     "only safetensors weights and never pickled .bin/.pt files.")
        if Path(shard).name != shard:
            raise ModelNotFoundError(f"{index}: names {shard!r}, which is not a file beside the index.")
    return shards


def _pull_hint(name: str) -> str:
    return f"`expotion models pull {name}`"


def find_in_cache(repo_id: str, revision: str | None = None, cache_dir: Path | None = None) -> Path | None:
    """The cached snapshot folder of ``repo_id`` at ``revision`` (default ``main``), or None."""
    cache = cache_dir or hf_cache_dir()
    repo_folder = cache / f"models--{repo_id.replace('/', '--')}"
    if not repo_folder.is_dir():
        return None
    revision = revision or "main"
    ref = repo_folder / "refs" / revision
    commit = ref.read_text().strip() if ref.is_file() else revision
    snapshot = repo_folder / "snapshots" / commit
    return snapshot if snapshot.is_dir() else None


def resolve(
    name_or_path: str | os.PathLike[str],
    *,
    revision: str | None = None,
    cache_dir: Path | None = None,
    allow_download: bool | None = None,
) -> ResolvedModel:
    """Find a loadable folder for a model name or path, downloading only where allowed and online.

    Order: an existing folder path; ``$EXPOTION_MODELS_DIR/<name>``; the Hugging Face cache;
    a download (unless ``allow_download`` is False or the machine is offline).
    """
    text = os.fspath(name_or_path)
    as_path = Path(text).expanduser()
    if as_path.is_dir():
        missing = missing_files(as_path)
        if missing:
            raise ModelNotFoundError(
                f"Model folder {as_path} is incomplete: missing {', '.join(missing)}."
            )
        return ResolvedModel(as_path.name, as_path, "folder")
    if os.sep in text or text.startswith("."):
        raise ModelNotFoundError(f"Model folder {as_path} does not exist.")
    variant = get_variant(text)
    folder = models_dir() / variant.name
    if folder.is_dir():
        missing = missing_files(folder)
        if not missing:
            return ResolvedModel(variant.name, folder, "models-dir", variant.repo_id, _recorded_revision(folder))
        log.warning("%s is incomplete (missing %s); looking elsewhere", folder, ", ".join(missing))
    cache = cache_dir or hf_cache_dir()
    snapshot = find_in_cache(variant.repo_id, revision, cache)
    missing = missing_files(snapshot) if snapshot is not None else None
    if snapshot is not None and not missing:
        return ResolvedModel(variant.name, snapshot, "hf-cache", variant.repo_id, snapshot.name)
    offline = is_offline()
    if allow_download is False or (allow_download is None and offline):
        where = f"in {snapshot}" if snapshot is not None else f"in {models_dir()} or the Hugging Face cache {cache}"
        files = ", ".join(missing or ["config.json", "model.safetensors (or its shards)", "tokenizer.json"])
        reason = "downloads are switched off (HF_HUB_OFFLINE)" if offline else "downloading was not allowed"
        raise ModelNotFoundError(
            f"MusicGen model {variant.name} is not installed ({files} missing {where}) and {reason}; "
            f"fetch it with {_pull_hint(variant.name)} on a machine with internet access, or pass a local model folder."
        )
    folder = pull(variant.name, revision=revision)
    return ResolvedModel(variant.name, folder, "download", variant.repo_id, _recorded_revision(folder))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(repo_id: str, folder: Path, revision: str | None = None) -> tuple[str, list[str]]:
    """The Hub commit of ``revision``, and the large (LFS) files in ``folder`` whose SHA-256 differs."""
    from huggingface_hub import HfApi

    info = HfApi().model_info(repo_id, revision=revision, files_metadata=True)
    bad = []
    for sibling in info.siblings or []:
        local = folder / sibling.rfilename
        if sibling.lfs is None or not local.is_file():
            continue
        if _sha256(local) != sibling.lfs.sha256:
            bad.append(sibling.rfilename)
    return str(info.sha), bad


def pull(
    name: str,
    *,
    revision: str | None = None,
    target: Path | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelEvent | None = None,
) -> Path:
    """Download ``name`` into Expotion's model folder (or ``target``), verify it, return the folder."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    variant = get_variant(name)
    if is_offline():
        raise ModelNotFoundError(
            f"Cannot download {variant.name}: HF_HUB_OFFLINE is set; unset it on a machine with internet access."
        )
    folder = target or models_dir() / variant.name
    check_cancel(cancel)
    if progress is not None:
        progress(0.0, f"downloading {variant.repo_id} to {folder}")
    try:
        snapshot_download(variant.repo_id, revision=revision, local_dir=folder, allow_patterns=list(ALLOW_PATTERNS))
        check_cancel(cancel)
        if progress is not None:
            progress(0.9, "verifying checksums")
        commit, bad = verify(variant.repo_id, folder, revision=revision)
    except (HfHubHTTPError, LocalEntryNotFoundError, OSError) as exc:
        reason = " ".join(str(exc).split("\n")[0].split()) or type(exc).__name__  # the Hub's first line
        raise ModelNotFoundError(f"Could not download {variant.repo_id} ({reason}); connect to the network and run "
                                 f"{_pull_hint(variant.name)} again, or pass a local model folder.") from None
    if bad:
        raise ModelNotFoundError(
            f"{variant.repo_id}: {', '.join(bad)} do not match the published checksums; "
            f"delete {folder} and run {_pull_hint(variant.name)} again."
        )
    missing = missing_files(folder)
    if missing:
        raise ModelNotFoundError(f"{variant.repo_id} was downloaded to {folder} but lacks {', '.join(missing)}.")
    atomic_write_json(folder / SOURCE_FILE, {"repo_id": variant.repo_id, "revision": commit})
    if progress is not None:
        progress(1.0, f"{variant.name} installed in {folder}")
    return folder


@dataclass(frozen=True)
class InstalledModel:
    """One catalogue model and where (if anywhere) a complete copy was found."""

    name: str
    description: str
    parameters: str
    path: Path | None
    missing: tuple[str, ...]


def installed(cache_dir: Path | None = None) -> list[InstalledModel]:
    """Every catalogue model with the folder it would load from, looking only on this machine."""
    rows = []
    for variant in VARIANTS.values():
        candidates = [models_dir() / variant.name]
        snapshot = find_in_cache(variant.repo_id, None, cache_dir)
        if snapshot is not None:
            candidates.append(snapshot)
        path, missing = None, ()
        for folder in candidates:
            if folder.is_dir():
                lacking = missing_files(folder)
                if not lacking:
                    path, missing = folder, ()
                    break
                missing = tuple(lacking)
        rows.append(InstalledModel(variant.name, variant.description, variant.parameters, path, missing))
    return rows
