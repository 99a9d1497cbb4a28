"""The user's own leaderboard from blind votes: Elo-style rating, win rate, votes behind it."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gptoss_desktop.core.compare.ratings import Standing

HEADERS = ("#", "Model", "Rating", "Win rate", "Votes", "Won", "Lost", "Tied", "All bad")


def standing_cells(rank: int, s: Standing) -> list[str]:
    rate = "–" if s.win_rate is None else f"{s.win_rate * 100:.0f}%"
    return [
        str(rank), s.model, f"{s.rating:.0f}", rate, str(s.votes),
        str(s.wins), str(s.losses), str(s.ties), str(s.all_bad),
    ]  # fmt: skip


class LeaderboardDialog(QDialog):
    def __init__(self, standings: Sequence[Standing], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Leaderboard of your blind votes")
        self.setAccessibleName("Leaderboard")
        self.resize(640, 360)
        layout = QVBoxLayout(self)
        note = QLabel(
            "From your own blind votes only. Rating: Elo, everyone starts at 1000 (K = 32). "
            "Win rate counts a tie as half a win; “all bad” votes are not rated."
        )
        note.setWordWrap(True)
        note.setObjectName("Muted")
        layout.addWidget(note)
        self.table = QTableWidget(len(standings), len(HEADERS))
        self.table.setHorizontalHeaderLabels(HEADERS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)  # names get the rest
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.setWordWrap(False)
        for row, standing in enumerate(standings):
            for col, text in enumerate(standing_cells(row + 1, standing)):
                item = QTableWidgetItem(text)
                if col != 1:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                else:
                    item.setToolTip(text)
                self.table.setItem(row, col, item)
        # Wide enough for every number and the longest name (up to the screen), so nothing
        # scrolls sideways.
        self.table.resizeColumnsToContents()
        fm = self.table.fontMetrics()
        names = max((fm.horizontalAdvance(s.model) for s in standings), default=120) + 24
        others = sum(header.sectionSize(c) for c in range(len(HEADERS)) if c != 1)
        needed = others + names + 48
        screen = self.screen().availableGeometry().width() if self.screen() else 1024
        self.resize(max(640, min(needed, screen - 80)), 360)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout.addWidget(self.table)
        self.empty = QLabel("No votes yet: turn on blind mode, compare, and vote.")
        self.empty.setVisible(not standings)
        layout.addWidget(self.empty)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def cell(self, row: int, col: int) -> str:
        item = self.table.item(row, col)
        return item.text() if item is not None else ""
