"""How many physical CPU cores this machine has (llama.cpp decodes fastest with one thread per
physical core: a second hyper-thread on the same core only competes for its memory bandwidth)."""

from __future__ import annotations

import os
import subprocess
import sys


def physical_cores() -> int:
    """Physical cores, or the logical count when the OS does not say."""
    logical = os.cpu_count() or 1
    if hasattr(os, "sched_getaffinity"):
        logical = len(os.sched_getaffinity(0)) or logical  # a container's CPU set
    try:
        if sys.platform.startswith("linux"):
            n = _linux_physical()
        elif sys.platform == "darwin":
            n = _sysctl_int("hw.physicalcpu")
        else:
            n = None  # Windows: os.cpu_count() is logical; no cheap call without a dependency
    except (OSError, ValueError, subprocess.SubprocessError):
        n = None
    return max(1, min(n or logical, logical))


def _linux_physical() -> int | None:
    cores: set[tuple[str, str]] = set()
    physical = core = ""
    with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            key, value = key.strip(), value.strip()
            if key == "physical id":
                physical = value
            elif key == "core id":
                core = value
            elif not key and (physical or core):
                cores.add((physical, core))
                physical = core = ""
    if physical or core:
        cores.add((physical, core))
    return len(cores) or None


def _sysctl_int(name: str) -> int | None:
    out = subprocess.run(
        ["sysctl", "-n", name], capture_output=True, text=True, timeout=5, check=True
    ).stdout
    return int(out.strip())
