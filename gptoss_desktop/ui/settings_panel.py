"""Per-chat settings: reasoning effort, instructions, sampling, context length, seed.

The defaults are gpt-oss's (temperature 1.0, top_p 1.0, medium reasoning). Every change
emits ``sig_changed(ChatSettings)``; the controller saves it to the chat.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gptoss_desktop.core.store.records import ChatSettings

CONTEXT_CHOICES = (2048, 4096, 8192, 16384, 32768, 65536, 131072)


class SettingsPanel(QWidget):
    sig_changed = Signal(object)  # ChatSettings
    sig_reload_context = Signal(int)  # load the model again with this context length

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("SettingsPanel")
        self.setAccessibleName("Chat settings")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(12, 12, 12, 12)
        form = QFormLayout()
        outer.addLayout(form)
        self.effort = QComboBox()
        self.effort.addItems(["low", "medium", "high"])
        self.effort.setAccessibleName("Reasoning effort")
        self.effort.setToolTip("How long gpt-oss thinks before it answers")
        form.addRow("Reasoning", self.effort)
        self.instructions = QPlainTextEdit()
        self.instructions.setAccessibleName("Instructions")
        self.instructions.setPlaceholderText("Instructions for this chat (system prompt)")
        self.instructions.setFixedHeight(90)
        form.addRow("Instructions", self.instructions)
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.0, 2.0)
        self.temperature.setSingleStep(0.05)
        self.temperature.setAccessibleName("Temperature")
        form.addRow("Temperature", self.temperature)
        self.top_p = QDoubleSpinBox()
        self.top_p.setRange(0.0, 1.0)
        self.top_p.setSingleStep(0.05)
        self.top_p.setAccessibleName("Top p")
        form.addRow("Top p", self.top_p)
        self.max_tokens = QSpinBox()
        self.max_tokens.setRange(0, 131072)
        self.max_tokens.setSpecialValueText("no limit")
        self.max_tokens.setAccessibleName("Max tokens")
        form.addRow("Max tokens", self.max_tokens)
        self.context = QComboBox()
        for n in CONTEXT_CHOICES:
            self.context.addItem(f"{n:,}", n)
        self.context.setAccessibleName("Context length")
        form.addRow("Context", self.context)
        self.reload_button = QPushButton("Load with this context")
        self.reload_button.setAccessibleName("Reload the model with this context length")
        self.reload_button.clicked.connect(
            lambda: self.sig_reload_context.emit(int(self.context.currentData()))
        )
        form.addRow("", self.reload_button)
        self.context_note = QLabel("")
        self.context_note.setObjectName("Muted")
        self.context_note.setWordWrap(True)
        self.context_note.setAccessibleName("Context note")
        self.context_note.hide()
        form.addRow("", self.context_note)
        self._context_limit: int | None = None
        self.seed = QSpinBox()
        self.seed.setRange(-1, 2**31 - 1)
        self.seed.setSpecialValueText("random")
        self.seed.setAccessibleName("Seed")
        form.addRow("Seed", self.seed)
        outer.addStretch(1)
        self._settings = ChatSettings()
        self._loading = False
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(400)
        self._debounce.timeout.connect(self._emit)
        for signal in (
            self.effort.currentIndexChanged,
            self.temperature.valueChanged,
            self.top_p.valueChanged,
            self.max_tokens.valueChanged,
            self.context.currentIndexChanged,
            self.seed.valueChanged,
            self.instructions.textChanged,
        ):
            signal.connect(self._changed)
        self.set_settings(self._settings)

    def set_settings(self, s: ChatSettings) -> None:
        self._loading = True
        self._settings = s
        self.effort.setCurrentText(s.reasoning_effort)
        self.instructions.setPlainText(s.instructions)
        self.temperature.setValue(s.temperature)
        self.top_p.setValue(s.top_p)
        self.max_tokens.setValue(s.max_tokens or 0)
        index = self.context.findData(s.context_length)
        if index < 0:
            self.context.addItem(f"{s.context_length:,}", s.context_length)
            index = self.context.count() - 1
        self.context.setCurrentIndex(index)
        self.seed.setValue(-1 if s.seed is None else s.seed)
        self._loading = False

    def set_model_limit(self, loaded: int | None, trained: int | None) -> None:
        """What the loaded model allows: lengths beyond its training length are greyed out
        (llama.cpp would load it at the training length anyway), and a note says why."""
        self._context_limit = trained
        model = self.context.model()
        for i in range(self.context.count()):
            item = model.item(i) if hasattr(model, "item") else None
            if item is not None:
                n = int(self.context.itemData(i))
                item.setEnabled(trained is None or n <= trained)
        if trained and loaded is not None and int(self.context.currentData()) > trained:
            self.context_note.setText(
                f"This model was trained for at most {trained:,} tokens of context, so it "
                f"runs with {loaded:,} whatever is chosen here."
            )
            self.context_note.show()
        elif loaded is not None:
            self.context_note.setText(f"The loaded model runs with {loaded:,} tokens.")
            self.context_note.show()
        else:
            self.context_note.hide()

    def settings(self) -> ChatSettings:
        return replace(
            self._settings,
            reasoning_effort=self.effort.currentText(),  # type: ignore[arg-type]
            instructions=self.instructions.toPlainText(),
            temperature=round(self.temperature.value(), 3),
            top_p=round(self.top_p.value(), 3),
            max_tokens=self.max_tokens.value() or None,
            context_length=int(self.context.currentData()),
            seed=None if self.seed.value() < 0 else self.seed.value(),
        )

    def _changed(self, *_: object) -> None:
        if not self._loading:
            self._debounce.start()

    def _emit(self) -> None:
        new = self.settings()
        if new != self._settings:
            self._settings = new
            self.sig_changed.emit(new)

    def flush(self) -> None:
        """Emit a pending change now (before sending, before switching chats)."""
        if self._debounce.isActive():
            self._debounce.stop()
            self._emit()
