"""Real tools for ``gptoss-desktop chat``: ``--tools python,browser,FUNCTIONS.json --docs DIR
--approve ask|all|none``.

The same tools the app's chats use: the python sandbox (scratch folder ``scratch/cli`` in the
app's data folder; where this machine cannot confine it, it stays off and says so), the offline
browser over DIR, and function tools from a FUNCTIONS.json (a function without a built-in
``binding`` is answered by the user on the terminal). ``--approve ask`` shows each call and
reads y / a / n; prompts go to stderr so ``--json`` output stays clean.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gptoss_desktop.cli import terminal
from gptoss_desktop.core.errors import HarmonyError, SandboxUnavailable, ToolError
from gptoss_desktop.core.tools.approval import ApprovalPolicy, terminal_asker
from gptoss_desktop.core.tools.results import ToolCall
from gptoss_desktop.core.tools.toolbox import ToolBox

if TYPE_CHECKING:
    from gptoss_desktop.core.paths import AppPaths
    from gptoss_desktop.core.tools.browser import BrowserSession
    from gptoss_desktop.core.tools.functions import FunctionTools
    from gptoss_desktop.core.tools.python_tool import PythonTool

BUILT_INS = ("python", "browser")


@dataclass
class ChatTools:
    box: ToolBox
    policy: ApprovalPolicy


def _ask_line(prompt: str) -> str:
    terminal.write(sys.stderr, prompt)
    sys.stderr.flush()
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line.rstrip("\n")


def _say(text: str) -> None:
    """A line for the user; the text may quote the model's call arguments: escaped on a tty."""
    print(terminal.for_terminal(sys.stderr, text), file=sys.stderr, flush=True)


def human_answer(call: ToolCall) -> str:
    """The result of a function the user answers on the terminal."""
    _say(f"\n{call.recipient} was called with:\n{call.arguments_text()}")
    try:
        return _ask_line("Its result (one line, sent to the model as written): ")
    except EOFError:
        raise ToolError("nobody answered on the terminal") from None


def chat_tools(spec: str, docs: str | None, approve: str, max_calls: int) -> ChatTools:
    """The tools named in ``--tools`` (comma-separated), ready for a ChatSession."""
    from gptoss_desktop.core.paths import AppPaths

    names = [n.strip() for n in spec.split(",") if n.strip()]
    files = [n for n in names if n not in BUILT_INS]
    if "browser" in names and not docs:
        raise HarmonyError("--tools browser needs --docs DIR, the folder of documents to search")
    paths = AppPaths.from_env().ensure()
    box = ToolBox(
        python=_python(paths) if "python" in names else None,
        browser=_browser(paths, Path(docs)) if "browser" in names and docs else None,
        functions=_functions(files, paths) if files else None,
    )
    asker = terminal_asker(input_fn=_ask_line, print_fn=_say) if approve == "ask" else None
    policy = ApprovalPolicy(approve, ask=asker, max_calls_per_turn=max_calls)
    box.policy = policy
    return ChatTools(box, policy)


def _python(paths: AppPaths) -> PythonTool | None:
    from gptoss_desktop.core.tools.python_tool import PythonTool
    from gptoss_desktop.core.tools.scratch import scratch_dir

    try:
        return PythonTool(scratch_dir(paths, "cli"), check=True)
    except SandboxUnavailable as exc:
        _say(f"[the python tool is off: {exc.message}]")
        return None


def _browser(paths: AppPaths, docs: Path) -> BrowserSession:
    from gptoss_desktop.core.tools.browser import BrowserSession, DocumentIndex, default_index_path

    index = DocumentIndex(docs, default_index_path(paths, docs))
    index.refresh()
    return BrowserSession(index)


def _functions(files: list[str], paths: AppPaths) -> FunctionTools:
    from gptoss_desktop.core.tools.functions import (
        FunctionContext,
        FunctionTools,
        load_function_specs,
    )
    from gptoss_desktop.core.tools.scratch import scratch_dir

    scratch = scratch_dir(paths, "cli")
    scratch.mkdir(parents=True, exist_ok=True, mode=0o700)
    tools = FunctionTools(human=human_answer, context=FunctionContext(scratch=scratch))
    for name in files:
        specs, bindings = load_function_specs(Path(name))
        for spec in specs:
            tools.add(spec, bindings.get(spec.name, "human"))
    return tools
