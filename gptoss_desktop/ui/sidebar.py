"""The chat list: new chat, search across every chat, rename, pin, delete, export, import.

A view only: it shows what it is given and emits what the user asks for.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QPoint, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from gptoss_desktop.core.store.records import Conversation, SearchHit

MARK = ("\x01", "\x02")  # search snippet markers, made bold for display
# Where a search hit was found, in words (the raw channel names are Harmony jargon).
WHERE_WORDS = {
    "final": "answer",
    "analysis": "reasoning",
    "commentary": "tool use",
    "user": "your message",
    "assistant": "answer",
    "tool": "tool result",
    "system": "instructions",
    "developer": "instructions",
}


def snippet_html(snippet: str) -> str:
    text = html.escape(snippet)
    return text.replace(MARK[0], "<b>").replace(MARK[1], "</b>")


class Sidebar(QFrame):
    sig_new = Signal()
    sig_open = Signal(int)
    sig_open_hit = Signal(object)  # SearchHit
    sig_rename = Signal(int, str)
    sig_pin = Signal(int, bool)
    sig_delete = Signal(int)
    sig_search = Signal(str)
    sig_export = Signal(int, str)  # chat id, "markdown" | "json"
    sig_import = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Sidebar")
        self.setMinimumWidth(210)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 10, 8, 8)
        top = QHBoxLayout()
        self.new_button = QPushButton("New chat")
        self.new_button.setObjectName("Primary")
        self.new_button.setAccessibleName("New chat")
        self.new_button.clicked.connect(self.sig_new)
        top.addWidget(self.new_button, 1)
        self.import_button = QPushButton("Import chat…")
        self.import_button.setAccessibleName("Import a chat from JSON")
        self.import_button.clicked.connect(self.sig_import)
        top.addWidget(self.import_button)
        layout.addLayout(top)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search all chats")
        self.search.setAccessibleName("Search all chats")
        self.search.setClearButtonEnabled(True)
        layout.addWidget(self.search)
        self.list = QListWidget()
        self.list.setAccessibleName("Chats")
        # Long titles are elided ("…"), never scrolled sideways.
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        self.list.itemActivated.connect(self._activated)
        self.list.itemClicked.connect(self._activated)
        layout.addWidget(self.list, 1)
        self.results = QListWidget()
        self.results.setAccessibleName("Search results")
        self.results.setWordWrap(True)
        self.results.itemActivated.connect(self._hit_activated)
        self.results.itemClicked.connect(self._hit_activated)
        self.results.hide()
        layout.addWidget(self.results, 1)
        self.results_label = QLabel()
        self.results_label.setObjectName("Muted")
        self.results_label.hide()
        layout.addWidget(self.results_label)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(200)
        self._debounce.timeout.connect(lambda: self.sig_search.emit(self.search.text().strip()))
        self.search.textChanged.connect(self._search_changed)
        self.current_id: int | None = None
        self._conversations: dict[int, Conversation] = {}

    # --- the list -----------------------------------------------------------------------
    def set_conversations(self, chats: list[Conversation]) -> None:
        self._conversations = {c.id: c for c in chats}
        self.list.blockSignals(True)
        self.list.clear()
        for c in chats:
            item = QListWidgetItem(("📌 " if c.pinned else "") + c.title)
            item.setData(Qt.ItemDataRole.UserRole, c.id)
            item.setToolTip(c.title)
            self.list.addItem(item)
            if c.id == self.current_id:
                item.setSelected(True)
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)

    def set_current(self, chat_id: int | None) -> None:
        self.current_id = chat_id
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item.data(Qt.ItemDataRole.UserRole) == chat_id:
                self.list.setCurrentItem(item)
                return
        self.list.clearSelection()

    def _activated(self, item: QListWidgetItem) -> None:
        chat_id = int(item.data(Qt.ItemDataRole.UserRole))
        if chat_id != self.current_id:
            self.sig_open.emit(chat_id)

    def _menu(self, pos: QPoint) -> None:
        item = self.list.itemAt(pos)
        if item is None:
            return
        chat = self._conversations.get(int(item.data(Qt.ItemDataRole.UserRole)))
        if chat is None:
            return
        menu = QMenu(self)
        menu.addAction("Rename…", lambda: self.ask_rename(chat.id))
        menu.addAction(
            "Unpin" if chat.pinned else "Pin", lambda: self.sig_pin.emit(chat.id, not chat.pinned)
        )
        menu.addSeparator()
        menu.addAction("Export as Markdown…", lambda: self.sig_export.emit(chat.id, "markdown"))
        menu.addAction("Export as JSON…", lambda: self.sig_export.emit(chat.id, "json"))
        menu.addSeparator()
        delete = QAction("Delete", menu)
        delete.triggered.connect(lambda: self.sig_delete.emit(chat.id))
        menu.addAction(delete)
        menu.exec(self.list.viewport().mapToGlobal(pos))

    def ask_rename(self, chat_id: int) -> None:
        chat = self._conversations.get(chat_id)
        if chat is None:
            return
        title, ok = QInputDialog.getText(self, "Rename chat", "Name:", text=chat.title)
        if ok and title.strip():
            self.sig_rename.emit(chat_id, title.strip())

    # --- search -------------------------------------------------------------------------
    def _search_changed(self, text: str) -> None:
        searching = bool(text.strip())
        self.list.setVisible(not searching)
        self.results.setVisible(searching)
        self.results_label.setVisible(searching)
        if searching:
            self._debounce.start()
        else:
            self._debounce.stop()
            self.results.clear()

    def show_results(self, query: str, hits: list[SearchHit]) -> None:
        if query != self.search.text().strip():
            return  # an older search answered late
        self.results.clear()
        for hit in hits:
            where = (
                "title"
                if hit.message_id is None
                else WHERE_WORDS.get(hit.channel or hit.role or "", hit.channel or hit.role or "")
            )
            label = QLabel(
                f"<b>{html.escape(hit.conversation_title)}</b> "
                f"<span style='color:gray'>({html.escape(str(where))})</span><br>"
                f"{snippet_html(hit.snippet)}"
            )
            label.setWordWrap(True)
            label.setContentsMargins(4, 4, 4, 4)
            item = QListWidgetItem()
            item.setData(Qt.ItemDataRole.UserRole, hit)
            # The height a wrapped label needs at the list's width (its plain sizeHint is for
            # one long line, so wrapped results were cut off).
            width = max(self.results.viewport().width() - 4, 120)
            item.setSizeHint(QSize(width, label.heightForWidth(width) + 2))
            self.results.addItem(item)
            self.results.setItemWidget(item, label)
        n = len(hits)
        self.results_label.setText(f"{n} match{'es' if n != 1 else ''}" if n else "No matches")

    def _hit_activated(self, item: QListWidgetItem) -> None:
        hit = item.data(Qt.ItemDataRole.UserRole)
        if isinstance(hit, SearchHit):
            self.sig_open_hit.emit(hit)
