"""An assistant turn: reasoning sections, tool calls and the answer, growing as it streams."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QWidget

from gptoss_desktop.core.chat.thread import DisplayTurn
from gptoss_desktop.core.store.records import Message
from gptoss_desktop.ui.elided_label import ElidedLabel
from gptoss_desktop.ui.markdown_view import MarkdownView
from gptoss_desktop.ui.message_widget import (
    ReasoningSection,
    ToolCallView,
    TurnWidget,
    metrics_text,
    tool_button,
)

Part = ReasoningSection | MarkdownView | ToolCallView


class AssistantTurnWidget(TurnWidget):
    sig_regenerate = Signal()

    def __init__(
        self,
        turn: DisplayTurn | None = None,
        *,
        model_label: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(turn, parent)
        self.setObjectName("AssistantTurn")
        self.header = QLabel(model_label or "Assistant")
        self.header.setObjectName("Muted")
        self.body.addWidget(self.header)
        self.parts: dict[int, Part] = {}
        self._order: list[int] = []
        self.metrics_label = ElidedLabel(min_chars=8)  # never cut mid-word without "…"
        self.metrics_label.setObjectName("Muted")
        self.metrics_label.setAccessibleName("Message metrics")
        self.metrics_label.hide()
        self.regenerate_button = tool_button("Regenerate", "Regenerate answer")
        self.regenerate_button.clicked.connect(self.sig_regenerate)
        self._parts_end = 1  # index in body where the next part goes
        self.finish_actions(self.regenerate_button, self.metrics_label)
        if turn is not None:
            if turn.first.model:
                self.header.setText(turn.first.model)
            for row in turn.rows:
                part = self.add_part(row, live=False)
                if isinstance(part, MarkdownView):
                    part.set_markdown(row.content)
                elif isinstance(part, ToolCallView):
                    pass  # filled from its row when made; appending would show it twice
                elif row.content:
                    part.append_text(row.content)
            self.set_metrics(turn.metrics)
            error = next((m.error for m in turn.rows if m.error), None)
            self.set_status(turn.status, error)

    # --- streaming --------------------------------------------------------------------------
    def add_part(self, row: Message, *, live: bool = True) -> Part:
        part: Part
        if row.role == "tool" or (row.recipient and row.recipient != "all"):
            part = ToolCallView(row)
        elif row.channel in ("analysis", "commentary"):
            part = ReasoningSection(expanded=live)
            part.set_live(live)
        else:
            part = MarkdownView()
            part.setAccessibleName("Answer")
        if live and not isinstance(part, ReasoningSection):
            for section in self.reasoning_sections():  # the answer begins: fold the thinking
                section.set_expanded(False)
        self.body.insertWidget(self._parts_end, part)
        self._parts_end += 1
        self.parts[row.id] = part
        self._order.append(row.id)
        if live:
            self.set_status("streaming")
        return part

    def append(self, message_id: int, text: str) -> None:
        part = self.parts.get(message_id)
        if part is not None:
            part.append_text(text)

    def end_part(self, message_id: int, status: str) -> None:
        part = self.parts.get(message_id)
        if isinstance(part, MarkdownView):
            part.finish()
        elif isinstance(part, ReasoningSection):
            part.set_live(False)
        self.set_status("" if status == "complete" else status)

    def finish(self, status: str, metrics: dict[str, object], error: str | None = None) -> None:
        for part in self.parts.values():
            if isinstance(part, ReasoningSection):
                part.set_live(False)
        self.set_metrics(metrics)
        self.set_status("" if status == "complete" else status, error)

    def set_metrics(self, metrics: dict[str, object]) -> None:
        text = metrics_text(metrics)
        self.metrics_label.setText(text)
        self.metrics_label.setVisible(bool(text))

    # --- reading ----------------------------------------------------------------------------
    def reasoning_sections(self) -> list[ReasoningSection]:
        return [p for p in self.parts.values() if isinstance(p, ReasoningSection)]

    def answer_text(self) -> str:
        return "".join(p.text for p in self.parts.values() if isinstance(p, MarkdownView))

    def reasoning_text(self) -> str:
        return "".join(s.view.text for s in self.reasoning_sections())

    def plain_text(self) -> str:
        return self.answer_text()
