"""The model picker above the chat: which model, its load state, one click to load it."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QWidget

from gptoss_desktop.resources import DEMO_MODEL_LABEL
from gptoss_desktop.ui.elided_label import ElidedLabel

STATE_TEXT = {
    "unloaded": "Not loaded",
    "loading": "Loading…",
    "loaded": "Loaded",
    "failed": "Failed to load",
}


def find_models(
    folders: Iterable[Path], known: Iterable[str], demo: Path | None
) -> list[tuple[str, str]]:
    """(label, path) of every model the picker offers: the demo first, then the rest."""
    seen: set[str] = set()
    out: list[tuple[str, str]] = []

    def add(label: str, path: Path) -> None:
        key = str(path.resolve())
        if key not in seen and path.is_file():
            seen.add(key)
            out.append((label, str(path)))

    for name in known:
        add(Path(name).stem, Path(name))
    for folder in folders:
        if folder.is_dir():
            for file in sorted(folder.rglob("*.gguf")):
                add(file.stem, file)
    if demo is not None:
        add(DEMO_MODEL_LABEL, demo)
    return out


class ModelPicker(QWidget):
    sig_load = Signal(str)  # path
    sig_cancel_load = Signal()
    sig_import = Signal()
    sig_manage = Signal()
    sig_demo_shown = Signal(bool)
    sig_picked = Signal()  # the list or the picked model changed

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.combo = QComboBox()
        self.combo.setAccessibleName("Model")
        self.combo.setMinimumWidth(120)
        self.combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.combo.setMinimumContentsLength(12)
        self.combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.combo.currentIndexChanged.connect(self._refresh_button)
        row.addWidget(self.combo)
        self.load_button = QPushButton("Load")
        self.load_button.setFixedWidth(
            self.load_button.fontMetrics().horizontalAdvance("Loaded") + 32
        )
        self.load_button.setAccessibleName("Load model")
        self.load_button.clicked.connect(self._load)
        row.addWidget(self.load_button)
        # Its text changes while the app runs: it must never widen (and so re-lay out) the
        # window; what does not fit is elided and the whole line is in its tooltip.
        self.state_label = ElidedLabel(STATE_TEXT["unloaded"], min_chars=10)
        self.state_label.setObjectName("Muted")
        self.state_label.setAccessibleName("Model state")
        row.addWidget(self.state_label, 1)
        # Shown by the window under the top bar (it is wider than the bar can afford).
        self.demo_badge = QLabel(
            "Demo model: tiny and trained on made-up chats, for trying the app; its answers "
            "mean nothing. Download gpt-oss-20B from Models… for real answers."
        )
        self.demo_badge.setObjectName("DemoBadge")
        self.demo_badge.setWordWrap(True)
        self.demo_badge.hide()
        self.import_button = QPushButton("Add model file…")
        self.import_button.setAccessibleName("Add a model file")
        self.import_button.setToolTip(
            "Use a .gguf model file you already have (it is checked first, then listed under "
            "Models → Installed)"
        )
        self.import_button.clicked.connect(self.sig_import)
        row.addWidget(self.import_button)
        self.manage_button = QPushButton("Models…")
        self.manage_button.setAccessibleName("Manage and download models")
        self.manage_button.clicked.connect(self.sig_manage)
        row.addWidget(self.manage_button)
        self._states: dict[str, str] = {}

    def set_models(self, models: list[tuple[str, str]], select: str | None = None) -> None:
        current = select or self.current_path()
        self.combo.blockSignals(True)
        self.combo.clear()
        for label, path in models:
            self.combo.addItem(label, path)
            self.combo.setItemData(self.combo.count() - 1, path, 3)  # tooltip role
        if current is not None:
            index = self.combo.findData(current)
            if index >= 0:
                self.combo.setCurrentIndex(index)
        self.combo.blockSignals(False)
        self._refresh_button()
        self.sig_picked.emit()

    def current_path(self) -> str | None:
        data = self.combo.currentData()
        return str(data) if data else None

    def set_state(self, path: str, state: str, detail: str = "") -> None:
        self._states[path] = state
        if state == "loaded":
            for p, s in list(self._states.items()):
                if p != path and s == "loaded":
                    self._states[p] = "unloaded"
        index = self.combo.findData(path)
        if index >= 0 and state in ("loading", "loaded"):
            self.combo.setCurrentIndex(index)
        self._refresh_button()
        if self.current_path() == path:
            self.state_label.setText(detail if state == "loaded" and detail else STATE_TEXT[state])

    def set_progress(self, path: str, fraction: float) -> None:
        """Load progress (llama.cpp reads and repacks the weights: a 13 GB model takes a while)."""
        if self._states.get(path) == "loading" and self.current_path() == path:
            self.state_label.setText(f"Loading… {fraction * 100:.0f}%")

    def _refresh_button(self, *_: object) -> None:
        path = self.current_path()
        state = self._states.get(path or "", "unloaded")
        # While loading, the button cancels the load.
        self.load_button.setText("Cancel" if state == "loading" else "Load")
        self.load_button.setAccessibleName("Cancel loading" if state == "loading" else "Load model")
        self.load_button.setEnabled(path is not None and state != "loaded")
        self.load_button.setVisible(state != "loaded")  # the state label says "Loaded ·…"
        if state not in ("loaded",):
            self.state_label.setText(STATE_TEXT.get(state, ""))
        self.demo_badge.setVisible(self.combo.currentText() == DEMO_MODEL_LABEL)
        self.sig_demo_shown.emit(self.combo.currentText() == DEMO_MODEL_LABEL)

    def _load(self) -> None:
        path = self.current_path()
        if path and self._states.get(path) == "loading":
            self.sig_cancel_load.emit()
        elif path:
            self.sig_load.emit(path)
