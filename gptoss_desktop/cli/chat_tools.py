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
from pathlib import Path

from gptoss_desktop.cli import terminal
from gptoss_desktop.core.chat.tools import ChatToolConfig, ChatTools, ToolPreferences
from gptoss_desktop.core.errors import HarmonyError, SandboxUnavailable, ToolError
from gptoss_desktop.core.tools.approval import ApprovalMode, terminal_asker
from gptoss_desktop.core.tools.functions import load_function_specs
from gptoss_desktop.core.tools.results import ToolCall
from gptoss_desktop.core.tools.toolbox import ToolBox

BUILT_INS = ("python", "browser")
#: The command line's tools live in the chat "cli" (scratch folder ``scratch/cli``).
CLI_CHAT = "cli"


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


def chat_tools(
    spec: str, docs: str | None, approve: str, max_calls: int
) -> tuple[ChatTools, ToolBox]:
    """The tools named in ``--tools`` (comma-separated), assembled as the chat window does
    (core/chat/tools.py), and the box of this run's tools."""
    from gptoss_desktop.core.paths import AppPaths

    names = [n.strip() for n in spec.split(",") if n.strip()]
    files = [n for n in names if n not in BUILT_INS]
    if "browser" in names and not docs:
        raise HarmonyError("--tools browser needs --docs DIR, the folder of documents to search")
    paths = AppPaths.from_env().ensure()
    asker = terminal_asker(input_fn=_ask_line, print_fn=_say)
    tools = ChatTools(paths, CLI_CHAT, ask=asker, human=human_answer)
    functions, bindings = [], {}
    for name in files:
        specs, given = load_function_specs(Path(name))
        functions += specs
        bindings.update(given)
    config = ChatToolConfig("python" in names, "browser" in names, tuple(functions), bindings)
    if config.python:
        try:
            tools.check_python()
        except SandboxUnavailable as exc:
            _say(f"[the python tool is off: {exc.message}]")
    prefs = ToolPreferences(docs, ApprovalMode(approve), max_calls)
    box, problems = tools.toolbox(config, prefs)
    for problem in problems:
        if not problem.startswith("The python tool is off"):  # said above already
            _say(f"[{problem}]")
    return tools, box
