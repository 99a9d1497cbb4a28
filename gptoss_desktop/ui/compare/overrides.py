"""A column's own sampling settings, overriding the comparison's shared ones."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QSpinBox,
    QWidget,
)

from gptoss_desktop.core.engine import SamplingOptions


class ColumnOverridesDialog(QDialog):
    """``override`` unchecked: the column uses the shared settings (the fair default)."""

    def __init__(
        self,
        current: SamplingOptions | None,
        shared: SamplingOptions,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Column settings")
        form = QFormLayout(self)
        base = current or shared
        self.override = QCheckBox("Use its own settings instead of the shared ones")
        self.override.setChecked(current is not None)
        form.addRow(self.override)
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.0, 2.0)
        self.temperature.setSingleStep(0.1)
        self.temperature.setValue(base.temperature)
        form.addRow("Temperature", self.temperature)
        self.top_p = QDoubleSpinBox()
        self.top_p.setRange(0.01, 1.0)
        self.top_p.setSingleStep(0.05)
        self.top_p.setValue(base.top_p)
        form.addRow("Top p", self.top_p)
        self.seed = QSpinBox()
        self.seed.setRange(-1, 2**31 - 1)
        self.seed.setSpecialValueText("Same as the others")
        self.seed.setValue(base.seed if base.seed is not None else -1)
        form.addRow("Seed", self.seed)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def sampling(self) -> SamplingOptions | None:
        if not self.override.isChecked():
            return None
        seed = self.seed.value()
        return SamplingOptions(
            temperature=self.temperature.value(),
            top_p=self.top_p.value(),
            seed=None if seed < 0 else seed,
        )
