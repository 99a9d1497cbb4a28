"""How full the model's context is, with a warning before the chat would not fit."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QProgressBar, QWidget

from gptoss_desktop.ui.elided_label import ElidedLabel

WARN_FRACTION = 0.8


def level(used: int, n_ctx: int) -> str:
    if n_ctx <= 0:
        return "ok"
    fraction = used / n_ctx
    if fraction >= 0.95:
        return "full"
    if fraction >= WARN_FRACTION:
        return "warn"
    return "ok"


class ContextMeter(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.bar = QProgressBar()
        self.bar.setTextVisible(False)
        self.bar.setFixedWidth(80)
        self.bar.setAccessibleName("Context used")
        row.addWidget(self.bar)
        # Changing text must not change the window's minimum size (a relayout of everything);
        # on a narrow window the line is elided, whole in its tooltip.
        self.label = ElidedLabel(min_chars=14)
        self.label.setObjectName("Muted")
        row.addWidget(self.label, 1)
        self.used = 0
        self.n_ctx = 0
        self.set_usage(0, 0)

    def set_usage(self, used: int, n_ctx: int) -> str:
        """Show ``used`` of ``n_ctx`` tokens; return the level (ok, warn, full)."""
        self.used, self.n_ctx = used, n_ctx
        lvl = level(used, n_ctx)
        self.bar.setRange(0, max(n_ctx, 1))
        self.bar.setValue(min(used, n_ctx))
        if self.bar.property("level") != lvl:  # re-polishing is slow: only on a change
            self.bar.setProperty("level", lvl)
            self.bar.style().unpolish(self.bar)
            self.bar.style().polish(self.bar)
        if n_ctx <= 0:
            self.label.setText("Context: no model")
        else:
            text = f"{used:,} / {n_ctx:,} tokens"
            if lvl != "ok":
                text += " · nearly full" if lvl == "warn" else " · full"
            self.label.setText(text)
        self.setToolTip(
            "Tokens of this chat in the model's context window. Before it would not fit, "
            "the app asks what to do; it never drops text silently."
        )
        return lvl
