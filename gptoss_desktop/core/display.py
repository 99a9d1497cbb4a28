"""Whether this process can reach a display (no Qt here: the CLI and the app both ask)."""

from __future__ import annotations

import os
import sys


def no_display(environ: dict[str, str] | os._Environ[str] | None = None) -> bool:
    """True on Linux/BSD with no X11 or Wayland display and no platform chosen: Qt's default
    (xcb) plugin cannot start there, but the offscreen one can."""
    env = os.environ if environ is None else environ
    if sys.platform in ("darwin", "win32") or env.get("QT_QPA_PLATFORM"):
        return False
    return not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))
