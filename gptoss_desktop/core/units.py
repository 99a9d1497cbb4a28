"""One unit system for sizes people read: decimal (SI) bytes, as the hub, installers and
operating systems' file managers show them (1 GB = 1,000,000,000 bytes)."""

from __future__ import annotations


def format_bytes(n: float | None) -> str:
    """``12.1 GB``, ``530.0 MB``, ``4.2 KB``, ``17 B``; ``?`` when unknown."""
    if n is None:
        return "?"
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"  # pragma: no cover (the loop returns at GB)
