"""Decide how compare columns run: all at once when they fit in memory, else one by one.

The memory estimate is pluggable (``MemoryEstimator``: model path and context length to
bytes). The default is the file size x 1.2 plus the KV cache for the context, from the
GGUF header when it can be read (the bounded reader of :mod:`core.library.gguf_info`), else
a rough allowance. Threads are divided between concurrent workers:
``n_threads = max(1, cores // n_concurrent)``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from gptoss_desktop.core.compare.metrics import format_bytes
from gptoss_desktop.core.errors import GptossError

MemoryEstimator = Callable[[Path, int], int]
ScheduleMode = Literal["concurrent", "sequential"]
ScheduleChoice = Literal["auto", "concurrent", "sequential"]

FILE_OVERHEAD = 1.2
FALLBACK_KV_BYTES_PER_TOKEN = 128 * 1024  # when the header cannot tell (a 7B f16 KV is ~0.5 MB)
HEADROOM = 0.85  # use at most this share of the free memory


@dataclass(frozen=True)
class SchedulePlan:
    mode: ScheduleMode
    reason: str
    n_threads: tuple[int, ...]  # per column
    estimates: tuple[int, ...]  # bytes per column
    available: int | None

    @property
    def concurrent(self) -> bool:
        return self.mode == "concurrent"


def default_memory_estimate(path: Path, n_ctx: int) -> int:
    size = path.stat().st_size
    kv_per_token = FALLBACK_KV_BYTES_PER_TOKEN
    try:
        from gptoss_desktop.core.library.gguf_info import read_gguf_info

        per_token = read_gguf_info(path).kv_bytes_per_token
        if per_token:
            kv_per_token = per_token
    except (ImportError, GptossError, OSError):
        pass  # the file-size allowance above stands
    kv = min(kv_per_token * n_ctx, size * 4)
    return int(size * FILE_OVERHEAD) + int(kv)


def available_memory_bytes() -> int | None:
    """Memory free for new processes: MemAvailable on Linux, free physical RAM elsewhere."""
    if sys.platform.startswith("linux"):
        try:
            with open("/proc/meminfo", encoding="ascii") as fh:
                for line in fh:
                    if line.startswith("MemAvailable:"):
                        return int(line.split()[1]) * 1024
        except (OSError, ValueError, IndexError):
            return None
    if sys.platform == "win32":
        return _windows_available()
    try:  # macOS and other POSIX: half the physical memory is a fair guess of what is free
        return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2)
    except (ValueError, OSError, AttributeError):
        return None


def _windows_available() -> int | None:
    import ctypes

    class MemoryStatus(ctypes.Structure):
        _fields_ = [
            ("dwLength", ctypes.c_ulong),
            ("dwMemoryLoad", ctypes.c_ulong),
            ("ullTotalPhys", ctypes.c_ulonglong),
            ("ullAvailPhys", ctypes.c_ulonglong),
            ("ullTotalPageFile", ctypes.c_ulonglong),
            ("ullAvailPageFile", ctypes.c_ulonglong),
            ("ullTotalVirtual", ctypes.c_ulonglong),
            ("ullAvailVirtual", ctypes.c_ulonglong),
            ("ullAvailExtendedVirtual", ctypes.c_ulonglong),
        ]

    status = MemoryStatus()
    status.dwLength = ctypes.sizeof(MemoryStatus)
    if not ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):  # type: ignore[attr-defined]
        return None
    return int(status.ullAvailPhys)


def threads_for(n_concurrent: int, cores: int | None = None) -> int:
    cores = cores or os.cpu_count() or 1
    return max(1, cores // max(1, n_concurrent))


def plan_schedule(
    model_paths: Sequence[Path],
    n_ctx: int,
    *,
    choice: ScheduleChoice = "auto",
    estimator: MemoryEstimator = default_memory_estimate,
    available: int | None = None,
    cores: int | None = None,
    n_threads: int | None = None,
    already_loaded: Sequence[bool] | None = None,
) -> SchedulePlan:
    """Concurrent when every model fits at once (or ``choice`` says so), else sequential.

    ``already_loaded[i]`` marks a column whose model is in memory now: its estimate is
    already outside ``available``. ``n_threads`` fixes the thread count of every column.
    """
    n = len(model_paths)
    estimates = tuple(estimator(Path(p), n_ctx) for p in model_paths)
    free = available if available is not None else available_memory_bytes()
    loaded = list(already_loaded or [False] * n)
    needed = sum(e for e, done in zip(estimates, loaded, strict=True) if not done)
    total = sum(estimates)
    if choice == "concurrent":
        mode: ScheduleMode = "concurrent"
        reason = f"all {n} models at once, as chosen"
    elif choice == "sequential":
        mode, reason = "sequential", "one model after another, as chosen"
    elif n <= 1:
        mode, reason = "concurrent", "one model"
    elif free is None:
        mode = "sequential"
        reason = "one after another: free memory is unknown on this system"
    elif needed <= free * HEADROOM:
        mode = "concurrent"
        reason = (
            f"all {n} models at once: about {format_bytes(total)} needed, {format_bytes(free)} free"
        )
    else:
        mode = "sequential"
        reason = (
            f"one after another: the {n} models need about {format_bytes(total)} together but "
            f"only {format_bytes(free)} is free"
        )
    per_column = n_threads or threads_for(n if mode == "concurrent" else 1, cores)
    return SchedulePlan(mode, reason, (per_column,) * n, estimates, free)
