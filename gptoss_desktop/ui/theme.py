"""Light and dark looks: a palette, a style sheet, and following the OS setting.

``ThemeController`` applies the user's choice (system, light or dark); with "system" it
follows ``QStyleHints.colorScheme()`` and switches live when the OS does.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication


@dataclass(frozen=True)
class Colors:
    name: str
    window: str
    surface: str  # sidebar, panels
    bubble_user: str
    bubble_assistant: str
    text: str
    muted: str
    accent: str
    accent_text: str
    border: str
    code_bg: str
    reasoning_bg: str
    warning_bg: str
    error_bg: str
    # syntax highlighting
    keyword: str
    string: str
    comment: str
    number: str


LIGHT = Colors(
    name="light",
    window="#ffffff",
    surface="#f4f5f7",
    bubble_user="#e8f0fe",
    bubble_assistant="#ffffff",
    text="#1f2328",
    muted="#656d76",
    accent="#2563eb",
    accent_text="#ffffff",
    border="#d0d7de",
    code_bg="#f6f8fa",
    reasoning_bg="#f7f7f9",
    warning_bg="#fff4d6",
    error_bg="#ffe3e3",
    keyword="#cf222e",
    string="#0a3069",
    comment="#6e7781",
    number="#0550ae",
)

DARK = Colors(
    name="dark",
    window="#17181b",
    surface="#1f2125",
    bubble_user="#243049",
    bubble_assistant="#17181b",
    text="#e6e7ea",
    muted="#9aa0a8",
    accent="#5b8cff",
    accent_text="#0b0d12",
    border="#34373d",
    code_bg="#202227",
    reasoning_bg="#1d1f23",
    warning_bg="#3d3414",
    error_bg="#4a1f22",
    keyword="#ff7b72",
    string="#a5d6ff",
    comment="#8b949e",
    number="#79c0ff",
)


def palette_for(c: Colors) -> QPalette:
    p = QPalette()
    roles = {
        QPalette.ColorRole.Window: c.window,
        QPalette.ColorRole.WindowText: c.text,
        QPalette.ColorRole.Base: c.window,
        QPalette.ColorRole.AlternateBase: c.surface,
        QPalette.ColorRole.Text: c.text,
        QPalette.ColorRole.Button: c.surface,
        QPalette.ColorRole.ButtonText: c.text,
        QPalette.ColorRole.Highlight: c.accent,
        QPalette.ColorRole.HighlightedText: c.accent_text,
        QPalette.ColorRole.ToolTipBase: c.surface,
        QPalette.ColorRole.ToolTipText: c.text,
        QPalette.ColorRole.PlaceholderText: c.muted,
        QPalette.ColorRole.Link: c.accent,
    }
    for role, color in roles.items():
        p.setColor(role, QColor(color))
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor(c.muted))
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor(c.muted))
    return p


_ICONS = {
    # 12x12 marks drawn in the theme's colours: a styled check box or spin box loses the
    # style's own marks, so the sheet names these (written once per colour to a cache folder).
    "check": '<path d="M2.5 6.5 L5 9 L9.5 3.5" fill="none" stroke="{c}" stroke-width="2"/>',
    "up": '<path d="M2 8 L6 4 L10 8 Z" fill="{c}"/>',
    "down": '<path d="M2 4 L6 8 L10 4 Z" fill="{c}"/>',
}
_ICON_DIR: list[str] = []


def icon_url(kind: str, color: str) -> str:
    """A file URL-free path (forward slashes) to a small SVG mark, for a style sheet."""
    import tempfile
    from pathlib import Path

    if not _ICON_DIR:
        _ICON_DIR.append(tempfile.mkdtemp(prefix="gptoss-theme-"))
    path = Path(_ICON_DIR[0]) / f"{kind}-{color.lstrip('#')}.svg"
    if not path.exists():
        body = _ICONS[kind].format(c=color)
        path.write_text(
            f'<svg xmlns="http://www.w3.org/2000/svg" width="12" height="12" '
            f'viewBox="0 0 12 12">{body}</svg>',
            encoding="utf-8",
        )
    return path.as_posix()


def style_sheet(c: Colors) -> str:
    check, up, down = (
        icon_url("check", c.accent_text),
        icon_url("up", c.text),
        icon_url("down", c.text),
    )
    return f"""
