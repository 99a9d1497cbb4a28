"""A minimal proof that Qt works here, for ``--self-test`` (runs in its own child process).

Creates the application with whatever platform plugin Qt picks (offscreen, xcb, wayland,
cocoa, windows), shows and paints a widget, and renders the app's SVG icon, which needs the
bundled SVG image-format plugin: the parts of Qt an installer can forget to ship.
"""

from __future__ import annotations

from pathlib import Path


def probe_qt(icon_svg: Path | None = None) -> str:
    from PySide6.QtCore import qVersion
    from PySide6.QtGui import QIcon, QImageReader
    from PySide6.QtWidgets import QApplication, QLabel

    app = QApplication.instance() or QApplication(["gptoss-desktop"])
    label = QLabel("gptoss-desktop self-test")
    label.show()
    app.processEvents()
    picture = label.grab()
    label.close()
    if picture.isNull() or picture.width() == 0:
        raise RuntimeError("Qt could not paint a widget")
    parts = [f"{QApplication.platformName()} platform, Qt {qVersion()}"]
    if icon_svg is not None and icon_svg.is_file():
        formats = {bytes(f.data()).decode() for f in QImageReader.supportedImageFormats()}
        if "svg" not in formats:
            raise RuntimeError("Qt's SVG image plugin is missing (imageformats/qsvg)")
        pixmap = QIcon(str(icon_svg)).pixmap(64, 64)
        if pixmap.isNull():
            raise RuntimeError(f"Qt could not render the app icon {icon_svg.name}")
        parts.append("SVG icon rendered")
    return ", ".join(parts)
