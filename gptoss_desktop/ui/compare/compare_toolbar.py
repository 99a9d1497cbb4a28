"""The compare view's top bar: columns, blind, sync scrolling, shared sampling, saved, export."""

from __future__ import annotations

import json

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gptoss_desktop.core.compare.updates import CompareSettings
from gptoss_desktop.core.store.compare_export import (
    export_comparison_csv,
    export_comparison_json,
    export_comparison_markdown,
)
from gptoss_desktop.core.store.store import Store

EXPORT_SUFFIXES = {"markdown": ".md", "json": ".json", "csv": ".csv"}


def export_text(store: Store, comparison_id: int, fmt: str) -> str:
    """The store's export of a comparison as ``fmt``: markdown, json or csv (metrics)."""
    if fmt == "markdown":
        return export_comparison_markdown(store, comparison_id)
    if fmt == "json":
        data = export_comparison_json(store, comparison_id)
        return json.dumps(data, ensure_ascii=False, indent=2)
    if fmt == "csv":
        return export_comparison_csv(store, comparison_id)
    raise ValueError(f"unknown export format {fmt!r}")


class CompareToolbar(QWidget):
    #: the user picked an export format (markdown, json, csv)
    sig_export = Signal(str)

    def __init__(self, settings: CompareSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # Two rows, so the toolbar fits a 1024-px window (at 150 % scaling) with room to spare.
        rows = QVBoxLayout(self)
        rows.setContentsMargins(0, 0, 0, 0)
        rows.setSpacing(4)
        bar = QHBoxLayout()
        sampling = QHBoxLayout()
        rows.addLayout(bar)
        rows.addLayout(sampling)
        bar.addWidget(QLabel("Columns"))
        self.column_count = QSpinBox()
        self.column_count.setRange(2, 4)
        self.column_count.setAccessibleName("Number of columns")
        bar.addWidget(self.column_count)
        self.blind_box = QCheckBox("Blind")
        self.blind_box.setToolTip("Hide the names and shuffle the columns until you vote")
        self.blind_box.setChecked(settings.blind)
        bar.addWidget(self.blind_box)
        self.sync_box = QCheckBox("Sync scrolling")
        bar.addWidget(self.sync_box)
        bar.addStretch(1)
        sampling.addWidget(QLabel("Temperature"))
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.0, 2.0)
        self.temperature.setSingleStep(0.1)
        self.temperature.setValue(settings.sampling.temperature)
        sampling.addWidget(self.temperature)
        sampling.addWidget(QLabel("Max tokens"))
        self.max_tokens = QSpinBox()
        self.max_tokens.setRange(1, 32768)
        self.max_tokens.setValue(settings.max_tokens)
        sampling.addWidget(self.max_tokens)
        sampling.addWidget(QLabel("Seed"))
        self.seed = QSpinBox()
        self.seed.setRange(-1, 2**31 - 1)
        self.seed.setSpecialValueText("Random")
        seed = settings.sampling.seed
        self.seed.setValue(-1 if seed is None else seed)
        self.seed.setToolTip("The same seed goes to every column")
        sampling.addWidget(self.seed)
        sampling.addWidget(QLabel("Effort"))
        self.effort = QComboBox()
        self.effort.addItems(["low", "medium", "high"])
        self.effort.setCurrentText(settings.reasoning_effort)
        self.effort.setAccessibleName("Reasoning effort")
        self.effort.setToolTip("Reasoning effort of gpt-oss columns (the system message)")
        sampling.addWidget(self.effort)
        sampling.addStretch(1)
        self.history_button = QToolButton()
        self.history_button.setText("Saved…")
        self.history_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.history_menu = QMenu(self.history_button)
        self.history_button.setMenu(self.history_menu)
        bar.addWidget(self.history_button)
        self.leaderboard_button = QPushButton("Leaderboard")
        bar.addWidget(self.leaderboard_button)
        self.export_button = QToolButton()
        self.export_button.setText("Export")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.export_button)
        for fmt, label in (("markdown", "Markdown…"), ("json", "JSON…"), ("csv", "CSV (metrics)…")):
            menu.addAction(label).triggered.connect(
                lambda _checked=False, f=fmt: self.sig_export.emit(f)
            )
        self.export_button.setMenu(menu)
        self.export_button.setEnabled(False)
        bar.addWidget(self.export_button)
