"""Tool assembly: a function tool answered by the caller's handler (the MCP and API hook)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gptoss_desktop.core.chat.harmony_turns import session_options
from gptoss_desktop.core.chat.session import SessionSettings
from gptoss_desktop.core.chat.tools import (
    ChatToolConfig,
    ChatTools,
    ToolPreferences,
    add_to_session,
)
from gptoss_desktop.core.errors import ToolError
from gptoss_desktop.core.harmony.model import ToolDescription
from gptoss_desktop.core.paths import AppPaths
from gptoss_desktop.core.tools.approval import ApprovalMode
from gptoss_desktop.core.tools.functions import FunctionSpec
from gptoss_desktop.core.tools.results import ToolCall

SPEC = FunctionSpec(
    "lookup",
    "Look a word up.",
    {"type": "object", "properties": {"word": {"type": "string"}}, "required": ["word"]},
)


def make_tools(tmp_path: Path) -> ChatTools:
    def refuse(_request: object) -> object:
        raise AssertionError("nobody should be asked in mode all")

    return ChatTools(AppPaths.under(tmp_path), "t", ask=refuse, human=lambda call: "human")  # type: ignore[arg-type]


def test_a_handled_function_is_offered_and_answered_by_its_handler(tmp_path: Path) -> None:
    tools = make_tools(tmp_path)
    seen: list[dict[str, object]] = []

    def lookup(arguments: dict[str, object]) -> str:
        seen.append(arguments)
        if arguments["word"] == "boom":
            raise ToolError("the dictionary is closed")
        return f"{arguments['word']}: a word"

    tools.add_function(SPEC, lookup)
    box, problems = tools.toolbox(ChatToolConfig(), ToolPreferences(approval=ApprovalMode.ALL))
    assert problems == []
    ok = box.run(ToolCall("functions.lookup", {"word": "fjord"}))
    assert (ok.text, ok.is_error, ok.untrusted) == ("fjord: a word", False, True)
    failed = box.run(ToolCall("functions.lookup", {"word": "boom"}))
    assert failed.is_error and "the dictionary is closed" in failed.text
    invalid = box.run(ToolCall("functions.lookup", {}))
    assert invalid.is_error and "word" in invalid.text
    assert seen == [{"word": "fjord"}, {"word": "boom"}]  # invalid arguments never reach it

    # Into a session: after the functions declared in the settings, with its handler.
    declared = ToolDescription("declared", "Declared only.", None)
    options = session_options(SessionSettings(functions=(declared,)), [])
    options = add_to_session({**options, "tools": {"declared": lambda n, a: "canned"}}, box)
    names = [t.name for t in options["developer"].functions]
    assert names == ["declared", "lookup"]
    assert set(options["tools"]) == {"declared", "lookup"}
    assert options["tools"]["lookup"]("lookup", {"word": "sea"}) == "sea: a word"
    tools.close()


def test_an_invalid_handled_function_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ToolError, match="not valid"):
        make_tools(tmp_path).add_function(FunctionSpec("bad name!", "", None), lambda a: "")
