"""Composition root of the GUI: folders, store, settings, theme, the window.

``run_gui()`` is what ``gptoss-desktop`` runs without a sub-command. ``build_window`` makes
the same window for tests and benchmarks (with an existing QApplication).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from gptoss_desktop.core.errors import GptossError
from gptoss_desktop.core.paths import AppPaths
from gptoss_desktop.resources import APP_TITLE, DESKTOP_FILE_ID, Resources


@dataclass
class AppParts:
    paths: AppPaths
    store: object
    window: object


def build_window(
    paths: AppPaths | None = None,
    *,
    resources: Resources | None = None,
    worker_env: dict[str, str] | None = None,
) -> AppParts:
    """The store and the main window (a QApplication must exist)."""
    from PySide6.QtWidgets import QApplication

    from gptoss_desktop.core.store.store import Store
    from gptoss_desktop.ui.app_settings import SettingsFile
    from gptoss_desktop.ui.main_window import MainWindow
    from gptoss_desktop.ui.theme import ThemeController

    app = QApplication.instance()
    assert isinstance(app, QApplication), "create the QApplication first"
    paths = (paths or AppPaths.from_env()).ensure()
    store = Store.for_app(paths)
    settings_file = SettingsFile(paths.config_dir)
    settings = settings_file.load()
    theme = ThemeController(app, settings.theme)
    window = MainWindow(
        store,
        paths,
        settings_file,
        settings,
        theme,
        resources or Resources.locate(),
        worker_env=worker_env,
    )
    window.destroyed.connect(store.close)
    return AppParts(paths, store, window)


def name_application(app: object) -> None:
    """The names the desktop sees: one title for people, the .desktop id as the Wayland app id."""
    from PySide6.QtGui import QGuiApplication

    QGuiApplication.setApplicationName("gptoss-desktop")  # folders, the X11 class (StartupWMClass)
    QGuiApplication.setOrganizationName("gptoss-desktop")
    QGuiApplication.setApplicationDisplayName(APP_TITLE)
    # The Wayland app id: desktops match it to the .desktop file for the icon and the name.
    QGuiApplication.setDesktopFileName(DESKTOP_FILE_ID)


def run_gui(argv: list[str] | None = None) -> int:
    """Start the app; return its exit status."""
    from gptoss_desktop.core.paths import use_private_umask

    use_private_umask()  # also when started without the command-line entry
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    from gptoss_desktop.core.display import no_display

    if no_display():
        print(
            "gptoss-desktop: no display found (neither DISPLAY nor WAYLAND_DISPLAY is set). "
            "Start it from a desktop session, or run the command-line tools "
            "(gptoss-desktop --help).",
            file=sys.stderr,
        )
        return 1
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from gptoss_desktop.ui.errors import ErrorDialog, install_exception_hook

    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
    )
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    name_application(app)
    try:
        parts = build_window()
    except GptossError as exc:
        ErrorDialog(f"{APP_TITLE} could not start", exc.message, exc.details).exec()
        return 1
    window = parts.window
    install_exception_hook(lambda: window)  # type: ignore[arg-type,return-value]
    window.show()  # type: ignore[attr-defined]
    return int(app.exec())
