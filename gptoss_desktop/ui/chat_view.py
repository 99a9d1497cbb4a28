"""The transcript: finished turns above, the turn in progress below.

Finished turns sit in one container whose size does not change while a turn streams; the
turn in progress sits in a second one. Growing the live answer therefore re-lays out two
boxes, whatever the length of the chat, and new text is appended to the last message's
document only. The view sticks to the bottom while the user has not scrolled up.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QVBoxLayout, QWidget

from gptoss_desktop.core.store.records import Message
from gptoss_desktop.ui.assistant_turn import AssistantTurnWidget
from gptoss_desktop.ui.message_widget import TurnWidget, UserMessageWidget
from gptoss_desktop.ui.thread_model import DisplayTurn, ThreadSnapshot


class ChatView(QScrollArea):
    sig_edit = Signal(object, str)  # DisplayTurn, new text
    sig_regenerate = Signal(object)  # DisplayTurn
    sig_delete = Signal(object)  # DisplayTurn
    sig_switch = Signal(object, int)  # DisplayTurn, step

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Conversation")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        content = QWidget()
        outer = QVBoxLayout(content)
        outer.setContentsMargins(16, 12, 16, 12)
        outer.setSpacing(8)
        self.history = QWidget()
        self._history = QVBoxLayout(self.history)
        self._history.setContentsMargins(0, 0, 0, 0)
        self._history.setSpacing(8)
        self.live = QWidget()
        self._live = QVBoxLayout(self.live)
        self._live.setContentsMargins(0, 0, 0, 0)
        self._live.setSpacing(8)
        self.placeholder = QLabel(
            "Type a message below to start. The model runs on this computer; "
            "nothing you write leaves it."
        )
        self.placeholder.setObjectName("Muted")
        self.placeholder.setWordWrap(True)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        outer.addWidget(self.placeholder)
        outer.addWidget(self.history)
        outer.addWidget(self.live)
        outer.addStretch(1)
        self.setWidget(content)
        self._stick = True
        self.verticalScrollBar().rangeChanged.connect(self._on_range)
        self.verticalScrollBar().valueChanged.connect(self._on_scroll)
        self.current: AssistantTurnWidget | None = None

    # --- whole threads ------------------------------------------------------------------------
    def show_thread(self, snapshot: ThreadSnapshot | None) -> None:
        self.clear()
        turns = snapshot.turns if snapshot else ()
        for turn in turns:
            self._history.addWidget(self._make(turn))
        self.placeholder.setVisible(not turns)
        self._stick = True

    def clear(self) -> None:
        for layout in (self._history, self._live):
            while layout.count():
                item = layout.takeAt(0)
                if item.widget() is not None:
                    item.widget().deleteLater()
        self.current = None

    def turn_widgets(self) -> list[TurnWidget]:
        out: list[TurnWidget] = []
        for layout in (self._history, self._live):
            for i in range(layout.count()):
                w = layout.itemAt(i).widget()
                if isinstance(w, TurnWidget):
                    out.append(w)
        return out

    def sync(self, snapshot: ThreadSnapshot) -> None:
        """Bind freshly loaded turns to the widgets shown; rebuild only if they differ."""
        widgets = self.turn_widgets()
        same = len(widgets) == len(snapshot.turns) and all(
            (w.turn is None or w.turn.first.id == t.first.id)
            and isinstance(w, UserMessageWidget) == (t.role == "user")
            for w, t in zip(widgets, snapshot.turns, strict=True)
        )
        if not same:
            self.show_thread(snapshot)
            return
        for w, t in zip(widgets, snapshot.turns, strict=True):
            if w.turn is None or w.turn != t:
                w.turn = t
                w.versions.set_position(t.version_index, max(len(t.versions), 1))
        self.commit_live()

    def truncate_at(self, turn: DisplayTurn) -> None:
        """Remove ``turn`` and everything after it (before a regenerate or an edit)."""
        found = False
        for w in self.turn_widgets():
            if w.turn is not None and w.turn.first.id == turn.first.id:
                found = True
            if found:
                w.setParent(None)
                w.deleteLater()
        self.current = None

    # --- the turn in progress -----------------------------------------------------------------
    def add_user(self, text: str) -> UserMessageWidget:
        w = UserMessageWidget(text)
        self._wire(w)
        self._live.addWidget(w)
        self.placeholder.hide()
        self._stick = True
        return w

    def begin_assistant(self, model_label: str) -> AssistantTurnWidget:
        w = AssistantTurnWidget(model_label=model_label)
        w.set_status("streaming")
        self._wire(w)
        self._live.addWidget(w)
        self.placeholder.hide()
        self.current = w
        self._stick = True
        return w

    def apply(self, items: Sequence[tuple[Any, ...]]) -> None:
        """Apply drained stream items to the live turn."""
        w = self.current
        if w is None:
            return
        for item in items:
            kind = item[0]
            if kind == "start":
                row: Message = item[1]
                w.add_part(row)
            elif kind == "delta":
                w.append(item[1], item[2])
            elif kind == "end":
                w.end_part(item[1], item[2])

    def commit_live(self) -> None:
        """Move the finished live turn(s) to the history container."""
        while self._live.count():
            item = self._live.takeAt(0)
            widget = item.widget()
            if widget is not None:
                self._history.addWidget(widget)
                widget.show()
        self.current = None

    # --- plumbing -----------------------------------------------------------------------------
    def _make(self, turn: DisplayTurn) -> TurnWidget:
        w: TurnWidget
        if turn.role == "user":
            w = UserMessageWidget(turn.first.content, turn)
        else:
            w = AssistantTurnWidget(turn)
        self._wire(w)
        return w

    def _wire(self, w: TurnWidget) -> None:
        w.sig_delete.connect(lambda: w.turn and self.sig_delete.emit(w.turn))
        w.sig_switch.connect(lambda step: w.turn and self.sig_switch.emit(w.turn, step))
        if isinstance(w, UserMessageWidget):
            w.sig_edit.connect(lambda text: w.turn and self.sig_edit.emit(w.turn, text))
        elif isinstance(w, AssistantTurnWidget):
            w.sig_regenerate.connect(lambda: w.turn and self.sig_regenerate.emit(w.turn))

    def _on_range(self, _min: int, maximum: int) -> None:
        if self._stick:
            self.verticalScrollBar().setValue(maximum)

    def _on_scroll(self, value: int) -> None:
        self._stick = value >= self.verticalScrollBar().maximum() - 8

    def scroll_to_bottom(self) -> None:
        self._stick = True
        self.verticalScrollBar().setValue(self.verticalScrollBar().maximum())
