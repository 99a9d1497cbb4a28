"""The real tools inside the Harmony chat loop (scripted model replies, real sandbox/browser).

The model's turns are scripted; everything else is real: the ChatSession renders and parses
Harmony, the ToolBox routes calls through the approval policy, python runs in the sandbox,
the browser searches a folder, and each result is rendered back into the next prompt.
"""

from __future__ import annotations

from pathlib import Path

from gptoss_desktop.core.harmony.model import DeveloperContent, SystemContent
from gptoss_desktop.core.harmony.session import ChatSession
from gptoss_desktop.core.tools.approval import Approval, ApprovalPolicy, ApprovalRequest, Decision
from gptoss_desktop.core.tools.browser import BrowserSession, DocumentIndex
from gptoss_desktop.core.tools.functions import FunctionTools
from gptoss_desktop.core.tools.python_tool import PythonTool
from gptoss_desktop.core.tools.results import ToolCall, ToolResult
from gptoss_desktop.core.tools.toolbox import ToolBox
from tests.core.harmony.scripted import ScriptedEngine
from tests.core.tools.conftest import TEST_LIMITS, require_sandbox_support

PYTHON_CALL = (
    "<|channel|>analysis<|message|>Compute it.<|end|>"
    "<|start|>assistant<|channel|>analysis to=python code<|message|>"
    "import math\nprint(math.factorial(12))<|call|>"
)
BROWSER_CALL = (
    '<|channel|>analysis to=browser.search code<|message|>{"query": "quince harvest"}<|call|>'
)
FUNCTION_CALL = (
    "<|start|>assistant to=functions.calculate<|channel|>commentary <|constrain|>json"
    '<|message|>{"expression": "479001600 / 2"}<|call|>'
)
FINAL = "<|channel|>final<|message|>12! is 479001600; quinces 【1†L0】.<|return|>"


def test_tools_run_inside_the_chat_loop(tmp_path: Path) -> None:
    require_sandbox_support()
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "orchard.md").write_text("Harvest quinces in October.\n")
    index = DocumentIndex(docs, tmp_path / "index.sqlite3")
    index.refresh()
    asked: list[ApprovalRequest] = []
    answers = iter(
        [Approval(Decision.ALLOW_ONCE), Approval(Decision.ALWAYS_ALLOW), Approval(Decision.DENY)]
    )

    def ask(request: ApprovalRequest) -> Approval:
        asked.append(request)
        return next(answers)

    results: list[tuple[ToolCall, ToolResult]] = []
    policy = ApprovalPolicy(ask=ask)
    box = ToolBox(
        python=PythonTool(tmp_path / "scratch", TEST_LIMITS),
        browser=BrowserSession(index),
        functions=FunctionTools.with_builtins("calculator"),
        policy=policy,
        on_result=lambda call, result: results.append((call, result)),
    )
    developer = box.developer_namespace()
    assert developer is not None
    engine = ScriptedEngine([PYTHON_CALL, BROWSER_CALL, FUNCTION_CALL, FINAL])
    chat = ChatSession(
        engine,
        vocab=engine.vocab,
        system=SystemContent().with_tools(*box.system_namespaces().values()),
        developer=DeveloperContent(tools={"functions": developer}),
        tools=box.harmony_handlers(),
        approve=policy.hook(),
    )
    try:
        policy.begin_turn()
        turn = chat.send("What is 12! and when are quinces harvested?")
    finally:
        box.close()
    assert turn.final.startswith("12! is 479001600")
    assert [r.call.recipient for r in asked] == ["python", "browser.search", "functions.calculate"]
    # The sandbox's real output and the browser's real page went back to the model ...
    second_prompt = engine.prompt_text(1)
    assert "<|start|>python to=assistant<|channel|>" in second_prompt
    assert "<|message|>479001600<|end|>" in second_prompt
    third_prompt = engine.prompt_text(2)
    assert "【0†orchard†orchard.md】" in third_prompt
    # ... and the denied function call was answered with the denial, not run.
    fourth_prompt = engine.prompt_text(3)
    assert "denied" in fourth_prompt.split("functions.calculate", 2)[-1]
    assert [c.recipient for c, _ in results] == ["python", "browser.search"]
    assert all(r.untrusted for _, r in results)
    assert "## browser" in engine.prompt_text(0) and "## python" in engine.prompt_text(0)
