"""Real tools for ``gptoss-desktop chat``: ``--tools python,browser,FUNCTIONS.json --docs DIR
--mcp CONFIG.json --approve ask|all|none``.

The same tools the app's chats use: the python sandbox (scratch folder ``scratch/cli`` in the
app's data folder; where this machine cannot confine it, it stays off and says so), the offline
browser over DIR, and function tools from a FUNCTIONS.json (a function without a built-in
``binding`` is answered by the user on the terminal). ``--approve ask`` shows each call and
reads y / a / n; prompts go to stderr so ``--json`` output stays clean. ``--mcp`` gives the
model the tools of the MCP servers in an ``mcpServers`` JSON file (as Claude Desktop, LM
Studio, Jan or Cursor write it): a stdio server's command line is shown and must be allowed
once first (remembered in the app's settings; ``--approve all`` allows it for this run).
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from gptoss_desktop.cli import terminal
from gptoss_desktop.core.chat.tools import ChatToolConfig, ChatTools, ToolPreferences
from gptoss_desktop.core.errors import HarmonyError, SandboxUnavailable, ToolError
from gptoss_desktop.core.tools.approval import ApprovalMode, terminal_asker
from gptoss_desktop.core.tools.functions import load_function_specs
from gptoss_desktop.core.tools.results import ToolCall, ToolResult
from gptoss_desktop.core.tools.toolbox import ToolBox

if TYPE_CHECKING:
    from gptoss_desktop.core.paths import AppPaths
    from gptoss_desktop.core.tools.mcp import ChatMcpChoice, McpHub, McpServerConfig

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
    spec: str | None, docs: str | None, approve: str, max_calls: int, mcp: str | None = None
) -> tuple[ChatTools, ToolBox]:
    """The tools named in ``--tools`` (comma-separated) and the servers of ``--mcp``,
    assembled as the chat window does (core/chat/tools.py), and the box of this run's tools.
    Closing the ChatTools stops the MCP servers (``tools.mcp_hub.close()``)."""
    from gptoss_desktop.core.paths import AppPaths

    names = [n.strip() for n in (spec or "").split(",") if n.strip()]
    files = [n for n in names if n not in BUILT_INS]
    if "browser" in names and not docs:
        raise HarmonyError("--tools browser needs --docs DIR, the folder of documents to search")
    paths = AppPaths.from_env().ensure()
    asker = terminal_asker(input_fn=_ask_line, print_fn=_say)
    hub, choice = _mcp(paths, mcp, approve) if mcp else (None, None)
    tools = ChatTools(paths, CLI_CHAT, ask=asker, human=human_answer, mcp_hub=hub)
    functions, bindings = [], {}
    for name in files:
        specs, given = load_function_specs(Path(name))
        functions += specs
        bindings.update(given)
    config = ChatToolConfig("python" in names, "browser" in names, tuple(functions), bindings)
    if choice is not None:
        config = replace(config, mcp=choice)
    if config.python:
        try:
            tools.check_python()
        except SandboxUnavailable as exc:
            _say(f"[the python tool is off: {exc.message}]")
    prefs = ToolPreferences(docs, ApprovalMode(approve), max_calls)
    box, problems = tools.toolbox(config, prefs, on_result=_say_notice)
    for problem in problems:
        if not problem.startswith("The python tool is off"):  # said above already
            _say(f"[{problem}]")
    return tools, box


def _say_notice(call: ToolCall, result: ToolResult) -> None:
    """An MCP server that failed, or a result that was cut, gets a line on the terminal."""
    notice = result.data.get("notice")
    if notice:
        _say(f"[{notice}]")


def confirm_on_terminal(server: McpServerConfig) -> bool:
    """Show a stdio server's exact command line and ask whether it may start."""
    _say(f"\nMCP server {server.name!r} wants to start this command on your computer:\n"
         f"  {server.command_line}")  # fmt: skip
    try:
        answer = _ask_line("Allow it (remembered for this command line)? [y/N]: ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def _mcp(paths: AppPaths, config: str, approve: str) -> tuple[McpHub, ChatMcpChoice]:
    from gptoss_desktop.core.tools.mcp import (
        ChatMcpChoice,
        McpHub,
        McpSettings,
        TrustedCommands,
        load_servers_file,
    )

    servers = load_servers_file(Path(config))
    confirm = {"ask": confirm_on_terminal, "all": lambda server: True}.get(approve)
    # --approve all allows the servers for this run only; an answer on the terminal is kept
    trust = TrustedCommands(None if approve == "all" else paths.config_dir)
    hub = McpHub(McpSettings(tuple(servers)), trust=trust, confirm_start=confirm)
    return hub, ChatMcpChoice(tuple(s.name for s in servers if s.enabled))
