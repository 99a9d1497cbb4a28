"""One file, fetched so that it survives closed laptops, flaky wifi and full disks.

A :class:`DownloadJob` streams a :class:`RemoteFile` with HTTP Range into
``<models>/.partial/<key>.partial`` next to a small JSON state file, hashing the bytes in a
helper thread as they are written. After a crash, a kill or a restart the job re-hashes the
partial bytes already on disk and asks only for the rest. When the last byte is in, the
sha256 (or, for small non-LFS files, the git blob id) must equal the hub's value before the
file is moved, atomically, to its place in the library; a mismatch moves it to
``<models>/.quarantine`` and raises :class:`ChecksumMismatch`. Free space is checked before
starting; a full disk mid-way raises :class:`DiskFull` and keeps the partial. Network
errors, stalls and 5xx answers retry with exponential backoff, for as long as each attempt
makes progress.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import queue
import shutil
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from gptoss_desktop import __version__
from gptoss_desktop.core.errors import (
    AuthRequired,
    ChecksumMismatch,
    DiskFull,
    DownloadError,
    NotFoundOnHub,
)
from gptoss_desktop.core.library.fetch import FetchError, FetchTimeout, Response, open_get
from gptoss_desktop.core.library.hub import RemoteFile
from gptoss_desktop.core.library.safepath import (
    UnsafeLocation,
    is_regular_file,
    open_nofollow,
    read_small,
    replace_into,
)

MiB = 1024 * 1024
Phase = Literal["checking", "downloading", "verifying", "done"]
_DISK_ERRNOS = {errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)}


@dataclass(frozen=True)
class DownloadSettings:
    connect_timeout_s: float = 20.0
    stall_timeout_s: float = 30.0  # no byte for this long: the connection is dropped and retried
    max_retries: int = 8  # consecutive attempts that made no progress
    backoff_base_s: float = 1.0
    backoff_max_s: float = 60.0
    disk_margin_bytes: int = 256 * MiB  # kept free beyond the file itself
    fsync_every_bytes: int = 32 * MiB  # in the background; bounds what a power cut can lose
    progress_interval_s: float = 0.25


@dataclass(frozen=True)
class Progress:
    """Where one file stands. ``speed_bps`` over the last few seconds; ``eta_s`` None if unknown."""

    phase: Phase
    filename: str
    done_bytes: int
    total_bytes: int
    speed_bps: float
    eta_s: float | None
    note: str = ""


ProgressCallback = Callable[[Progress], None]


class StopToken:
    """Asks a running job to stop at the next chunk (pause and cancel both use it)."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def stop(self) -> None:
        self._event.set()

    @property
    def stopped(self) -> bool:
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True if a stop came meanwhile."""
        return self._event.wait(seconds)


def partial_paths(partial_dir: Path, key: str) -> tuple[Path, Path]:
    return partial_dir / f"{key}.partial", partial_dir / f"{key}.json"


# --- hashing off the download thread -----------------------------------------------------------


class _HashPipe:
    """sha256 (or git blob sha1) computed in a helper thread, over buffers it lends out.

    The writer takes a buffer (:meth:`take`), fills it (writing each piece to the file as it
    arrives) and feeds it back (:meth:`feed`); the helper hashes it (hashlib releases the GIL, so
    this runs beside the network reads) and returns it to the pool. No byte is copied on the
    way, and a slow hash holds the writer back by at most ``_COUNT`` buffers.

    Every ``sync_every`` bytes it also starts an fsync of the partial file in a thread of
    its own (one at a time), so a power cut loses little and neither the download loop nor
    the hashing waits for the disk.
    """

    _SIZE = 1 << 20
    _COUNT = 8

    def __init__(
        self, size: int, git_blob: bool, sync_fd: int | None = None, sync_every: int = 0
    ) -> None:
        self._h = hashlib.sha1() if git_blob else hashlib.sha256()
        if git_blob:
            self._h.update(b"blob %d\0" % size)
        self._sync_fd = sync_fd
        self._sync_every = sync_every
        self._syncer: threading.Thread | None = None
        self._free: queue.SimpleQueue[memoryview] = queue.SimpleQueue()
        for _ in range(self._COUNT):
            self._free.put(memoryview(bytearray(self._SIZE)))
        self._full: queue.SimpleQueue[tuple[memoryview, int] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="sha256", daemon=True)
        self._thread.start()
        self._closed = False

    def _run(self) -> None:
        unsynced = 0
        while (item := self._full.get()) is not None:
            buf, n = item
            self._h.update(buf[:n])
            self._free.put(buf)
            unsynced += n
            due = self._sync_fd is not None and self._sync_every and unsynced >= self._sync_every
            if due and (self._syncer is None or not self._syncer.is_alive()):
                unsynced = 0
                self._syncer = threading.Thread(target=self._sync, name="fsync", daemon=True)
                self._syncer.start()

    def _sync(self) -> None:
        with contextlib.suppress(OSError):  # write errors surface in the writer
            os.fsync(self._sync_fd)  # type: ignore[arg-type]

    def take(self) -> memoryview:
        """A free buffer (waits while all of them are queued for hashing)."""
        return self._free.get()

    def feed(self, buf: memoryview, n: int) -> None:
        """Hash the first ``n`` bytes of ``buf`` (from :meth:`take`), then lend it out again."""
        if n:
            self._full.put((buf, n))
        else:
            self._free.put(buf)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._full.put(None)
            self._thread.join()
            if self._syncer is not None:
                self._syncer.join()  # the file descriptor must outlive the fsync

    def hexdigest(self) -> str:
        self.close()
        return self._h.hexdigest()


class _Speed:
    def __init__(self, window_s: float = 5.0) -> None:
        self._samples: deque[tuple[float, int]] = deque()
        self._window = window_s

    def add(self, now: float, total: int) -> float:
        self._samples.append((now, total))
        while len(self._samples) > 2 and now - self._samples[0][0] > self._window:
            self._samples.popleft()
        t0, b0 = self._samples[0]
        return (total - b0) / (now - t0) if now > t0 else 0.0


# --- the job ------------------------------------------------------------------------------------


class DownloadJob:
    """Fetch one :class:`RemoteFile` to ``dest``; call :meth:`run` on a worker thread."""

    def __init__(
        self,
        remote: RemoteFile,
        dest: Path,
        *,
        partial_dir: Path,
        quarantine_dir: Path,
        token: str | None = None,
        settings: DownloadSettings | None = None,
        progress: ProgressCallback | None = None,
        stop: StopToken | None = None,
        model_file: str | None = None,
        contain_in: Path | None = None,
    ) -> None:
        self.remote = remote
        self.dest = Path(dest)
        # No symbolic link below this folder is followed when the file is put in place.
        self.contain_in = Path(contain_in) if contain_in is not None else self.dest.parent
        self.partial, self.state_file = partial_paths(Path(partial_dir), remote.key)
        self.quarantine_dir = Path(quarantine_dir)
        self._token = token
        self.settings = settings or DownloadSettings()
        self._progress_cb = progress
        self.stop = stop or StopToken()
        self._model_file = model_file or remote.filename
        self._last_emit = 0.0
        self._speed = _Speed()
        self.bytes_received = 0  # over the network, this run (for tests and benchmarks)
        self._hasher: _HashPipe  # created by run()

    # --- public -----------------------------------------------------------------------------

    def run(self) -> Path | None:
        """Download, verify and move into place. Returns ``dest``, or None if stopped."""
        self.partial.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not self.partial.parent.is_dir() or self.partial.parent.is_symlink():
            raise UnsafeLocation(
                f"{self.partial.parent} is a symbolic link or not a folder; remove it and try again"
            )
        with _PartialLock(self.partial.with_suffix(".lock"), self.remote.filename):
            return self._run_locked()

    def _run_locked(self) -> Path | None:
        r = self.remote
        offset = self._prepare_partial()
        self._check_free_space(offset)
        self._write_state()
        flags = os.O_RDWR | os.O_CREAT | (0 if offset else os.O_TRUNC)
        with os.fdopen(open_nofollow(self.partial, flags), "r+b", buffering=0) as fh:
            self._hasher = self._new_hasher(fh)
            try:
                if offset and not self._rehash(fh, offset):
                    return None
                fh.seek(offset)
                if not self._fetch(fh, offset):
                    return None
                self._emit("verifying", r.size, force=True)
                digest = self._hasher.hexdigest()
                os.fsync(fh.fileno())
            finally:
                self._hasher.close()  # before the file closes: the hasher syncs its fd
        expected = r.sha256 or r.blob_id
        if expected and digest != expected.lower():
            where = self._quarantine()
            raise ChecksumMismatch(
                f"{r.filename}: downloaded bytes do not match the hub's checksum; moved to "
                f"{where} and not added; download it again",
                details=f"expected {expected}\ngot      {digest}\nfrom {r.url}",
            )
        replace_into(self.partial, self.contain_in, self.dest)
        self.state_file.unlink(missing_ok=True)
        self._emit("done", r.size, force=True)
        return self.dest

    def _new_hasher(self, fh: Any) -> _HashPipe:
        r = self.remote
        return _HashPipe(r.size, r.sha256 is None, fh.fileno(), self.settings.fsync_every_bytes)

    def discard(self) -> None:
        """Delete the partial file and its state (after a cancel)."""
        self.partial.unlink(missing_ok=True)
        self.state_file.unlink(missing_ok=True)

    # --- steps ------------------------------------------------------------------------------

    def _prepare_partial(self) -> int:
        """Bytes already on disk that belong to this exact file, or 0 after discarding others."""
        if not self.partial.exists() and not self.partial.is_symlink():
            return 0
        if not is_regular_file(self.partial):
            self.discard()  # a link or a FIFO put there: never read or write through it
            return 0
        try:
            state = json.loads(read_small(self.state_file))
        except (OSError, ValueError):
            state = {}
        r = self.remote
        same = (
            state.get("size") == r.size
            and state.get("sha256") == r.sha256
            and state.get("blob_id") == (None if r.sha256 else r.blob_id)
        )
        size = self.partial.stat().st_size
        if not same or size > r.size:
            self.discard()
            return 0
        return size

    def _check_free_space(self, offset: int) -> None:
        need = self.remote.size - offset + self.settings.disk_margin_bytes
        free = shutil.disk_usage(self.partial.parent).free
        if free < need:
            raise DiskFull(
                f"not enough disk space for {self.remote.filename}: needs {_gb(need)} free "
                f"(including a {_gb(self.settings.disk_margin_bytes)} margin) on "
                f"{self.partial.parent}, has {_gb(free)}; free some space and try again"
            )

    def _write_state(self) -> None:
        r = self.remote
        state = {
            "repo_id": r.repo_id,
            "filename": r.filename,
            "model_file": self._model_file,
            "revision": r.revision,
            "size": r.size,
            "sha256": r.sha256,
            "blob_id": None if r.sha256 else r.blob_id,
            "dest": str(self.dest),
            "updated": time.time(),
        }
        tmp = self.state_file.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        with os.fdopen(open_nofollow(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL), "wb") as fh:
            fh.write(json.dumps(state).encode("utf-8"))
        os.replace(tmp, self.state_file)

    def _rehash(self, fh: Any, offset: int) -> bool:
        """Feed the bytes already on disk to the hasher; False if stopped meanwhile."""
        fh.seek(0)
        done = 0
        while done < offset:
            if self.stop.stopped:
                return False
            buf = self._hasher.take()
            n = fh.readinto(buf[: offset - done])
            self._hasher.feed(buf, n)
            if not n:
                break
            done += n
            self._emit("checking", done, note="checking the part downloaded before")
        return True

    def _fetch(self, fh: Any, offset: int) -> bool:
        """Stream until the file is complete (True) or a stop was asked (False)."""
        s = self.settings
        failures = 0
        last_problem = ""
        while offset < self.remote.size:
            if self.stop.stopped:
                return False
            before = offset
            try:
                self._attempt(fh, offset)
            except _Retry as exc:
                last_problem = str(exc)
            except FetchTimeout as exc:
                last_problem = (
                    f"the connection stalled (no data for {s.stall_timeout_s:g} s)"
                    if exc.kind == "stall"
                    else "could not connect in time"
                )
            except FetchError as exc:
                last_problem = str(exc)
            offset = fh.tell()
            if self.stop.stopped:
                return False
            if offset >= self.remote.size:
                break
            failures = 0 if offset > before else failures + 1
            if failures > s.max_retries:
                raise DownloadError(
                    f"{self.remote.filename}: {last_problem}; gave up after {failures} tries "
                    f"with {_gb(offset)} of {_gb(self.remote.size)} saved; resume later"
                )
            delay = min(s.backoff_max_s, s.backoff_base_s * 2 ** max(0, failures - 1))
            self._emit("downloading", offset, force=True, note=f"{last_problem}; retrying")
            if failures and self.stop.wait(delay):
                return False
        return True

    def _headers(self) -> dict[str, str]:
        h = {"Accept-Encoding": "identity", "User-Agent": f"gptoss-desktop/{__version__}"}
        if self._token:
            h["Authorization"] = f"Bearer {self._token}"
        return h

    def _attempt(self, fh: Any, offset: int) -> None:
        r = self.remote
        headers = self._headers()
        if offset:
            headers["Range"] = f"bytes={offset}-"
        s = self.settings
        with open_get(
            r.url, headers, connect_timeout=s.connect_timeout_s, read_timeout=s.stall_timeout_s
        ) as resp:
            code = resp.status
            if code == 416 and offset >= r.size:
                return
            self._raise_for_status(code)
            if code == 206:
                start, total = _content_range(resp.headers.get("content-range", ""))
                if total is not None and total != r.size:
                    raise DownloadError(
                        f"{r.filename}: the server's file has {total} bytes, the hub says {r.size}"
                    )
                if start != offset:
                    raise _Retry(f"the server answered from byte {start} instead of {offset}")
            elif code == 200:
                if offset:
                    # The server ignored Range: start again from byte 0 with this response.
                    fh.seek(0)
                    fh.truncate()
                    self._hasher.close()
                    self._hasher = self._new_hasher(fh)
                    offset = 0
                    self._emit(
                        "downloading",
                        0,
                        force=True,
                        note="the server cannot resume; starting from the beginning",
                    )
            else:
                raise _Retry(f"unexpected HTTP {code}")
            self._stream_body(resp, fh, offset)

    def _raise_for_status(self, code: int) -> None:
        r = self.remote
        if code in (401, 403):
            raise AuthRequired(
                f"{r.repo_id} needs a Hugging Face token with access ({code}); accept the "
                "model's terms on its page and add your token"
            )
        if code == 404:
            raise NotFoundOnHub(f"{r.filename} was not found in {r.repo_id} at {r.revision[:12]}")
        if code >= 500 or code == 429:
            raise _Retry(f"the server answered {code}")
        if code >= 400:
            raise DownloadError(f"{r.filename}: the server answered {code}")

    def _stream_body(self, resp: Response, fh: Any, offset: int) -> None:
        """Write each piece as it arrives; hand whole buffers to the hasher."""
        size = self.remote.size
        hasher = self._hasher
        while offset < size and not self.stop.stopped:
            buf = hasher.take()
            filled = 0
            try:
                while filled < len(buf) and offset < size and not self.stop.stopped:
                    n = resp.readinto(buf[filled : filled + min(len(buf) - filled, size - offset)])
                    if not n:  # the body ended early (a capped range): ask for the rest
                        return
                    self.bytes_received += n
                    end = filled + n
                    while filled < end:  # what is written is what gets hashed, even on error
                        k = self._write(fh, buf[filled:end], offset)
                        filled += k
                        offset += k
                    self._emit("downloading", offset)
            finally:
                hasher.feed(buf, filled)

    def _write(self, fh: Any, view: memoryview, offset: int) -> int:
        try:
            return int(fh.write(view))
        except OSError as exc:
            if exc.errno in _DISK_ERRNOS:
                raise DiskFull(
                    f"the disk is full: {_gb(offset)} of {_gb(self.remote.size)} of "
                    f"{self.remote.filename} saved and kept; free "
                    f"{_gb(self.remote.size - offset + self.settings.disk_margin_bytes)} and resume"
                ) from None
            raise DownloadError(f"cannot write {self.partial}: {exc.strerror or exc}") from None

    def _quarantine(self) -> Path:
        self.quarantine_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if self.quarantine_dir.is_symlink() or not self.quarantine_dir.is_dir():
            self.discard()  # never move bytes through a link planted in the models folder
            raise UnsafeLocation(
                f"{self.quarantine_dir} is a symbolic link or not a folder; the bad download "
                "was deleted. Remove it and try again"
            )
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.quarantine_dir / f"{Path(self.remote.filename).name}.{stamp}.bad"
        n = 1
        while target.exists():
            n += 1
            target = self.quarantine_dir / f"{Path(self.remote.filename).name}.{stamp}-{n}.bad"
        os.replace(self.partial, target)
        self.state_file.unlink(missing_ok=True)
        return target

    def _emit(self, phase: Phase, done: int, *, force: bool = False, note: str = "") -> None:
        if self._progress_cb is None:
            return
        now = time.monotonic()
        if not force and now - self._last_emit < self.settings.progress_interval_s:
            return
        self._last_emit = now
        speed = self._speed.add(now, done) if phase == "downloading" else 0.0
        left = self.remote.size - done
        eta = left / speed if speed > 0 and phase == "downloading" else None
        self._progress_cb(
            Progress(phase, self.remote.filename, done, self.remote.size, speed, eta, note)
        )


class _PartialLock:
    """One writer per partial file, across windows and processes (the OS drops it on a kill).

    The lock file is deleted on release; a waiter that locked a file deleted meanwhile
    notices (the path no longer names what it locked) and tries again.
    """

    def __init__(self, path: Path, what: str) -> None:
        self.path = path
        self.what = what
        self._fd: int | None = None

    def __enter__(self) -> _PartialLock:
        for _ in range(10):
            flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
            try:
                fd = os.open(self.path, flags, 0o600)
            except OSError as exc:
                raise UnsafeLocation(
                    f"cannot open the lock file {self.path} ({exc.strerror}); if it is a "
                    "symbolic link, remove it and try again"
                ) from None
            if not _try_lock(fd):
                os.close(fd)
                raise DownloadError(
                    f"{self.what} is already being downloaded (in another window or process); "
                    "wait for it to finish or cancel it there"
                )
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if same:
                self._fd = fd
                return self
            os.close(fd)  # locked a file that was deleted meanwhile: try the new one
        raise DownloadError(f"could not lock the partial download of {self.what}; try again")

    def __exit__(self, *exc: object) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):  # Windows: another process holds it open
            self.path.unlink()
        os.close(self._fd)  # closing releases the lock
        self._fd = None


def _try_lock(fd: int) -> bool:
    try:
        if sys.platform == "win32":
            import msvcrt

            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False


class _Retry(Exception):
    """Internal: this attempt failed in a way a retry may fix."""


def _content_range(value: str) -> tuple[int, int | None]:
    """``bytes 100-199/1000`` -> (100, 1000)."""
    try:
        _, _, rest = value.partition(" ")
        span, _, total = rest.partition("/")
        start = int(span.split("-")[0])
        return start, (int(total) if total.strip() not in ("", "*") else None)
    except ValueError:
        raise _Retry(f"unreadable Content-Range {value!r}") from None


def _gb(n: int) -> str:
    if n >= 1024**3:
        return f"{n / 1024**3:.2f} GiB"
    return f"{n / MiB:.1f} MiB"
