"""The real python sandbox and offline browser, wired into a chat turn and shown in the panel.

The trained Harmony test model only calls get_weather, so the model's side of these turns is
scripted (tests/core/harmony/scripted.py: written-out Harmony replies through the engine
API); everything else is real: ChatSession, the wiring, the approval card, the sandbox
process, the document index, the panel.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from gptoss_desktop.core.chat.tools import ToolPreferences
from gptoss_desktop.core.engine import SamplingOptions
from gptoss_desktop.core.harmony import CancelToken, ChatSession, SystemContent
from gptoss_desktop.core.harmony.vocab import ByteVocabulary
from gptoss_desktop.core.paths import AppPaths
from gptoss_desktop.core.store.records import ChatSettings
from gptoss_desktop.core.tools.approval import ApprovalMode
from gptoss_desktop.ui.tools.controller import ToolPanelController
from gptoss_desktop.ui.tools.raw import spans_text
from gptoss_desktop.ui.tools.trace import (
    MESSAGE,
    NOTICE,
    TOOL_CALL,
    TOOL_RESULT,
    USER,
)
from tests.core.harmony.scripted import ScriptedEngine
from tests.core.tools.conftest import require_sandbox_support


@dataclass
class Row:
    conversation_id: int


def call(recipient: str, body: str, json_args: bool = False) -> str:
    constrain = " <|constrain|>json" if json_args else ""
    return (
        f"<|channel|>analysis<|message|>Use {recipient}.<|end|>"
        f"<|start|>assistant to={recipient}<|channel|>commentary{constrain}<|message|>{body}<|call|>"
    )


def final(text: str) -> str:
    return f"<|channel|>final<|message|>{text}<|return|>"


class Harness:
    """The window's tool controller (panel, prompt bridge, wiring) without the window."""

    def __init__(self, qtbot: Any, home: Path, prefs: ToolPreferences) -> None:
        self.qtbot = qtbot
        self.controller = ToolPanelController(AppPaths.under(home))
        self.controller.chat_key = lambda: "1"
        self.prefs = prefs
        self.bridge, self.wiring = self.controller.prompts, self.controller.wiring
        self.panel = self.controller.panel
        qtbot.addWidget(self.panel)
        self.panel.resize(520, 700)
        self.panel.show()

    @property
    def prefs(self) -> ToolPreferences:
        return self.controller.preferences

    @prefs.setter
    def prefs(self, value: ToolPreferences) -> None:
        self.controller.preferences = value

    def start(self, replies: list[str], settings: ChatSettings, text: str, chat: int = 1) -> Any:
        self.engine = ScriptedEngine(replies)
        engine, options = self.wiring.session_options(
            self.engine, [Row(chat)], settings,
            {"system": SystemContent(conversation_start_date="2025-06-28"), "developer": None,
             "vocab": ByteVocabulary(), "sampling": SamplingOptions(temperature=0.0)},
        )  # fmt: skip
        session = ChatSession(engine, **options)
        outcome: dict[str, Any] = {}

        def run() -> None:
            try:
                outcome["result"] = self.wiring.send(session, text, lambda e: None, CancelToken())
            except BaseException as exc:
                outcome["error"] = exc

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        self.thread, self.outcome = thread, outcome
        return outcome

    def finish(self, timeout: float = 30.0) -> Any:
        self.qtbot.waitUntil(lambda: not self.thread.is_alive(), timeout=int(timeout * 1000))
        self.panel.refresh()
        if "error" in self.outcome:
            raise self.outcome["error"]
        return self.outcome["result"]

    def click(self, button: Any) -> None:
        self.qtbot.waitUntil(lambda: self.panel.card.isVisible(), timeout=20_000)
        self.qtbot.mouseClick(button, Qt.MouseButton.LeftButton)

    def entries(self, kind: str) -> list[Any]:
        return [e for e in self.panel.trace.entries if e.kind == kind]


@pytest.fixture
def harness(qtbot, tmp_path: Path) -> Iterator[Harness]:
    h = Harness(qtbot, tmp_path / "home", ToolPreferences())
    yield h
    h.bridge.cancel()
    h.wiring.close()


PYTHON_ON = ChatSettings(enabled_tools=("python",))


def test_python_runs_in_the_sandbox_keeps_state_and_resets(harness: Harness) -> None:
    require_sandbox_support()
    harness.start(
        [call("python", "x = 6 * 7\nprint(x)"), call("python", "print(x + 1)"), final("42, 43.")],
        PYTHON_ON,
        "Compute.",
    )
    assert "## python" in _wait_prompt(harness)  # the built-in goes into the system message
    harness.click(harness.panel.card.always)  # the first call asks ...
    result = harness.finish()  # ... the second does not: always allowed for this chat
    assert result.final == "42, 43."
    calls, outputs = harness.entries(TOOL_CALL), harness.entries(TOOL_RESULT)
    assert [c.approval for c in calls] == ["always allow chosen", "always allowed"]
    assert [o.text for o in outputs] == ["42", "43"]  # state kept between calls
    assert all(o.untrusted and o.source == "python" and not o.is_error for o in outputs)
    assert all(o.duration_s is not None for o in outputs)

    harness.panel.reset_button.click()  # the controller resets this chat's python
    harness.start([call("python", "print(x)"), final("gone")], PYTHON_ON, "Again.")
    result = harness.finish()  # no card: still always allowed in this chat
    output = harness.entries(TOOL_RESULT)[0]
    assert output.is_error and "NameError" in output.text


