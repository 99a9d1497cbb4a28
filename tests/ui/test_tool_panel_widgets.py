"""The tool panel's parts without a model: the approval card, the prompt bridge between a
turn's thread and the GUI, the tool settings dialog and the saved preferences."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from gptoss_desktop.core.chat.tools import ChatToolConfig, ChatTools, ToolPreferences
from gptoss_desktop.core.errors import SandboxUnavailable, ToolError
from gptoss_desktop.core.store.records import ChatSettings
from gptoss_desktop.core.tools.approval import ApprovalMode, ApprovalRequest, Decision
from gptoss_desktop.core.tools.functions import FunctionSpec
from gptoss_desktop.core.tools.results import ToolCall
from gptoss_desktop.ui.tools import ToolConfigEditor
from gptoss_desktop.ui.tools.prompts import RESULT, STOPPED, PromptBridge
from gptoss_desktop.ui.tools.tool_panel import ToolPanel
from gptoss_desktop.ui.tools.trace import TraceRecorder
from tests.helpers import ROOT

WEATHER = FunctionSpec(
    "get_weather",
    "Gets the weather.",
    {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]},
)


def request(recipient: str = "functions.get_weather", arguments: str = '{"location":"Tokyo"}'):
    return ApprovalRequest(ToolCall(recipient, arguments), 1, 8)


class Asking:
    """A turn thread that asks the bridge one question and keeps the answer."""

    def __init__(self, bridge: PromptBridge, how: str = "ask", **kw: Any) -> None:
        self.answer: Any = None
        self.error: BaseException | None = None

        def run() -> None:
            try:
                if how == "ask":
                    self.answer = bridge.ask(kw.get("request") or request())
                else:
                    self.answer = bridge.answer(
                        ToolCall("functions.get_weather", {"location": "Oslo"})
                    )
            except BaseException as exc:
                self.error = exc

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()


@pytest.fixture
def panel(qtbot) -> ToolPanel:
    p = ToolPanel(TraceRecorder(), PromptBridge())
    qtbot.addWidget(p)
    p.show()
    return p


def test_the_worker_waits_for_the_card_and_the_gui_does_not(qtbot, panel: ToolPanel) -> None:
    asking = Asking(panel.prompts)
    qtbot.waitUntil(lambda: panel.card.isVisible(), timeout=5000)
    card = panel.card
    assert "functions.get_weather" in card.title.text()
    assert card.editor.toPlainText() == '{\n  "location": "Tokyo"\n}'  # pretty-printed in full
    assert "1 of at most 8" in card.info.text()
    qtbot.wait(200)  # the event loop runs while the worker is blocked
    assert asking.thread.is_alive() and asking.answer is None
    qtbot.mouseClick(card.allow_once, Qt.MouseButton.LeftButton)
    asking.thread.join(5)
    assert asking.answer.decision is Decision.ALLOW_ONCE
    assert asking.answer.arguments is None  # unchanged arguments: the model's run
    assert not card.isVisible() and panel.prompts.open_prompts == []


def test_edited_arguments_are_checked_and_returned(qtbot, panel: ToolPanel) -> None:
    asking = Asking(panel.prompts)
    qtbot.waitUntil(lambda: panel.card.isVisible(), timeout=5000)
    card = panel.card
    card.editor.setPlainText('{"location": "Par')
    assert not card.allow_once.isEnabled() and not card.always.isEnabled()
    assert "not valid JSON" in card.problem.text()
    card.editor.setPlainText('["Paris"]')
    assert "must be a JSON object" in card.problem.text()
    card.editor.setPlainText('{"location": "Paris"}')
    assert card.allow_once.isEnabled() and card.problem.text() == ""
    qtbot.mouseClick(card.always, Qt.MouseButton.LeftButton)
    asking.thread.join(5)
    assert asking.answer.decision is Decision.ALWAYS_ALLOW
    assert asking.answer.arguments == {"location": "Paris"}


def test_python_code_is_edited_as_text(qtbot, panel: ToolPanel) -> None:
    asking = Asking(panel.prompts, request=request("python", "print(1 + 1)"))
    qtbot.waitUntil(lambda: panel.card.isVisible(), timeout=5000)
    panel.card.editor.setPlainText("print(2 + 2)")
    qtbot.mouseClick(panel.card.allow_once, Qt.MouseButton.LeftButton)
    asking.thread.join(5)
    assert asking.answer.arguments == "print(2 + 2)"


def test_deny_carries_the_reason(qtbot, panel: ToolPanel) -> None:
    asking = Asking(panel.prompts)
    qtbot.waitUntil(lambda: panel.card.isVisible(), timeout=5000)
    panel.card.reason.setText("not today")
    qtbot.mouseClick(panel.card.deny, Qt.MouseButton.LeftButton)
    asking.thread.join(5)
    assert (asking.answer.decision, asking.answer.reason) == (Decision.DENY, "not today")


def test_a_result_typed_by_the_user_or_an_error(qtbot, panel: ToolPanel) -> None:
    asking = Asking(panel.prompts, how="answer")
    qtbot.waitUntil(lambda: panel.card.isVisible(), timeout=5000)
    card = panel.card
    assert card.pending.kind == RESULT and not card.allow_once.isVisible()
    assert '{"location": "Oslo"}' in card.info.text()
    card.editor.setPlainText('{"temperature": 3}')
    qtbot.mouseClick(card.send_result, Qt.MouseButton.LeftButton)
    asking.thread.join(5)
    assert asking.answer == '{"temperature": 3}'

    asking = Asking(panel.prompts, how="answer")
    qtbot.waitUntil(lambda: panel.card.isVisible(), timeout=5000)
    card.editor.setPlainText("the station is down")
    qtbot.mouseClick(card.send_error, Qt.MouseButton.LeftButton)
    asking.thread.join(5)
    assert isinstance(asking.error, ToolError) and "station is down" in str(asking.error)


def test_stopping_the_turn_answers_every_open_question(qtbot, panel: ToolPanel) -> None:
    first, second = Asking(panel.prompts), Asking(panel.prompts, how="answer")
    qtbot.waitUntil(lambda: len(panel.prompts.open_prompts) == 2, timeout=5000)
    qtbot.waitUntil(lambda: panel.card.isVisible(), timeout=5000)
    panel.prompts.cancel()
    first.thread.join(5)
    second.thread.join(5)
    assert first.answer.decision is Decision.DENY and first.answer.reason == STOPPED
    assert isinstance(second.error, ToolError)
    qtbot.waitUntil(lambda: not panel.card.isVisible(), timeout=5000)


def test_asking_on_the_gui_thread_is_refused(panel: ToolPanel) -> None:
    with pytest.raises(ToolError, match="GUI thread"):
        panel.prompts.ask(request())


# --- the tool settings dialog --------------------------------------------------------------------
def ok_button(editor: ToolConfigEditor) -> Any:
    return editor.buttons.button(QDialogButtonBox.StandardButton.Ok)


def test_function_editor_templates_validation_and_round_trip(qtbot, tmp_path: Path) -> None:
    editor = ToolConfigEditor(ChatToolConfig(), ToolPreferences())
    qtbot.addWidget(editor)
    functions = editor.functions
    functions.template.setCurrentIndex(functions.template.findData("get_weather"))
    functions.add_from_template()
    functions.template.setCurrentIndex(functions.template.findData("calculate"))
    functions.add_from_template()
    assert [functions.list.item(i).text() for i in range(2)] == ["get_weather", "calculate"]
    assert functions.binding.currentData() == "calculator"  # a built-in's template binds it
    assert ok_button(editor).isEnabled()

    functions.editor.setPlainText('{"name": "calculate", "parameters": {"type": "objekt"}')
    assert not ok_button(editor).isEnabled()
    assert "not valid JSON" in functions.problems.text()
    functions.editor.setPlainText('{"name": "calculate", "parameters": {"type": "objekt"}}')
    assert "'objekt' is not one of" in functions.problems.text()
    functions.editor.setPlainText('{"name": "get_weather", "description": "again"}')
    assert "defined twice" in functions.problems.text()
    functions.editor.setPlainText('{"name": "python", "description": "clash"}')
    assert "built-in tool" in functions.problems.text()
    functions.editor.setPlainText(
        json.dumps({"name": "calculate", "description": "Math.", "parameters": {
            "type": "object", "properties": {"expression": {"type": "string"}},
            "required": ["expression"]}})
    )  # fmt: skip
    assert ok_button(editor).isEnabled() and "all valid" in functions.problems.text()

    editor.python_box.blockSignals(True)  # no sandbox check in this test
    editor.python_box.setChecked(True)
    editor.python_box.blockSignals(False)
    editor.approval.setCurrentIndex(editor.approval.findData("all"))
    editor.limit.setValue(3)
    config, prefs = editor.result_config(), editor.result_preferences()
    assert (config.python, config.browser) == (True, False)
    assert [s.name for s in config.functions] == ["get_weather", "calculate"]
    assert config.bindings == {"get_weather": "human", "calculate": "calculator"}
    assert (prefs.approval, prefs.max_calls_per_turn) == (ApprovalMode.ALL, 3)

    # kept in the chat's settings, through the store's JSON form, unchanged
    settings = config.applied_to(ChatSettings(temperature=0.5, enabled_tools=("other",)))
    again = ChatSettings.from_dict(json.loads(json.dumps(settings.to_dict())))
    assert again.temperature == 0.5 and set(again.enabled_tools) == {"other", "python"}
    assert ChatToolConfig.from_settings(again) == config


def test_removing_and_reopening_keeps_what_was_saved(qtbot) -> None:
    config = ChatToolConfig(browser=False, functions=(WEATHER,), bindings={"get_weather": "human"})
    editor = ToolConfigEditor(config, ToolPreferences(max_calls_per_turn=5))
    qtbot.addWidget(editor)
    assert editor.functions.list.count() == 1 and editor.limit.value() == 5
    assert json.loads(editor.functions.editor.toPlainText())["name"] == "get_weather"
    editor.functions.remove_current()
    assert editor.result_config().functions == ()
    assert "No functions" in editor.functions.problems.text()


def test_browser_needs_a_documents_folder(qtbot, tmp_path: Path) -> None:
    editor = ToolConfigEditor(ChatToolConfig(), ToolPreferences())
    qtbot.addWidget(editor)
    editor.browser_box.setChecked(True)
    assert not ok_button(editor).isEnabled()
    assert "needs a documents folder" in editor.docs_problem.text()
    editor.docs_edit.setText(str(tmp_path / "nowhere"))
    assert "is not a folder" in editor.docs_problem.text()
    editor.docs_edit.setText(str(tmp_path))
    assert ok_button(editor).isEnabled()
    assert editor.result_preferences().docs_folder == str(tmp_path)


def test_turning_python_on_checks_the_real_sandbox(qtbot, tmp_path: Path) -> None:
    from tests.core.tools.conftest import require_sandbox_support

    require_sandbox_support()
    from gptoss_desktop.core.paths import AppPaths

    tools = ChatTools(AppPaths.under(tmp_path), "7", ask=lambda r: None, human=lambda c: "")  # type: ignore[arg-type,return-value]
    editor = ToolConfigEditor(ChatToolConfig(), ToolPreferences(), check_sandbox=tools.check_python)
    qtbot.addWidget(editor)
    try:
        editor.python_box.setChecked(True)
        assert editor.checking and not ok_button(editor).isEnabled()
        qtbot.waitUntil(lambda: not editor.checking, timeout=20_000)
        assert editor.python_box.isChecked()
        assert "Sandbox ready" in editor.python_status.text()
        assert "seccomp" in editor.python_status.text()
        assert ok_button(editor).isEnabled()
    finally:
        tools.close()


def test_python_stays_off_where_the_sandbox_cannot_be_set_up(qtbot) -> None:
    # This machine can confine python, so the refusal comes from a check that refuses.
    def refuse() -> str:
        raise SandboxUnavailable("this kernel has no Landlock")

    editor = ToolConfigEditor(ChatToolConfig(), ToolPreferences(), check_sandbox=refuse)
    qtbot.addWidget(editor)
    editor.python_box.setChecked(True)
    qtbot.waitUntil(lambda: not editor.checking, timeout=5000)
    assert not editor.python_box.isChecked()
    assert "stays off" in editor.python_status.text()
    assert "no Landlock" in editor.python_status.text()
    assert editor.result_config().python is False


def test_preferences_are_saved_and_a_broken_file_is_reported(tmp_path: Path) -> None:
    assert ToolPreferences.load(tmp_path) == ToolPreferences()
    prefs = ToolPreferences(str(tmp_path), ApprovalMode.NONE, 4)
    prefs.save(tmp_path)
    assert ToolPreferences.load(tmp_path) == prefs
    (tmp_path / "tools.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ToolError, match="cannot read the tool preferences"):
        ToolPreferences.load(tmp_path)


def test_the_qt_free_parts_import_without_qt() -> None:
    code = (
        "import sys\n"
        "import gptoss_desktop.ui.tools.wiring, gptoss_desktop.ui.tools.trace_export\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('PySide6'))\n"
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=60)
