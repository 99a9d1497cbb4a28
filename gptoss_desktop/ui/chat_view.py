"""The transcript: finished turns above, the turn in progress below.

Finished turns sit in one container whose size does not change while a turn streams; the
turn in progress sits in a second one. Growing the live answer therefore re-lays out two
boxes, whatever the length of the chat, and new text is appended to the last message's
document only. Finished turns far outside the viewport are hidden (keeping their space),
so painting walks only the turns near what is shown; finding them is a binary search over
cached positions. The view sticks to the bottom while the user has not scrolled up.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QVBoxLayout, QWidget

from gptoss_desktop.core.chat.recorder import (
    RowCreated,
    RowDelta,
    RowEnded,
    RowStarted,
    RowUpdate,
)
from gptoss_desktop.core.chat.thread import DisplayTurn, ThreadSnapshot
from gptoss_desktop.core.store.records import Message
from gptoss_desktop.ui.assistant_turn import AssistantTurnWidget
from gptoss_desktop.ui.message_widget import TurnWidget, UserMessageWidget

MARGIN_X, MARGIN_Y, SPACING = 16, 12, 8


class TranscriptCanvas(QWidget):
    """Places the placeholder, the finished turns and the live turn one under the other.

    No layout manager: when the live turn grows, only the live box and the canvas height
    change; the finished turns are measured again only when they change (or the width).
    """

    def __init__(self, placeholder: QLabel, history: QWidget, live: QWidget) -> None:
        super().__init__()
        self.placeholder, self.history, self.live = placeholder, history, live
        # Opaque: when the view scrolls while an answer grows, Qt moves the pixels it already
        # has and paints only the strip that comes into view.
        self.setAutoFillBackground(True)
        for w in (placeholder, history, live):
            w.setParent(self)
        self._history_height: int | None = None
        history.installEventFilter(self)
        live.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.LayoutRequest:
            if watched is self.history:
                self._history_height = None  # a finished turn changed: measure again
            self.relayout_soon()  # after the box has laid itself out (posted after this one)
        return False

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.LayoutRequest:
            self.relayout()
            return True
        return super().event(event)

    def set_width(self, width: int) -> None:
        if width != self.width():
            self._history_height = None
            self.resize(width, self.height())
            self.relayout()

    @staticmethod
    def _height(box: QWidget, width: int) -> int:
        layout = box.layout()
        if layout is not None and layout.count() == 0:
            return 0
        if box.hasHeightForWidth():
            return box.heightForWidth(width)
        return box.sizeHint().height()

    def measure_history(self) -> None:
        self._history_height = None
        self.relayout()

    def relayout_soon(self) -> None:
        QCoreApplication.postEvent(self, QEvent(QEvent.Type.LayoutRequest))

    def relayout(self) -> None:
        width = max(self.width() - 2 * MARGIN_X, 50)
        y = MARGIN_Y
        if not self.placeholder.isHidden():
            h = self.placeholder.heightForWidth(width)
            self.placeholder.setGeometry(MARGIN_X, y, width, h)
            y += h + SPACING
        if self._history_height is None:
            self._history_height = self._height(self.history, width)
        self.history.setGeometry(MARGIN_X, y, width, self._history_height)
        y += self._history_height + (SPACING if self._history_height else 0)
        live_height = self._height(self.live, width)
        self.live.setGeometry(MARGIN_X, y, width, live_height)
        y += live_height + MARGIN_Y
        if y != self.height():
            self.resize(self.width(), y)


#: Turns within this many viewport heights above and below the shown area stay visible.
CULL_MARGIN = 1.0


class ChatView(QScrollArea):
    sig_edit = Signal(object, str)  # DisplayTurn, new text
    sig_regenerate = Signal(object)  # DisplayTurn
    sig_delete = Signal(object)  # DisplayTurn
    sig_switch = Signal(object, int)  # DisplayTurn, step

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Conversation")
        self.setWidgetResizable(False)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
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
        self.canvas = TranscriptCanvas(self.placeholder, self.history, self.live)
        self.setWidget(self.canvas)
        self._stick = True
        self.verticalScrollBar().rangeChanged.connect(self._on_range)
        self.verticalScrollBar().valueChanged.connect(self._on_scroll)
        self.current: AssistantTurnWidget | None = None
        self._rows: list[TurnWidget] = []  # finished turns, in order
        self._bottoms: list[int] | None = None  # their bottom edges (history coordinates)
        self._shown: tuple[int, int] = (0, -1)
        self.history.installEventFilter(self)
        self._cull_soon = QTimer(self)
        self._cull_soon.setSingleShot(True)
        self._cull_soon.setInterval(0)
        self._cull_soon.timeout.connect(self.cull)

    # --- whole threads ------------------------------------------------------------------------
    def show_thread(self, snapshot: ThreadSnapshot | None) -> None:
        self.clear()
        turns = snapshot.turns if snapshot else ()
        for turn in turns:
            self._add_row(self._make(turn))
        self.placeholder.setVisible(not turns)
        self._stick = True
        self.settle()

    def clear(self) -> None:
        for layout in (self._history, self._live):
            while layout.count():
                item = layout.takeAt(0)
                widget = item.widget() if item is not None else None
                if widget is not None:
                    widget.deleteLater()
        self.current = None
        self._rows = []
        self._bottoms = None
        self._shown = (0, -1)

    def turn_widgets(self) -> list[TurnWidget]:
        out: list[TurnWidget] = []
        for layout in (self._history, self._live):
            for i in range(layout.count()):
                item = layout.itemAt(i)
                w = item.widget() if item is not None else None
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
                if w in self._rows:
                    self._rows.remove(w)
        self.current = None
        self._bottoms = None
        self._shown = (0, -1)
        self._cull_soon.start()

    # --- the turn in progress -----------------------------------------------------------------
    def add_user(self, text: str) -> UserMessageWidget:
        w = UserMessageWidget(text)
        self._wire(w)
        self._live.addWidget(w)
        self.placeholder.hide()
        self.canvas.relayout_soon()
        self._stick = True
        return w

    def begin_assistant(self, model_label: str) -> AssistantTurnWidget:
        w = AssistantTurnWidget(model_label=model_label)
        w.set_status("streaming")
        self._wire(w)
        self._live.addWidget(w)
        self.placeholder.hide()
        self.canvas.relayout_soon()
        self.current = w
        self._stick = True
        return w

    def apply(self, updates: Sequence[RowUpdate]) -> None:
        """Apply the turn's drained row updates to the live turn (the user's own message is
        already shown, so :class:`RowCreated` needs nothing)."""
        w = self.current
        if w is None:
            return
        for update in updates:
            if isinstance(update, RowStarted):
                w.add_part(update.message)
            elif isinstance(update, RowDelta):
                w.append(update.message_id, update.text)
            elif isinstance(update, RowEnded):
                w.end_part(update.message_id, update.status)
            elif not isinstance(update, RowCreated):
                raise TypeError(f"not a row update: {update!r}")

    def commit_live(self) -> None:
        """Move the finished live turn(s) to the history container."""
        while self._live.count():
            item = self._live.takeAt(0)
            widget = item.widget() if item is not None else None
            if isinstance(widget, TurnWidget):
                self._add_row(widget)
                widget.show()
        self.current = None
        self.settle()

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
        """Forward a turn's actions with its stored turn (a turn still streaming has none yet)."""

        def forward(signal: Any, *args: Any) -> None:
            if w.turn is not None:
                signal.emit(w.turn, *args)

        w.sig_delete.connect(lambda: forward(self.sig_delete))
        w.sig_switch.connect(lambda step: forward(self.sig_switch, step))
        if isinstance(w, UserMessageWidget):
            w.sig_edit.connect(lambda text: forward(self.sig_edit, text))
        elif isinstance(w, AssistantTurnWidget):
            w.sig_regenerate.connect(lambda: forward(self.sig_regenerate))

    def _on_range(self, _min: int, maximum: int) -> None:
        if self._stick:
            self.verticalScrollBar().setValue(maximum)

    def _on_scroll(self, value: int) -> None:
        self._stick = value >= self.verticalScrollBar().maximum() - 8
        self.cull()

    # --- showing only what is near the viewport ------------------------------------------------
    def _add_row(self, w: TurnWidget) -> None:
        policy = w.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        w.setSizePolicy(policy)
        self._history.addWidget(w)
        self._rows.append(w)
        self._bottoms = None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.history and event.type() in (
            QEvent.Type.Resize,
            QEvent.Type.LayoutRequest,
        ):
            self._bottoms = None
            self._cull_soon.start()
        # QScrollArea follows its widget's size through its own filter: keep it.
        return super().eventFilter(watched, event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.canvas.set_width(self.viewport().width())

    def cull(self) -> None:
        """Show the finished turns near the viewport, hide (keeping their space) the rest."""
        rows = self._rows
        if not rows:
            return
        if self._bottoms is None:
            self._bottoms = [w.geometry().bottom() for w in rows]
        top = self.verticalScrollBar().value() - self.history.y()
        height = self.viewport().height()
        margin = int(height * CULL_MARGIN)
        first = bisect.bisect_left(self._bottoms, top - margin)
        last = min(bisect.bisect_left(self._bottoms, top + height + margin), len(rows) - 1)
        if (first, last) == self._shown:
            return
        old_first, old_last = self._shown
        for i in range(max(old_first, 0), min(old_last, len(rows) - 1) + 1):
            if not first <= i <= last:
                rows[i].hide()
        for i in range(first, last + 1):
            if rows[i].isHidden():
                rows[i].show()
        self._shown = (first, last)

    def settle(self) -> None:
        """Lay out the finished turns now (once per turn, not per token), then cull."""
        self._history.activate()
        self._live.activate()
        self.canvas.measure_history()
        self._bottoms = None
        self.cull()
        if self._stick:
            self.verticalScrollBar().setValue(self.verticalScrollBar().maximum())

    def warm_up(self) -> None:
        """Build and drop one turn of each kind while idle, so the first real send does not
        pay Qt's one-time costs (type and enum set-up) while the user waits."""
        row = Message(-1, -1, None, "", "assistant", "", channel="analysis")
        user = UserMessageWidget("warm-up")
        answer = AssistantTurnWidget()
        answer.add_part(row)
        answer.add_part(replace(row, id=-2, channel="final"))
        answer.append(-2, "**warm** `up`\n```python\nx = 1\n```\n")
        answer.end_part(-2, "complete")
        answer.finish("complete", {"ttft_s": 0.1})
        for w in (user, answer):
            w.deleteLater()

    def shown_rows(self) -> list[TurnWidget]:
        return [w for w in self._rows if not w.isHidden()]

    def scroll_to_bottom(self) -> None:
        self._stick = True
        self.verticalScrollBar().setValue(self.verticalScrollBar().maximum())