def test_the_chat_python_tool_is_confined(harness: Harness, monkeypatch) -> None:
    require_sandbox_support()
    monkeypatch.setenv("GPTOSS_TEST_SECRET", "hunter2")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.5)
    port = server.getsockname()[1]
    code = (
        "import os, socket\n"
        "print('secret:', os.environ.get('GPTOSS_TEST_SECRET'))\n"
        f"socket.create_connection(('127.0.0.1', {port}), timeout=2)"
    )
    harness.prefs = ToolPreferences(approval=ApprovalMode.ALL)
    harness.start([call("python", code), final("done")], PYTHON_ON, "Try.")
    harness.finish()
    output = harness.entries(TOOL_RESULT)[0]
    assert "secret: None" in output.text
    assert output.is_error and ("PermissionError" in output.text or "OSError" in output.text)
    with pytest.raises(TimeoutError):
        server.accept()  # nothing ever connected
    server.close()


def test_browser_search_open_find_and_citations_as_links(harness: Harness, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "garden.md").write_text(
        "# Garden notes\nTomatoes like rich soil with compost.\nWater them in the morning.\n"
        "Basil grows well beside tomatoes.\n",
        encoding="utf-8",
    )
    (docs / "bread.txt").write_text("Bread recipe\nFlour, water, salt, yeast.\n", encoding="utf-8")
    harness.prefs = ToolPreferences(str(docs), ApprovalMode.ALL)
    harness.start(
        [
            call("browser.search", '{"query": "tomato soil"}', json_args=True),
            call("browser.open", '{"id": 0}', json_args=True),
            call("browser.find", '{"pattern": "basil"}', json_args=True),
            final("Rich soil with compost 【1†L1-L2】; basil goes beside them 【2†L0】."),
        ],
        ChatSettings(enabled_tools=("browser",)),
        "How do I grow tomatoes?",
    )
    result = harness.finish()
    assert "## browser" in harness.engine.prompt_text(0)
    search, opened, found = (e.text for e in harness.entries(TOOL_RESULT))
    assert search.startswith("[0] tomato soil") and "【0†Garden notes†garden.md】" in search
    assert opened.startswith("[1] Garden notes (garden.md)")
    assert "L1: Tomatoes like rich soil with compost." in opened  # line numbers to cite
    assert "【0†match at L3】" in found and "Basil grows well" in found
    assert all(e.untrusted and e.source == "browser" for e in harness.entries(TOOL_RESULT))
    answer = [e for e in harness.panel.trace.entries if e.channel == "final"][-1]
    assert answer.text == result.final
    labels = [label for label, _url in answer.links]
    urls = [url for _label, url in answer.links]
    assert labels == ["garden.md L2-L3", "garden.md L4"]
    assert urls[0] == (docs / "garden.md").resolve().as_uri() + "#L2-L3"
    row = harness.panel.trace_view.rows[harness.panel.trace.entries.index(answer)]
    assert not row.links.isHidden() and f'href="{urls[0]}"' in row.links.text()
    linked = harness.controller.linked_answer(answer.text)  # for the chat view
    assert linked is not None and linked.markdown.startswith(
        f"Rich soil with compost ([garden.md L2-L3]({urls[0]}))"
    )


def test_browser_without_a_folder_stays_off_and_says_so(harness: Harness) -> None:
    harness.prefs = ToolPreferences(None, ApprovalMode.ALL)
    harness.start([final("I cannot browse.")], ChatSettings(enabled_tools=("browser",)), "Hi")
    harness.finish()
    assert "## browser" not in harness.engine.prompt_text(0)  # not offered to the model
    notices = harness.entries(NOTICE)
    assert len(notices) == 1 and "browser tool is off" in notices[0].text
    assert "documents folder" in notices[0].text


def test_a_turn_without_tools_is_traced_shown_raw_and_exported(
    harness: Harness, tmp_path: Path
) -> None:
    harness.start([final("Hello!")], ChatSettings(), "Say <|end|> hello.")
    result = harness.finish()
    assert result.final == "Hello!"
    trace = harness.panel.trace
    assert [e.kind for e in trace.entries] == [USER, MESSAGE]
    assert "# Tools" not in harness.engine.prompt_text(0)
    prompt, completion = trace.generations[0].prompt, trace.generations[0].completion
    assert spans_text(prompt) == harness.engine.prompt_text(0)  # exactly what the model got
    assert (prompt[0].text, prompt[0].special) == ("<|start|>", True)
    user_text = next(s for s in prompt if "hello" in s.text)
    assert not user_text.special and user_text.text.startswith("Say <|end|> hello.")
    assert spans_text(completion) == "<|channel|>final<|message|>Hello!<|return|>"
    assert [s.text for s in completion if s.special] == [
        "<|channel|>", "<|message|>", "<|return|>",
    ]  # fmt: skip

    harness.panel.show_raw()
    harness.panel.refresh()
    assert "Generation 1" in harness.panel.raw_view.toPlainText()
    data = json.loads(harness.panel.export_to(tmp_path / "t.json").read_text(encoding="utf-8"))
    assert [e["kind"] for e in data["entries"]] == [USER, MESSAGE]
    assert data["entries"][1]["text"] == "Hello!" and data["stop_reason"] == "final"
    assert data["generations"][0]["completion"] == spans_text(completion)
    text = harness.panel.export_to(tmp_path / "t.txt").read_text(encoding="utf-8")
    assert "[assistant · final]" in text and "--- generation 1:" in text
    assert harness.panel.copy_trace() == text


def _wait_prompt(harness: Harness) -> str:
    harness.qtbot.waitUntil(lambda: bool(harness.engine.requests), timeout=10_000)
    return harness.engine.prompt_text(0)
