"""The tool settings of a chat: built-in python and browser on or off, the documents folder,
function tools with their JSON-schema editor, and how calls are approved.

``ToolConfigEditor(config, prefs, check_sandbox=...)`` edits copies; after ``exec()`` returns
Accepted, :meth:`ToolConfigEditor.result_config` and :meth:`result_preferences` hold the
choice. Turning python on checks the sandbox off the GUI thread: if this machine cannot
confine it, the box turns itself off and says why.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gptoss_desktop.core.chat.tools import ChatToolConfig, ToolPreferences
from gptoss_desktop.core.errors import GptossError
from gptoss_desktop.core.tools.approval import ApprovalMode
from gptoss_desktop.ui.tools.function_editor import FunctionEditor

APPROVAL_LABELS = {
    ApprovalMode.ASK: "Ask me before each call",
    ApprovalMode.ALL: "Run every call without asking",
    ApprovalMode.NONE: "Never run tools (the model is told)",
}
SandboxCheck = Callable[[], str]


class _CheckRelay(QObject):
    sig_done = Signal(bool, str)  # ok, layers or the reason it cannot run


class ToolConfigEditor(QDialog):
    def __init__(
        self,
        config: ChatToolConfig,
        prefs: ToolPreferences,
        *,
        check_sandbox: SandboxCheck | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("ToolConfigEditor")
        self.setWindowTitle("Tools for this chat")
        self.resize(760, 620)
        self._check_sandbox = check_sandbox
        self._relay = _CheckRelay(self)
        self._relay.sig_done.connect(self._on_checked)
        self.checking = False

        builtins = QGroupBox("Built-in tools (go into the system message)")
        self.python_box = QCheckBox("Python: the model runs code in a sandbox")
        self.python_status = QLabel(
            "No network, files only in this chat's scratch folder, limits on time, memory "
            "and output."
        )
        self.python_status.setObjectName("Muted")
        self.python_status.setWordWrap(True)
        self.browser_box = QCheckBox("Browser: the model searches your documents, offline")
        self.docs_edit = QLineEdit()
        self.docs_edit.setPlaceholderText("A folder of text, Markdown, HTML and PDF files")
        self.docs_button = QPushButton("Choose…")
        self.docs_button.clicked.connect(self.choose_docs)
        self.docs_problem = QLabel()
        self.docs_problem.setStyleSheet("color: #cf222e;")
        docs_row = QHBoxLayout()
        docs_row.addWidget(self.docs_edit, 1)
        docs_row.addWidget(self.docs_button)
        b = QVBoxLayout(builtins)
        b.addWidget(self.python_box)
        b.addWidget(self.python_status)
        b.addWidget(self.browser_box)
        b.addLayout(docs_row)
        b.addWidget(self.docs_problem)

        functions = QGroupBox("Function tools (go into the developer message)")
        self.functions = FunctionEditor()
        QVBoxLayout(functions).addWidget(self.functions)

        approval = QGroupBox("Approval (all chats)")
        self.approval = QComboBox()
        for mode, label in APPROVAL_LABELS.items():
            self.approval.addItem(label, mode.value)
        self.limit = QSpinBox()
        self.limit.setRange(1, 64)
        self.limit.setSuffix(" tool calls per turn")
        form = QFormLayout(approval)
        form.addRow("Before a call runs:", self.approval)
        form.addRow("At most:", self.limit)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(builtins)
        layout.addWidget(functions, 1)
        layout.addWidget(approval)
        layout.addWidget(self.buttons)

        self.set_values(config, prefs)
        self.python_box.toggled.connect(self._python_toggled)
        self.browser_box.toggled.connect(self._validate)
        self.docs_edit.textChanged.connect(self._validate)
        self.functions.sig_validity.connect(lambda _ok: self._validate())
        self._validate()

    # --- values ----------------------------------------------------------------------------------
    def set_values(self, config: ChatToolConfig, prefs: ToolPreferences) -> None:
        self.python_box.setChecked(config.python)
        self.browser_box.setChecked(config.browser)
        self.docs_edit.setText(prefs.docs_folder or "")
        self.functions.set_functions(list(config.functions), dict(config.bindings))
        self.approval.setCurrentIndex(self.approval.findData(prefs.approval.value))
        self.limit.setValue(prefs.max_calls_per_turn)

    def result_config(self) -> ChatToolConfig:
        specs, bindings = self.functions.functions()
        return ChatToolConfig(
            self.python_box.isChecked(), self.browser_box.isChecked(), tuple(specs), bindings
        )

    def result_preferences(self) -> ToolPreferences:
        docs = self.docs_edit.text().strip() or None
        return ToolPreferences(docs, ApprovalMode(self.approval.currentData()), self.limit.value())

    def problems(self) -> list[str]:
        found = self.functions.all_problems()
        if self.browser_box.isChecked():
            from pathlib import Path

            docs = self.docs_edit.text().strip()
            if not docs:
                found.append("the browser needs a documents folder")
            elif not Path(docs).expanduser().is_dir():
                found.append(f"{docs} is not a folder")
        return found

    def _validate(self) -> None:
        docs = [p for p in self.problems() if "folder" in p]
        self.docs_problem.setText("; ".join(docs))
        self.docs_problem.setVisible(bool(docs))
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(not self.problems() and not self.checking)

    def choose_docs(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Documents for the browser tool")
        if folder:
            self.docs_edit.setText(folder)
            self.browser_box.setChecked(True)

    # --- the sandbox check ----------------------------------------------------------------------
    def _python_toggled(self, on: bool) -> None:
        if on and self._check_sandbox is not None:
            self.check_python()

    def check_python(self) -> None:
        """Start the sandbox on a thread; the answer comes back through ``_on_checked``."""
        check = self._check_sandbox
        if check is None or self.checking:
            return
        self.checking = True
        self.python_status.setText("Checking that this machine can confine python…")
        self._validate()
        relay = self._relay

        def work() -> None:
            try:
                ok, detail = True, check()
            except GptossError as exc:
                ok, detail = False, exc.message
            except Exception as exc:  # shown in the dialog, and python stays off
                ok, detail = False, f"{type(exc).__name__}: {exc}"
            with contextlib.suppress(RuntimeError):  # the dialog was closed meanwhile
                relay.sig_done.emit(ok, detail)

        threading.Thread(target=work, name="sandbox-check", daemon=True).start()

    def _on_checked(self, ok: bool, detail: str) -> None:
        self.checking = False
        if ok:
            self.python_status.setText(f"Sandbox ready, confined by: {detail}.")
            self.python_status.setStyleSheet("color: #1a7f37;")
        else:
            self.python_box.blockSignals(True)
            self.python_box.setChecked(False)
            self.python_box.blockSignals(False)
            self.python_status.setText(
                f"Python stays off: the sandbox cannot be set up here ({detail})."
            )
            self.python_status.setStyleSheet("color: #cf222e;")
        self._validate()
