"""Run a batch's jobs on Ray: analysis, generation and export as separate tasks, clips finishing whole.

With no address a local Ray is started for the run on this machine's cores; with an
address (``auto`` or ``ray://host:port``) an existing cluster is used. Analysis and export
are one-CPU tasks; generation is a one-CPU task, or for an engine that loads a model (see
:data:`studio.batch.stages.GPU_ENGINES`) a long-lived actor per GPU (one CPU actor when the
cluster has no GPU) that keeps the model between clips. Ray retries a task whose worker
died; a user error (ExpotionError) is never retried and fails only its clip.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType
from typing import Any

from expotion_engine.engines import get_engine
from expotion_engine.errors import ExpotionError
from studio.batch import stages
from studio.batch.folders import clip_folder, is_complete, remove_partials, staging_folder
from studio.batch.jobs import BatchError, BatchJob, changed_choices
from studio.batch.report import FINISHED, BatchProgress, ClipRecord, progress_of, write_report
from studio.lock import FolderLock
from studio.session import SESSION_SUFFIX, Session, utc_now

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'expotion-studio[batch]'"
#: how long the scheduler waits for a result before it looks at the cancel event again (s)
POLL_S = 0.2
#: worker-loss retries per task (a user error is never retried)
MAX_RETRIES = 3


@dataclass(frozen=True)
class BatchOptions:
    """Where the batch writes and which Ray it runs on."""

    out: Path
    force: bool = False
    address: str | None = None
    num_cpus: int | None = None
    cache_dir: Path | None = None
    #: generate in long-lived actors (True), in plain tasks (False) or as the engine needs (None)
    actors: bool | None = None


@dataclass
class BatchResult:
    """The clips' records, the report file and whether the run was cancelled."""

    clips: list[ClipRecord]
    report: Path
    cancelled: bool = False
    dashboard: str | None = None
    wall_s: float = 0.0


