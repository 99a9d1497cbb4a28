"""Resident memory of this process, per OS.

What the machine must hold for a model is the process's anonymous memory (heap, repacked
weights, KV cache, compute buffers): file pages of a memory-mapped model are clean and the
kernel can drop and re-read them. ``resident_bytes`` splits the two where the OS says so
(Linux: RssAnon / RssFile; Windows: private bytes / the rest of the working set), and
``peak_anon_bytes`` is the largest anonymous figure seen at the points the worker samples it
(after load, after each prompt batch, at the end of a generation).
"""

from __future__ import annotations

import sys
from typing import Any

_peak_anon = 0


def resident_bytes() -> tuple[int, int]:
    """(anonymous, file-backed) resident bytes now; also updates the sampled peak."""
    global _peak_anon
    anon = file = 0
    if sys.platform.startswith("linux"):
        try:
            with open("/proc/self/status", "rb") as fh:
                for line in fh:
                    if line.startswith(b"RssAnon:"):
                        anon = int(line.split()[1]) * 1024
                    elif line.startswith(b"RssFile:") or line.startswith(b"RssShmem:"):
                        file += int(line.split()[1]) * 1024
        except (OSError, ValueError, IndexError):
            anon = peak_rss_bytes()
    elif sys.platform == "win32":
        private, working = _windows_now()
        anon, file = private, max(0, working - private)
    else:  # macOS: no cheap split without task_info; the peak is an upper bound
        anon = peak_rss_bytes()
    _peak_anon = max(_peak_anon, anon)
    return anon, file


def peak_anon_bytes() -> int:
    resident_bytes()
    return _peak_anon


def peak_rss_bytes() -> int:
    if sys.platform == "win32":
        return _peak_windows()
    if sys.platform.startswith("linux"):
        # ru_maxrss would include the parent's memory at fork time (Linux keeps it across
        # fork+exec); the kernel's high-water mark of this process is VmHWM.
        try:
            with open("/proc/self/status", "rb") as fh:
                for line in fh:
                    if line.startswith(b"VmHWM:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def _peak_windows() -> int:
    return int(_windows_counters().PeakWorkingSetSize)


def _windows_now() -> tuple[int, int]:
    c = _windows_counters()
    return int(c.PrivateUsage), int(c.WorkingSetSize)


def _windows_counters() -> Any:
    import ctypes
    from ctypes import wintypes

    class Counters(ctypes.Structure):
        _fields_ = [
            ("cb", wintypes.DWORD),
            ("PageFaultCount", wintypes.DWORD),
            ("PeakWorkingSetSize", ctypes.c_size_t),
            ("WorkingSetSize", ctypes.c_size_t),
            ("QuotaPeakPagedPoolUsage", ctypes.c_size_t),
            ("QuotaPagedPoolUsage", ctypes.c_size_t),
            ("QuotaPeakNonPagedPoolUsage", ctypes.c_size_t),
            ("QuotaNonPagedPoolUsage", ctypes.c_size_t),
            ("PagefileUsage", ctypes.c_size_t),
            ("PeakPagefileUsage", ctypes.c_size_t),
            ("PrivateUsage", ctypes.c_size_t),
        ]

    counters = Counters()
    counters.cb = ctypes.sizeof(Counters)
    handle = ctypes.windll.kernel32.GetCurrentProcess()  # type: ignore[attr-defined, unused-ignore]
    ctypes.windll.psapi.GetProcessMemoryInfo(  # type: ignore[attr-defined, unused-ignore]
        handle, ctypes.byref(counters), counters.cb
    )
    return counters