QMainWindow, QDialog {{ background: {c.window}; }}
#Sidebar, #SettingsPanel {{ background: {c.surface}; border: none; }}
#Sidebar QListWidget {{ background: transparent; border: none; }}
#Sidebar QListWidget::item {{ padding: 6px 8px; border-radius: 6px; }}
#Sidebar QListWidget::item:selected {{ background: {c.bubble_user}; color: {c.text}; }}
QLineEdit, QPlainTextEdit, QTextEdit, QSpinBox, QDoubleSpinBox, QComboBox {{
    border: 1px solid {c.border}; border-radius: 6px; padding: 4px 6px; background: {c.window};
    color: {c.text};
}}
QSpinBox, QDoubleSpinBox {{ padding-right: 20px; }}
QSpinBox::up-button, QDoubleSpinBox::up-button {{
    subcontrol-origin: border; subcontrol-position: top right; width: 18px;
    border-left: 1px solid {c.border}; border-top-right-radius: 6px;
}}
QSpinBox::down-button, QDoubleSpinBox::down-button {{
    subcontrol-origin: border; subcontrol-position: bottom right; width: 18px;
    border-left: 1px solid {c.border}; border-bottom-right-radius: 6px;
}}
QSpinBox::up-button:hover, QDoubleSpinBox::up-button:hover,
QSpinBox::down-button:hover, QDoubleSpinBox::down-button:hover {{ background: {c.surface}; }}
QSpinBox::up-arrow, QDoubleSpinBox::up-arrow {{ image: url("{up}"); width: 10px; height: 10px; }}
QSpinBox::down-arrow, QDoubleSpinBox::down-arrow {{
    image: url("{down}"); width: 10px; height: 10px;
}}
QCheckBox::indicator {{
    width: 14px; height: 14px; border: 1px solid {c.muted}; border-radius: 3px;
    background: {c.window};
}}
QCheckBox::indicator:hover {{ border-color: {c.accent}; }}
QCheckBox::indicator:checked {{
    background: {c.accent}; border-color: {c.accent}; image: url("{check}");
}}
QCheckBox::indicator:disabled {{ border-color: {c.border}; }}
QPushButton {{
    border: 1px solid {c.border}; border-radius: 6px; padding: 5px 12px; background: {c.surface};
    color: {c.text};
}}
QPushButton:hover {{ border-color: {c.accent}; }}
QPushButton#Primary {{ background: {c.accent}; color: {c.accent_text}; border-color: {c.accent}; }}
QPushButton#Primary:disabled {{ background: {c.surface}; color: {c.muted}; border-color: {c.border}; }}
QPushButton:disabled {{ color: {c.muted}; }}
QToolButton {{ border: none; padding: 3px 6px; border-radius: 5px; color: {c.muted}; }}
QToolButton:hover {{ background: {c.surface}; color: {c.text}; }}
QTextBrowser#MessageText {{ background: transparent; border: none; }}
#UserBubble {{ background: {c.bubble_user}; border-radius: 12px; }}
#AssistantTurn {{ background: {c.bubble_assistant}; }}
#Reasoning {{ background: {c.reasoning_bg}; border-left: 3px solid {c.border}; border-radius: 4px; }}
#CodeBlock {{ background: {c.code_bg}; border: 1px solid {c.border}; border-radius: 8px; }}
#CodeBlock QPlainTextEdit {{ background: {c.code_bg}; border: none; }}
#Muted, QLabel#Muted {{ color: {c.muted}; }}
#Banner[kind="error"] {{ background: {c.error_bg}; border-radius: 8px; }}
#Banner[kind="warning"] {{ background: {c.warning_bg}; border-radius: 8px; }}
#Banner[kind="info"] {{ background: {c.surface}; border-radius: 8px; }}
#Composer {{ border-top: 1px solid {c.border}; }}
#DemoBadge {{ background: {c.warning_bg}; border-radius: 6px; padding: 2px 6px; }}
QProgressBar {{ border: 1px solid {c.border}; border-radius: 4px; background: {c.surface};
    height: 8px; text-align: center; }}
QProgressBar::chunk {{ background: {c.accent}; border-radius: 3px; }}
QProgressBar[level="warn"]::chunk {{ background: #d29922; }}
QProgressBar[level="full"]::chunk {{ background: #cf222e; }}
"""


def system_prefers_dark() -> bool:
    hints = QGuiApplication.styleHints()
    return hints.colorScheme() == Qt.ColorScheme.Dark


class ThemeController(QObject):
    """Applies the chosen theme to the application and follows the OS when asked to."""

    #: Emitted with the Colors now in use, after every change.
    sig_changed = Signal(object)

    def __init__(self, app: QApplication, choice: str = "system") -> None:
        super().__init__(app)
        self._app = app
        self.choice = choice
        self.colors = LIGHT
        QGuiApplication.styleHints().colorSchemeChanged.connect(self.on_os_scheme_changed)
        self.apply(choice)

    def apply(self, choice: str) -> Colors:
        self.choice = choice if choice in ("system", "light", "dark") else "system"
        dark = self.choice == "dark" or (self.choice == "system" and system_prefers_dark())
        self.colors = DARK if dark else LIGHT
        self._app.setStyle("Fusion")
        self._app.setPalette(palette_for(self.colors))
        self._app.setStyleSheet(style_sheet(self.colors))
        self.sig_changed.emit(self.colors)
        return self.colors

    def on_os_scheme_changed(self, _scheme: object) -> None:
        if self.choice == "system":
            self.apply("system")