def require_ray() -> ModuleType:
    """The ``ray`` module, or a BatchError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise BatchError(f"expotion batch needs Ray, which is not installed; install it with {INSTALL_HINT}.") from None
    return ray


def check_reachable(address: str, timeout: float = 5.0) -> None:
    """Raise OSError at once when ``host:port`` (or ``ray://host:port``) refuses connections (Ray retries minutes)."""
    if address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if host and port.isdigit():
        socket.create_connection((host, int(port)), timeout=timeout).close()


@contextmanager
def ray_started(ray: ModuleType, options: BatchOptions) -> Iterator[str | None]:
    """Ray for the run (the caller's when already started); yields the dashboard address of a cluster."""
    if ray.is_initialized():
        yield None
        return
    if options.address:
        try:
            check_reachable(options.address)
            context = ray.init(address=options.address, log_to_driver=False)
        except (OSError, RuntimeError, ValueError) as exc:
            raise BatchError(
                f"Cannot connect to the Ray cluster at {options.address} ({type(exc).__name__}); check that "
                "`ray start --head` runs there and, for a cluster with token authentication, that RAY_AUTH_MODE=token "
                "and its token are set here."
            ) from None
        dashboard = getattr(context, "dashboard_url", None) or None
        if dashboard and "://" not in dashboard:
            dashboard = f"http://{dashboard}"
    else:
        ray.init(num_cpus=options.num_cpus or os.cpu_count() or 1, include_dashboard=False, log_to_driver=False)
        dashboard = None
    try:
        yield dashboard
    finally:
        ray.shutdown()


class Generator:
    """A long-lived generation worker: one engine (its model loaded once) for every clip it is sent."""

    def __init__(self, engine: str) -> None:
        self.engine = get_engine(engine)

    def generate(self, session: Any, controls: Any, staging: Path) -> stages.Timed:
        """One clip's take, generated with the engine this actor holds."""
        return stages.generate(session, controls, staging, engine=self.engine)


def error_sentence(exc: BaseException, stage: str) -> str:
    """One sentence for a failed stage: the user error's own, else what stopped it."""
    cause = getattr(exc, "cause", None) or exc
    if isinstance(cause, ExpotionError):
        return str(cause)
    text = (str(cause).strip().splitlines() or [""])[0]
    return f"The {stage} stage stopped with {type(cause).__name__}" + (f": {text.rstrip('.')}." if text else ".")


@dataclass
class _Scheduler:
    """Feeds clips through the three stages and keeps every clip's record up to date."""

    ray: ModuleType
    jobs: Sequence[BatchJob]
    clips: list[ClipRecord]
    options: BatchOptions
    notify: Callable[[], None]
    pending: dict[Any, tuple[int, str, tuple[str, int] | None]] = field(default_factory=dict)
    staging: dict[int, Path] = field(default_factory=dict)
    submitted: dict[int, float] = field(default_factory=dict)
    actors: dict[str, list[Any]] = field(default_factory=dict)
    busy: dict[str, list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        retry = {"max_retries": MAX_RETRIES, "retry_exceptions": False}
        self.analyse = self.ray.remote(num_cpus=1, **retry)(stages.analyse)
        self.generate = self.ray.remote(num_cpus=1, **retry)(stages.generate)
        self.export = self.ray.remote(num_cpus=1, **retry)(stages.export)
        self.cache = str(self.options.cache_dir.resolve()) if self.options.cache_dir else os.environ.get(
            "EXPOTION_CACHE_DIR")
        self.cpus = max(1, int(self.ray.cluster_resources().get("CPU", 1)))

    def _generator(self, engine: str) -> tuple[Any, tuple[str, int]]:
        """The least busy generation actor of ``engine`` (started on first use: one per GPU, or one on a CPU)."""
        if engine not in self.actors:
            gpus = int(self.ray.cluster_resources().get("GPU", 0))
            resources = {"num_gpus": 1} if gpus else {"num_cpus": 1}
            actor_class = self.ray.remote(max_restarts=MAX_RETRIES, max_task_retries=MAX_RETRIES, **resources)(
                Generator)
            self.actors[engine] = [actor_class.remote(engine) for _ in range(max(1, gpus))]
            self.busy[engine] = [0] * len(self.actors[engine])
        slot = min(range(len(self.actors[engine])), key=self.busy[engine].__getitem__)
        self.busy[engine][slot] += 1
        return self.actors[engine][slot], (engine, slot)

    def _submit_generation(self, index: int, session: Any, controls: Any) -> None:
        engine = self.jobs[index].engine
        staging = staging_folder(self.options.out, self.jobs[index].name)
        self.staging[index] = staging
        use_actor = self.options.actors if self.options.actors is not None else engine in stages.GPU_ENGINES
        if use_actor:
            actor, slot = self._generator(engine)
            self.pending[actor.generate.remote(session, controls, staging)] = (index, "generate", slot)
        else:
            self.pending[self.generate.remote(session, controls, staging)] = (index, "generate", None)

    def _all_actors(self) -> list[Any]:
        """Every generation actor started so far."""
        return [actor for pool in self.actors.values() for actor in pool]

    def _finish(self, ref: Any) -> None:
        index, stage, slot = self.pending.pop(ref)
        clip = self.clips[index]
        if slot is not None:
            self.busy[slot[0]][slot[1]] -= 1
        try:
            timed = self.ray.get(ref)
        except Exception as exc:  # noqa: BLE001 - every failure of a clip's task is recorded as that clip's error
            clip.status, clip.stage, clip.error = "failed", stage, error_sentence(exc, stage)
            log.info("clip %s failed in %s: %s", clip.name, stage, clip.error)
            remove_partials(self.options.out, clip.name)
            return
        clip.timings[f"{stage}_s"] = round(timed.seconds, 4)
        if stage == "analyse":
            session, controls = timed.value
            clip.duration_s = round(float(controls.duration), 6)
            clip.stage = "generate"
            self._submit_generation(index, session, controls)
        elif stage == "generate":
            clip.stage = "export"
            job = self.jobs[index]
            ref = self.export.remote(timed.value, self.staging[index], self.options.out, job.name)
            self.pending[ref] = (index, "export", None)
        else:
            clip.status, clip.stage, clip.outputs = "done", "", timed.value
            clip.folder = str(clip_folder(self.options.out, clip.name))
            clip.timings["total_s"] = round(time.monotonic() - self.submitted[index], 4)

    def run(self, cancel: threading.Event | None) -> bool:
        """Run every queued clip; returns True when ``cancel`` stopped the batch."""
        queue = deque(i for i, c in enumerate(self.clips) if c.status == "queued")
        try:
            while queue or self.pending:
                self.notify()
                if cancel is not None and cancel.is_set():
                    self.cancel_all()
                    return True
                analysing = sum(stage == "analyse" for _, stage, _ in self.pending.values())
                while queue and analysing < self.cpus:
                    index = queue.popleft()
                    self.clips[index].status, self.clips[index].stage = "running", "analyse"
                    self.submitted[index] = time.monotonic()
                    self.pending[self.analyse.remote(self.jobs[index], self.cache)] = (index, "analyse", None)
                    analysing += 1
                ready, _ = self.ray.wait(list(self.pending), num_returns=1, timeout=POLL_S)
                for ref in ready:
                    self._finish(ref)
        except KeyboardInterrupt:
            self.cancel_all()
            return True
        finally:
            for actor in self._all_actors():
                self.ray.kill(actor)
        return False

    def cancel_all(self) -> None:
        """Cancel every outstanding task, wait for them to stop and remove what they left half-built."""
        for ref, (_, _, slot) in self.pending.items():
            self.ray.cancel(ref, force=slot is None)  # an actor's task is stopped by killing the actor
        for actor in self._all_actors():
            self.ray.kill(actor)
        if self.pending:
            self.ray.wait(list(self.pending), num_returns=len(self.pending), timeout=30)
        for index, _, _ in self.pending.values():
            clip = self.clips[index]
            remove_partials(self.options.out, clip.name)
            folder = clip_folder(self.options.out, clip.name)
            if is_complete(folder) and not _changed_choices(folder, self.jobs[index]):
                clip.status, clip.folder = "done", str(folder)
            else:
                clip.status = "cancelled"
        self.pending.clear()
        for clip in self.clips:
            if clip.status == "queued":
                clip.status = "cancelled"


def _changed_choices(folder: Path, job: BatchJob) -> list[str]:
    """What of ``job`` the finished clip in ``folder`` was not scored with (its session file; unreadable: all)."""
    try:
        session = Session.load(next(folder.glob(f"*{SESSION_SUFFIX}")))
    except (ExpotionError, OSError, StopIteration):
        return ["session file"]
    return changed_choices(session, job)


def run_batch(
    jobs: Sequence[BatchJob],
    options: BatchOptions,
    *,
    progress: Callable[[BatchProgress], None] | None = None,
    cancel: threading.Event | None = None,
    info: dict[str, Any] | None = None,
    on_start: Callable[[str | None], None] | None = None,
) -> BatchResult:
    """Score ``jobs`` into ``options.out`` (one folder per clip plus ``batch.json``); complete clips are skipped.

    ``on_start`` is told the cluster's dashboard address (None for a local Ray) once Ray is up.
    """
    ray = require_ray()
    out = options.out.resolve()
    options = replace(options, out=out)
    if out.exists() and not out.is_dir():
        raise BatchError(f"{out} is a file; the batch output must be a folder.")
    with FolderLock(out):  # one writer per folder, as for `score`: a second batch or score into it stops at once
        return _run_locked(ray, jobs, options, progress, cancel, info, on_start)


def _run_locked(ray: ModuleType, jobs: Sequence[BatchJob], options: BatchOptions,
                progress: Callable[[BatchProgress], None] | None, cancel: threading.Event | None,
                info: dict[str, Any] | None, on_start: Callable[[str | None], None] | None) -> BatchResult:
    """:func:`run_batch` once the output folder's lock is held."""
    out = options.out
    remove_partials(out)
    clips = [ClipRecord.for_job(job) for job in jobs]
    for index, clip in enumerate(clips):
        folder = clip_folder(out, clip.name)
        if options.force:
            continue
        if is_complete(folder):
            changed = _changed_choices(folder, jobs[index])
            if not changed:
                clip.status, clip.folder = "skipped", str(folder)
            else:
                log.info("%s: scoring again, its %s changed since the last run", clip.name, ", ".join(changed))
        elif folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
            clip.status, clip.stage = "failed", "start"
            clip.error = f"{folder} exists and is not a finished clip folder; move it away or replace it with --force."
    started = time.monotonic()
    details = {**(info or {}), "started": utc_now(),
               "ray": ray.__version__, "address": options.address or "local"}
    last: list[tuple[int, ...]] = [()]

    def notify() -> None:
        counts = tuple(sum(c.status == s for c in clips) for s in (*FINISHED, "running"))
        if counts != last[0]:
            last[0] = counts
            write_report(out, clips, details, time.monotonic() - started)
        if progress is not None:
            progress(progress_of(clips, started))

    with ray_started(ray, options) as dashboard:
        details["dashboard"] = dashboard
        if on_start is not None:
            on_start(dashboard)
        details["resources"] = {k: v for k, v in ray.cluster_resources().items() if k in ("CPU", "GPU", "memory")}
        scheduler = _Scheduler(ray, jobs, clips, options, notify)
        cancelled = scheduler.run(cancel)
    wall = time.monotonic() - started
    report = write_report(out, clips, details, wall)
    notify()
    return BatchResult(clips, report, cancelled, dashboard, wall)
