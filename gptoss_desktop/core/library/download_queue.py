"""Several downloads, one after another (or a few at once), with pause, resume and cancel.

Each active task runs on its own worker thread: resolve on the hub, fetch every file (all
shards of a sharded GGUF, as one model), register the model. Listeners get a
:class:`TaskSnapshot` on every change, from the worker threads, throttled to a few per
second while bytes flow; the UI marshals them to its own thread. Pause keeps the partial
files (a paused task also resumes after the app restarts: see :meth:`DownloadQueue.restore`),
cancel deletes them. :meth:`shutdown` pauses everything.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from gptoss_desktop.core.errors import GptossError, LibraryError
from gptoss_desktop.core.library.download import (
    DownloadJob,
    DownloadSettings,
    Progress,
    StopToken,
    partial_paths,
)
from gptoss_desktop.core.library.hub import Hub, RemoteFile, RemoteModel
from gptoss_desktop.core.library.installed import InstalledModel, InstalledModels, hash_file
from gptoss_desktop.core.library.safepath import (
    check_remote_name,
    contained_path,
    is_regular_file,
    read_small,
)

TaskState = Literal["queued", "running", "paused", "done", "failed", "cancelled"]
TokenSource = Callable[[], str | None]


@dataclass(frozen=True)
class TaskSnapshot:
    """An immutable view of a task, safe to hand to another thread."""

    id: int
    repo_id: str
    filename: str
    revision: str
    title: str
    state: TaskState
    done_bytes: int = 0
    total_bytes: int = 0
    speed_bps: float = 0.0
    eta_s: float | None = None
    phase: str = ""
    file_index: int = 0
    file_count: int = 0
    note: str = ""
    error: str = ""
    error_kind: str = ""  # the error class name: "AuthRequired", "DiskFull", ...
    model_name: str = ""

    @property
    def fraction(self) -> float:
        return self.done_bytes / self.total_bytes if self.total_bytes else 0.0


class _Task:
    def __init__(self, snap: TaskSnapshot) -> None:
        self.snap = snap
        self.stop = StopToken()
        self.cancel_requested = False
        self.thread: threading.Thread | None = None
        self.remote: RemoteModel | None = None


class DownloadQueue:
    def __init__(
        self,
        hub: Hub,
        library: InstalledModels,
        *,
        token: TokenSource | None = None,
        settings: DownloadSettings | None = None,
        max_active: int = 1,
    ) -> None:
        self.hub = hub
        self.library = library
        self._token = token or (lambda: None)
        self.settings = settings or DownloadSettings()
        self.max_active = max(1, max_active)
        self._lock = threading.RLock()
        self._tasks: dict[int, _Task] = {}
        self._next_id = 1
        self._listeners: list[Callable[[TaskSnapshot], None]] = []
        self._closed = False

    # --- listening --------------------------------------------------------------------------

    def subscribe(self, listener: Callable[[TaskSnapshot], None]) -> Callable[[], None]:
        """Call ``listener(snapshot)`` on every change; returns an unsubscribe function."""
        with self._lock:
            self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def tasks(self) -> list[TaskSnapshot]:
        with self._lock:
            return [t.snap for t in self._tasks.values()]

    def get(self, task_id: int) -> TaskSnapshot:
        with self._lock:
            return self._task(task_id).snap

    # --- commands ---------------------------------------------------------------------------

    def add(
        self,
        repo_id: str,
        filename: str,
        revision: str = "main",
        title: str | None = None,
        *,
        paused: bool = False,
    ) -> TaskSnapshot:
        check_remote_name(filename)  # the name may come from a hub listing: never trust it
        with self._lock:
            if self._closed:
                raise LibraryError("the download queue is shut down")
            for t in self._tasks.values():
                s = t.snap
                if (s.repo_id, s.filename) == (repo_id, filename) and s.state in (
                    "queued",
                    "running",
                    "paused",
                ):
                    return s
            snap = TaskSnapshot(
                self._next_id,
                repo_id,
                filename,
                revision,
                title or filename,
                "paused" if paused else "queued",
            )
            self._next_id += 1
            self._tasks[snap.id] = _Task(snap)
        self._notify(snap)
        self._schedule()
        return snap

    def pause(self, task_id: int) -> None:
        with self._lock:
            task = self._task(task_id)
            if task.snap.state == "queued":
                self._set(task, state="paused")
            elif task.snap.state == "running":
                task.stop.stop()  # the worker sets "paused" when it has stopped

    def resume(self, task_id: int) -> None:
        with self._lock:
            task = self._task(task_id)
            if task.snap.state in ("paused", "failed"):
                task.stop = StopToken()
                task.cancel_requested = False
                self._set(task, state="queued", error="", error_kind="", note="")
        self._schedule()

    def cancel(self, task_id: int) -> None:
        with self._lock:
            task = self._task(task_id)
            if task.snap.state == "running":
                task.cancel_requested = True
                task.stop.stop()
                return
            if task.snap.state in ("queued", "paused", "failed"):
                self._discard_partials(task)
                self._set(task, state="cancelled")

    def wait(self, task_id: int, timeout: float | None = None) -> TaskSnapshot:
        """Block until the task is no longer queued or running (for the CLI and tests)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                task = self._task(task_id)
                thread = task.thread
                snap = task.snap
            if snap.state not in ("queued", "running"):
                return snap
            if deadline is not None and time.monotonic() > deadline:
                return snap
            if thread is not None:
                thread.join(0.05)
            else:
                time.sleep(0.02)

    def shutdown(self, timeout: float = 10.0) -> None:
        """Pause every running task and wait for the workers; partials are kept."""
        with self._lock:
            self._closed = True
            threads = []
            for t in self._tasks.values():
                if t.snap.state == "running":
                    t.stop.stop()
                if t.thread is not None:
                    threads.append(t.thread)
        for th in threads:
            th.join(timeout)

    def restore(self) -> list[TaskSnapshot]:
        """Add a paused task for every partial download left by an earlier session."""
        seen: set[tuple[str, str]] = set()
        restored = []
        for state_file in sorted(self.library.partial_dir.glob("*.json")):
            try:
                state = json.loads(read_small(state_file))
                key = (str(state["repo_id"]), str(state.get("model_file") or state["filename"]))
            except (OSError, ValueError, KeyError, TypeError, AttributeError, LibraryError):
                continue
            if key in seen:
                continue
            seen.add(key)
            try:
                restored.append(self.add(*key, paused=True))
            except LibraryError:  # a state file naming an unsafe file: never resumed
                continue
        return restored

    # --- workers ----------------------------------------------------------------------------

    def _schedule(self) -> None:
        with self._lock:
            if self._closed:
                return
            running = sum(1 for t in self._tasks.values() if t.snap.state == "running")
            for task in self._tasks.values():
                if running >= self.max_active:
                    break
                if task.snap.state == "queued":
                    self._set(task, state="running", phase="resolving", note="")
                    task.thread = threading.Thread(
                        target=self._run, args=(task,), name=f"download-{task.snap.id}", daemon=True
                    )
                    task.thread.start()
                    running += 1

    def _run(self, task: _Task) -> None:
        try:
            model = self._download(task)
        except GptossError as exc:
            with self._lock:
                self._set(task, state="failed", error=exc.message, error_kind=type(exc).__name__)
        except Exception as exc:  # a bug or an OS error we did not foresee: never silent
            with self._lock:
                self._set(
                    task,
                    state="failed",
                    error=f"{type(exc).__name__}: {exc}",
                    error_kind=type(exc).__name__,
                )
        else:
            with self._lock:
                if model is None:
                    if task.cancel_requested:
                        self._discard_partials(task)
                        self._set(task, state="cancelled", speed_bps=0.0, eta_s=None)
                    else:
                        self._set(task, state="paused", speed_bps=0.0, eta_s=None)
                else:
                    self._set(
                        task,
                        state="done",
                        phase="done",
                        model_name=model.name,
                        done_bytes=task.snap.total_bytes,
                        speed_bps=0.0,
                        eta_s=0.0,
                    )
        self._schedule()

    def _download(self, task: _Task) -> InstalledModel | None:
        s = task.snap
        token = self._token()
        remote = self.hub.resolve(s.repo_id, s.filename, s.revision, token=token)
        task.remote = remote
        with self._lock:
            self._set(
                task,
                total_bytes=remote.total_size,
                file_count=len(remote.files),
                phase="downloading",
            )
        folder = self.library.download_dir(remote.repo_id)
        paths = []
        before = 0
        for i, f in enumerate(remote.files):
            if task.stop.stopped:
                return None
            dest = contained_path(folder, f.filename)
            job = DownloadJob(
                f,
                dest,
                partial_dir=self.library.partial_dir,
                quarantine_dir=self.library.quarantine_dir,
                token=token,
                settings=self.settings,
                progress=self._progress_for(task, i, before),
                stop=task.stop,
                model_file=s.filename,
                contain_in=self.library.models_dir,
            )
            if (
                is_regular_file(dest)
                and dest.stat().st_size == f.size
                and self._in_place(task, f, dest, before)
            ):
                paths.append(dest)
                before += f.size
                continue
            if job.run() is None:
                return None
            paths.append(dest)
            before += f.size
        return self.library.register_download(remote, paths)

    def _in_place(self, task: _Task, f: RemoteFile, dest: Path, before: int) -> bool:
        """A file already at its place (an earlier shard, or a re-download) counts if it verifies."""
        kind, expected = ("sha256", f.sha256) if f.sha256 else ("gitsha1", f.blob_id)

        def on_hash(done: int, _total: int) -> None:
            with self._lock:
                self._set(
                    task,
                    done_bytes=before + done,
                    phase="checking",
                    note=f"checking {dest.name}, already on disk",
                )

        try:
            return hash_file(dest, kind, on_hash, task.stop) == f"{kind}:{expected}"
        except LibraryError:
            return False

    def _progress_for(self, task: _Task, index: int, before: int) -> Callable[[Progress], None]:
        def on_progress(p: Progress) -> None:
            with self._lock:
                self._set(
                    task,
                    done_bytes=before + p.done_bytes,
                    speed_bps=p.speed_bps,
                    eta_s=p.eta_s,
                    phase=p.phase,
                    file_index=index + 1,
                    note=p.note,
                )

        return on_progress

    # --- helpers ----------------------------------------------------------------------------

    def _task(self, task_id: int) -> _Task:
        try:
            return self._tasks[task_id]
        except KeyError:
            raise LibraryError(f"no download with id {task_id}") from None

    def _set(self, task: _Task, **changes: object) -> None:
        task.snap = replace(task.snap, **changes)  # type: ignore[arg-type]
        self._notify(task.snap)

    def _notify(self, snap: TaskSnapshot) -> None:
        for listener in list(self._listeners):
            listener(snap)

    def _discard_partials(self, task: _Task) -> None:
        files: list[str]
        if task.remote is not None:
            files = [f.filename for f in task.remote.files]
        else:
            from gptoss_desktop.core.library.catalog import shard_set

            files = shard_set(task.snap.filename)
        for name in files:
            key = RemoteFile(task.snap.repo_id, name, "", 0, None, None, "").key
            for p in partial_paths(self.library.partial_dir, key):
                p.unlink(missing_ok=True)
