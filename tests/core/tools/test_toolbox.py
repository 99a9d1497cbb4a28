"""The tools of one chat routed together, with approval, and in the Harmony session's form."""

from __future__ import annotations

from pathlib import Path

from gptoss_desktop.core.harmony import toolcall as harmony
from gptoss_desktop.core.tools.approval import Approval, ApprovalPolicy, ApprovalRequest, Decision
from gptoss_desktop.core.tools.browser import BrowserSession, DocumentIndex
from gptoss_desktop.core.tools.functions import FunctionTools
from gptoss_desktop.core.tools.results import ToolCall, ToolResult
from gptoss_desktop.core.tools.toolbox import ToolBox


def _browser(tmp_path: Path) -> BrowserSession:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# Apples\nApples are red or green.\n")
    index = DocumentIndex(docs, tmp_path / "index.sqlite3")
    index.refresh()
    return BrowserSession(index)


def test_routes_by_recipient_with_approval(tmp_path: Path) -> None:
    seen: list[tuple[ToolCall, ToolResult]] = []
    answers = iter([Approval(Decision.ALLOW_ONCE), Approval(Decision.DENY)])

    def ask(request: ApprovalRequest) -> Approval:
        return next(answers)

    box = ToolBox(
        browser=_browser(tmp_path),
        functions=FunctionTools.with_builtins("calculator"),
        policy=ApprovalPolicy(ask=ask, max_calls_per_turn=2),
        on_result=lambda call, result: seen.append((call, result)),
    )
    assert list(box.system_namespaces()) == ["browser"]
    developer = box.developer_namespace()
    assert developer is not None and [t.name for t in developer.tools] == ["calculate"]
    found = box.run(ToolCall("browser.search", {"query": "apples"}))
    assert "【0†Apples†a.md】" in found.text and found.untrusted
    denied = box.run(ToolCall("functions.calculate", {"expression": "1+1"}))
    assert denied.denied and denied.is_error and "denied" in denied.text
    missing = box.run(ToolCall("python", "print(1)"))
    assert missing.is_error and "no tool 'python'" in missing.text
    limited = box.run(ToolCall("browser.search", {"query": "apples"}))
    assert limited.denied and "limit of 2" in limited.text
    assert [c.recipient for c, _ in seen] == [
        "browser.search",
        "functions.calculate",
        "python",
        "browser.search",
    ]


def test_harmony_handlers(tmp_path: Path) -> None:
    box = ToolBox(browser=_browser(tmp_path), functions=FunctionTools.with_builtins("calculator"))
    handlers = box.harmony_handlers()
    assert sorted(handlers) == ["browser.find", "browser.open", "browser.search", "calculate"]
    outcome = harmony.run_tool_call(
        harmony.ToolCall("functions.calculate", '{"expression": "6*7"}', "<|constrain|>json"),
        handlers,
    )
    assert outcome.output == '{"result": 42}' and not outcome.is_error
    outcome = harmony.run_tool_call(
        harmony.ToolCall("browser.search", '{"query": "green"}', "<|constrain|>json"), handlers
    )
    assert "[0] green" in outcome.output
