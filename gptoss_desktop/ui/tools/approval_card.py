"""The card that asks the user about one tool call before it runs.

Approval mode shows the call with its full arguments, editable, and three answers: Allow
once, Always allow for this chat, Deny (with an optional reason the model is told). Result
mode asks for the result of a function the user answers by hand. Start mode shows the exact
command line of an MCP server about to start for the first time: Allow or Don't allow. The card answers a
:class:`~gptoss_desktop.ui.tools.prompts.PendingPrompt`; the waiting turn then goes on.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from gptoss_desktop.core.tools.approval import Approval, Decision
from gptoss_desktop.ui.tools.prompts import APPROVAL, START, PendingPrompt
from gptoss_desktop.ui.tools.trace import pretty_arguments

RAW_TEXT_TOOLS = ("python",)  # tools whose arguments are plain text (code), not JSON


class ApprovalCard(QFrame):
    #: The prompt this card just answered.
    sig_answered = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ApprovalCard")
        self.setStyleSheet(
            "#ApprovalCard { border: 2px solid #d4a72c; border-radius: 8px;"
            " background: palette(base); }"
        )
        self.pending: PendingPrompt | None = None
        self._shown_text = ""
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.info = QLabel()
        self.info.setObjectName("Muted")
        self.info.setWordWrap(True)
        self.editor = QPlainTextEdit()
        self.editor.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.editor.textChanged.connect(self._check)
        self.problem = QLabel()
        self.problem.setStyleSheet("color: #cf222e;")
        self.problem.setWordWrap(True)
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("Reason for the model if you deny (optional)")
        self.allow_once = QPushButton("Allow once")
        self.allow_once.setObjectName("Primary")
        self.always = QPushButton("Always allow for this chat")
        self.deny = QPushButton("Deny")
        self.send_result = QPushButton("Send result")
        self.send_result.setObjectName("Primary")
        self.send_error = QPushButton("Send as error")
        self.allow_once.clicked.connect(lambda: self._approve(Decision.ALLOW_ONCE))
        self.always.clicked.connect(lambda: self._approve(Decision.ALWAYS_ALLOW))
        self.deny.clicked.connect(self._deny)
        self.send_result.clicked.connect(lambda: self._result(False))
        self.send_error.clicked.connect(lambda: self._result(True))
        buttons = QHBoxLayout()
        for b in (self.allow_once, self.always, self.deny, self.send_result, self.send_error):
            buttons.addWidget(b)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        for w in (self.title, self.info, self.editor, self.problem, self.reason):
            layout.addWidget(w)
        layout.addLayout(buttons)
        self.hide()

    # --- showing -------------------------------------------------------------------------------
    def show_prompt(self, pending: PendingPrompt) -> None:
        self.pending = pending
        if pending.kind == START:
            self._show_start(pending)
            return
        self.editor.setReadOnly(False)
        self.allow_once.setText("Allow once")
        self.deny.setText("Deny")
        approval = pending.kind == APPROVAL
        recipient = pending.recipient
        if approval:
            assert pending.request is not None
            request = pending.request
            self.title.setText(f"<b>The model wants to call {recipient}</b>")
            origin = f"It is a tool of {request.source}. " if request.source else ""
            self.info.setText(
                f"{origin}Tool call {request.call_number} of at most "
                f"{request.max_calls_per_turn} this turn. It runs exactly with the arguments "
                "below; you may edit them first."
            )
            text = request.arguments_text
            self._shown_text = text if recipient in RAW_TEXT_TOOLS else pretty_arguments(text)
        else:
            assert pending.call is not None
            self.title.setText(f"<b>You answer {recipient}</b>")
            args = pending.call.arguments
            shown = args if isinstance(args, str) else json.dumps(dict(args), ensure_ascii=False)
            self.info.setText(
                f"The model called it with {shown}. Type the result it should get; "
                "it goes back to the model as you write it."
            )
            self._shown_text = ""
        self.editor.setPlainText(self._shown_text)
        lines = max(self._shown_text.count("\n") + 1, 3 if approval else 4)
        height = self.editor.fontMetrics().lineSpacing() * (min(lines, 14) + 1) + 14
        self.editor.setFixedHeight(height)
        self.editor.setPlaceholderText("" if approval else "Type the result the model should get")
        self.reason.clear()
        for b in (self.allow_once, self.always, self.deny, self.reason):
            b.setVisible(approval)
        for b in (self.send_result, self.send_error):
            b.setVisible(not approval)
        self._check()
        self.show()
        self.editor.setFocus()

    def _show_start(self, pending: PendingPrompt) -> None:
        server = pending.server
        self.title.setText(f"<b>Start the MCP server {server.name}?</b>")
        self.info.setText(
            "This chat uses it, and it has not run before. The app will run exactly this "
            "command on your computer, with your rights. Your answer is remembered for this "
            "command line."
        )
        self._shown_text = server.command_line
        self.editor.setPlainText(self._shown_text)
        self.editor.setReadOnly(True)
        self.editor.setFixedHeight(self.editor.fontMetrics().lineSpacing() * 3 + 14)
        self.allow_once.setText("Allow")
        self.deny.setText("Don't allow")
        for b in (self.always, self.reason, self.send_result, self.send_error, self.problem):
            b.setVisible(False)
        for b in (self.allow_once, self.deny):
            b.setVisible(True)
            b.setEnabled(True)
        self.show()

    def close_prompt(self) -> None:
        self.pending = None
        self.hide()

    # --- answering ------------------------------------------------------------------------------
    def edited_arguments(self) -> Any:
        """None when unchanged; else the edited arguments (a JSON object, or text for code).
        Raises ValueError with a message when the edit is not a JSON object."""
        text = self.editor.toPlainText()
        if text == self._shown_text:
            return None
        pending = self.pending
        if pending is not None and (pending.recipient in RAW_TEXT_TOOLS or pending.kind == START):
            return text
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"The arguments are not valid JSON: {exc.msg} (line {exc.lineno})."
            ) from None
        if not isinstance(value, dict):
            raise ValueError('The arguments must be a JSON object, like {"name": value}.')
        return value

    def _check(self) -> None:
        problem = ""
        if self.pending is not None and self.pending.kind == APPROVAL:
            try:
                self.edited_arguments()
            except ValueError as exc:
                problem = str(exc)
        self.problem.setText(problem)
        self.problem.setVisible(bool(problem))
        self.allow_once.setEnabled(not problem)
        self.always.setEnabled(not problem)

    def _approve(self, decision: Decision) -> None:
        pending = self.pending
        if pending is None:
            return
        try:
            arguments = self.edited_arguments()
        except ValueError:
            return
        pending.resolve_approval(Approval(decision, arguments))
        self._done(pending)

    def _deny(self) -> None:
        pending = self.pending
        if pending is None:
            return
        pending.resolve_approval(Approval(Decision.DENY, reason=self.reason.text().strip()))
        self._done(pending)

    def _result(self, is_error: bool) -> None:
        pending = self.pending
        if pending is None:
            return
        pending.resolve_result(self.editor.toPlainText(), is_error=is_error)
        self._done(pending)

    def _done(self, pending: PendingPrompt) -> None:
        self.close_prompt()
        self.sig_answered.emit(pending)
