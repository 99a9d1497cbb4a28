"""Questions from the turn's thread to the user, answered on the GUI thread.

:class:`PromptBridge` implements :class:`~gptoss_desktop.ui.tools.wiring.UserPrompts`: the
turn's worker thread calls :meth:`PromptBridge.ask` (approve a tool call),
:meth:`PromptBridge.answer` (type a function's result) or :meth:`PromptBridge.confirm_start`
(may this MCP server's command line run, asked once per command line); the question travels to the GUI thread
by a queued signal and the worker waits on a :class:`threading.Event` until the user answers
(or the turn is cancelled). The GUI thread never waits.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal

from gptoss_desktop.core.errors import ToolError
from gptoss_desktop.core.tools.approval import Approval, ApprovalRequest, Decision
from gptoss_desktop.core.tools.results import ToolCall

APPROVAL, RESULT, START = "approval", "result", "start"
STOPPED = "the turn was stopped before the user answered"


@dataclass(eq=False)
class PendingPrompt:
    """One open question. ``kind`` is ``approval`` (``request`` set), ``result`` (``call``) or
    ``start`` (``server``: an McpServerConfig)."""

    kind: str
    request: ApprovalRequest | None = None
    call: ToolCall | None = None
    server: Any = None
    approval: Approval | None = None
    result: str | None = None
    result_is_error: bool = False
    cancelled: bool = False
    _done: threading.Event = field(default_factory=threading.Event)

    @property
    def recipient(self) -> str:
        if self.server is not None:
            return f"MCP server {self.server.name}"
        call = self.request.call if self.request is not None else self.call
        return call.recipient if call is not None else ""

    @property
    def answered(self) -> bool:
        return self._done.is_set()

    def resolve_approval(self, approval: Approval) -> None:
        if not self._done.is_set():
            self.approval = approval
            self._done.set()

    def resolve_result(self, text: str, *, is_error: bool = False) -> None:
        if not self._done.is_set():
            self.result, self.result_is_error = text, is_error
            self._done.set()

    def cancel(self) -> None:
        if not self._done.is_set():
            self.cancelled = True
            self._done.set()

    def wait(self) -> None:
        self._done.wait()


class PromptBridge(QObject):
    """Lives on the GUI thread; its ``ask`` and ``answer`` are called from turn threads."""

    #: A new open question (PendingPrompt), delivered on the GUI thread.
    sig_prompt = Signal(object)
    #: A question was answered or cancelled (PendingPrompt), on the thread that settled it.
    sig_settled = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._open: list[PendingPrompt] = []

    @property
    def open_prompts(self) -> list[PendingPrompt]:
        with self._lock:
            return [p for p in self._open if not p.answered]

    def _wait(self, pending: PendingPrompt) -> None:
        if QThread.currentThread() is self.thread():
            raise ToolError(
                "a tool question cannot be asked from the GUI thread; run the turn off it"
            )
        with self._lock:
            self._open.append(pending)
        self.sig_prompt.emit(pending)
        pending.wait()
        with self._lock:
            if pending in self._open:
                self._open.remove(pending)
        self.sig_settled.emit(pending)

    def ask(self, request: ApprovalRequest) -> Approval:
        pending = PendingPrompt(APPROVAL, request=request)
        self._wait(pending)
        if pending.cancelled or pending.approval is None:
            return Approval(Decision.DENY, reason=STOPPED)
        return pending.approval

    def answer(self, call: ToolCall) -> str:
        pending = PendingPrompt(RESULT, call=call)
        self._wait(pending)
        if pending.cancelled or pending.result is None:
            raise ToolError(STOPPED)
        if pending.result_is_error:
            raise ToolError(pending.result or "the user reported an error")
        return pending.result

    def confirm_start(self, server: Any) -> bool | None:
        """Whether the user lets this MCP server's exact command line run (None: the turn
        was stopped before they answered)."""
        pending = PendingPrompt(START, server=server)
        self._wait(pending)
        if pending.cancelled or pending.approval is None:
            return None
        return pending.approval.decision != Decision.DENY

    def cancel(self) -> None:
        """Settle every open question (the turn was stopped); safe from any thread."""
        with self._lock:
            pending = list(self._open)
        for p in pending:
            p.cancel()
