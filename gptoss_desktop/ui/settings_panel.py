"""Per-chat settings: reasoning effort, instructions, sampling, context length, seed.

The defaults are gpt-oss's (temperature 1.0, top_p 1.0, medium reasoning). Every change
emits ``sig_changed(ChatSettings)``; the controller saves it to the chat.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gptoss_desktop.core.store.records import ChatSettings

CONTEXT_CHOICES = (2048, 4096, 8192, 16384, 32768, 65536, 131072)
KV_CACHE_CHOICES = (("f16", "full precision (f16)"), ("q8_0", "compact (q8_0)"))


class SettingsPanel(QWidget):
    sig_changed = Signal(object)  # ChatSettings
    sig_reload_context = Signal(int)  # load the model again with this context length
    sig_cpu_moe = Signal(int)  # layers whose MoE experts stay in RAM (applies at the next load)
    sig_kv_cache = Signal(str)  # KV cache type, "f16" or "q8_0" (applies at the next load)

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
        # The KV cache type: q8_0 takes about half the memory of f16 (long contexts).
        self.kv_cache = QComboBox()
        for value, text in KV_CACHE_CHOICES:
            self.kv_cache.addItem(text, value)
        self.kv_cache.setAccessibleName("KV cache type")
        self.kv_cache.setToolTip(
            "How the model's memory of the conversation is stored (applies at the next load)"
        )
        form.addRow("KV cache", self.kv_cache)
        self.kv_cache_note = QLabel("")
        self.kv_cache_note.setObjectName("Muted")
        self.kv_cache_note.setWordWrap(True)
        self.kv_cache_note.setAccessibleName("KV cache note")
        form.addRow("", self.kv_cache_note)
        self.kv_cache.currentIndexChanged.connect(self._kv_cache_chosen)
        self.seed = QSpinBox()
        self.seed.setRange(-1, 2**31 - 1)
        self.seed.setSpecialValueText("random")
        self.seed.setAccessibleName("Seed")
        form.addRow("Seed", self.seed)
        # MoE expert offload: the experts of the first N layers stay in system RAM so the rest
        # fits a small GPU (llama.cpp's --n-cpu-moe). The label shows the estimate per position.
        self.cpu_moe = QSlider(Qt.Orientation.Horizontal)
        self.cpu_moe.setRange(0, 0)
        self.cpu_moe.setAccessibleName("Layers with experts in RAM")
        self.cpu_moe.setToolTip(
            "Keep the expert weights of the first N layers in system RAM so the rest fits "
            "in GPU memory (applies at the next load)"
        )
        self.cpu_moe.setEnabled(False)
        form.addRow("Experts in RAM", self.cpu_moe)
        self.cpu_moe_label = QLabel("Load a mixture-of-experts model to plan its memory")
        self.cpu_moe_label.setObjectName("Muted")
        self.cpu_moe_label.setWordWrap(True)
        self.cpu_moe_label.setAccessibleName("Memory estimate")
        form.addRow("", self.cpu_moe_label)
        self.cpu_moe.valueChanged.connect(self._cpu_moe_moved)
        self._plan: tuple[Any, int, bool] | None = None  # (shape, n_ctx, has a GPU)
        self._update_kv_cache_note()
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

    def set_memory_plan(self, shape: Any, n_ctx: int, n_cpu_moe: int, has_gpu: bool) -> None:
        """The loaded model's shape (core.library.fit.ModelShape): enables the experts slider."""
        self._plan = (shape, n_ctx, has_gpu)
        moe = bool(getattr(shape, "expert_bytes", 0)) and bool(shape.n_layer)
        self.cpu_moe.blockSignals(True)
        self.cpu_moe.setRange(0, shape.n_layer if moe else 0)
        self.cpu_moe.setValue(min(n_cpu_moe, shape.n_layer or 0) if moe else 0)
        self.cpu_moe.blockSignals(False)
        self.cpu_moe.setEnabled(moe)
        self._update_cpu_moe_label()
        self._update_kv_cache_note()

    def kv_cache_type(self) -> str:
        return str(self.kv_cache.currentData())

    def set_kv_cache_type(self, value: str) -> None:
        """Show the saved choice (no signal)."""
        index = self.kv_cache.findData(value)
        self.kv_cache.blockSignals(True)
        self.kv_cache.setCurrentIndex(max(0, index))
        self.kv_cache.blockSignals(False)
        self._update_kv_cache_note()
        self._update_cpu_moe_label()

    def _kv_cache_chosen(self, _index: int) -> None:
        self._update_kv_cache_note()
        self._update_cpu_moe_label()
        self.sig_kv_cache.emit(self.kv_cache_type())

    def _update_kv_cache_note(self) -> None:
        """What the choice costs, with the loaded model's figures when there is one."""
        from gptoss_desktop.core.units import format_bytes

        compact = self.kv_cache_type() == "q8_0"
        text = (
            "About half the KV memory, slightly lower quality"
            if compact
            else "Full quality; compact (q8_0) takes about half the KV memory"
        )
        if self._plan is not None:
            shape, n_ctx, _gpu = self._plan
            full, small = (shape.kv_bytes(n_ctx, kv_cache_type=t) for t in ("f16", "q8_0"))
            text += (
                f": {format_bytes(small)} instead of {format_bytes(full)}"
                if compact
                else f" ({format_bytes(full)}, or {format_bytes(small)} compact)"
            )
            text += f" at {n_ctx:,} tokens"
        self.kv_cache_note.setText(text + "; applies at the next load")

    def _cpu_moe_moved(self, value: int) -> None:
        self._update_cpu_moe_label()
        self.sig_cpu_moe.emit(int(value))

    def _update_cpu_moe_label(self) -> None:
        from gptoss_desktop.core.library.fit import GiB, cpu_moe_split

        if self._plan is None or not self.cpu_moe.isEnabled():
            self.cpu_moe_label.setText("Not a mixture-of-experts model: nothing to keep in RAM")
            return
        shape, n_ctx, has_gpu = self._plan
        n = self.cpu_moe.value()
        gpu, ram = cpu_moe_split(shape, n_ctx, n, kv_cache_type=self.kv_cache_type())
        text = f"{n} of {shape.n_layer} layers in RAM: GPU {gpu / GiB:.1f} GiB, RAM {ram / GiB:.1f} GiB"
        if not has_gpu:
            text += " (CPU only here: every weight is in RAM anyway)"
        self.cpu_moe_label.setText(text + f" at {n_ctx:,} tokens")

    def flush(self) -> None:
        """Emit a pending change now (before sending, before switching chats)."""
        if self._debounce.isActive():
            self._debounce.stop()
            self._emit()
