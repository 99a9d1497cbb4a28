"""Where the app's bundled files (icons, styles, the demo model) are, in every layout.

``resources/`` sits at the top of the source checkout. The locator looks, in order, at:

1. ``GPTOSS_RESOURCES`` (an explicit folder: packagers, tests);
2. ``<sys._MEIPASS>/resources`` (a PyInstaller bundle);
3. ``gptoss_desktop/resources_data`` inside the installed package (a wheel that copies
   ``resources/`` there as package data);
4. ``<checkout>/resources`` beside the package (a source checkout or an editable install).

No Qt here: the UI builds icons from the paths this returns.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

RESOURCES_ENV = "GPTOSS_RESOURCES"
DEMO_MODEL_FILE = "tiny-harmony.gguf"
DEMO_MODEL_LABEL = "Demo model (tiny, for trying the app)"
APP_TITLE = "gpt-oss Desktop"  # the one name people see: window, welcome screen, menus, installers
# The .desktop file's id (resources/linux/<id>.desktop); the Wayland app id must match it for
# desktops to find the app's icon and name.
DESKTOP_FILE_ID = "io.github.gptoss_desktop.GptossDesktop"


def candidate_dirs(environ: dict[str, str] | os._Environ[str] | None = None) -> list[Path]:
    env = os.environ if environ is None else environ
    out: list[Path] = []
    if env.get(RESOURCES_ENV):
        out.append(Path(env[RESOURCES_ENV]).expanduser())
    meipass = getattr(sys, "_MEIPASS", None)
    if meipass:
        out.append(Path(meipass) / "resources")
    package = Path(__file__).resolve().parent
    out.append(package / "resources_data")
    out.append(package.parent / "resources")
    return out


@dataclass(frozen=True)
class Resources:
    """The resolved resources folder (``root``) and named files in it."""

    root: Path

    @classmethod
    def locate(cls, environ: dict[str, str] | os._Environ[str] | None = None) -> Resources:
        """The first candidate folder that exists; the checkout's folder if none does."""
        candidates = candidate_dirs(environ)
        for path in candidates:
            if path.is_dir():
                return cls(path)
        return cls(candidates[-1])

    def path(self, *parts: str) -> Path:
        return self.root.joinpath(*parts)

    def icon(self, name: str) -> Path:
        """An icon by name (``send`` -> ``icons/ui/send.svg``); may not exist."""
        return self.root / "icons" / "ui" / f"{name}.svg"

    def style(self, name: str) -> Path:
        return self.root / "styles" / name

    @property
    def demo_model(self) -> Path | None:
        """The bundled demo model, or None if this build ships without it."""
        path = self.root / "models" / DEMO_MODEL_FILE
        return path if path.is_file() else None
