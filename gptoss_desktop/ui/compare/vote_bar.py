"""The blind vote: left better, right better, tie, both bad (or A/B/C/D for more columns)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from gptoss_desktop.core.compare.blind import slot_name


class VoteBar(QFrame):
    """Emits ``sig_vote(slot, tie)``: a winning slot, or ``-1`` with tie True/False (all bad)."""

    sig_vote = Signal(int, bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("VoteBar")
        self.setAccessibleName("Blind vote")
        self._row = QHBoxLayout(self)
        self._row.setContentsMargins(4, 4, 4, 4)
        self.prompt = QLabel("Which answer is better? The names show after you vote.")
        self.result = QLabel("")
        self.result.setWordWrap(True)
        self.buttons: dict[str, QPushButton] = {}
        self.hide()

    def offer(self, n_columns: int) -> None:
        """Show the choices for ``n_columns`` columns."""
        while self._row.count():
            item = self._row.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None and widget not in (self.prompt, self.result):
                widget.deleteLater()
        self.buttons = {}
        self._row.addWidget(self.prompt)
        if n_columns == 2:
            choices = [("left", "◀ Left is better", 0), ("right", "Right is better ▶", 1)]
        else:
            choices = [(slot_name(i), f"{slot_name(i)} is better", i) for i in range(n_columns)]
        choices += [
            ("tie", "Tie", -1),
            ("all_bad", "Both are bad" if n_columns == 2 else "All are bad", -2),
        ]
        for key, label, slot in choices:
            button = QPushButton(label)
            button.setObjectName(f"vote-{key}")
            button.clicked.connect(lambda _=False, s=slot: self._vote(s))
            self.buttons[key] = button
            self._row.addWidget(button)
        self._row.addStretch(1)
        self.prompt.show()
        self.result.hide()
        self.show()

    def _vote(self, slot: int) -> None:
        if slot >= 0:
            self.sig_vote.emit(slot, False)
        else:
            self.sig_vote.emit(-1, slot == -1)

    def show_result(self, text: str) -> None:
        for button in self.buttons.values():
            button.hide()
        self.prompt.hide()
        self._row.addWidget(self.result, 1)
        self.result.setText(text)
        self.result.show()
        self.show()
