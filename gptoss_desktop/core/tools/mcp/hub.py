"""MCP servers for chats: which chat uses which server, and the tools one chat offers.

Qt-free. :class:`McpHub` holds the app's :class:`McpSettings` and one :class:`McpRuntime`.
A chat says which servers it uses (:meth:`McpHub.use`); a server runs while at least one
chat uses it and is stopped when none does. Nothing starts before a chat needs it, and only
enabled servers start: a stdio server's exact command line is shown to the user once
(``confirm_start``) and the answer is remembered per command line.

:meth:`McpHub.toolset` gives a chat's :class:`McpTools`: the function tools for the
developer message and the handler that answers ``functions.NAME`` calls for them. Results
are untrusted text; a server that fails gives the model an error result and the user a line
(``ToolResult.data["notice"]``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gptoss_desktop.core.errors import ToolError
from gptoss_desktop.core.tools.functions import NAMESPACE, FunctionSpec
from gptoss_desktop.core.tools.mcp.config import (
    STDIO,
    McpServerConfig,
    McpSettings,
    TrustedCommands,
)
from gptoss_desktop.core.tools.mcp.convert import ExposedTool, McpTool, expose
from gptoss_desktop.core.tools.mcp.runtime import McpRuntime, McpServerError
from gptoss_desktop.core.tools.results import Arguments, ToolResult, error_result, parse_arguments

SERVER_PREFIX = "mcp:"  # in ChatSettings.enabled_tools: "mcp:NAME" turns a server on
TOOL_OFF_PREFIX = "mcp-off:"  # "mcp-off:SERVER/TOOL" turns one tool of it off in that chat

ConfirmStart = Callable[[McpServerConfig], "bool | None"]  # None: no answer (turn stopped)


@dataclass(frozen=True)
class ChatMcpChoice:
    """One chat's MCP choice, kept in its ``enabled_tools``."""

    servers: tuple[str, ...] = ()
    tools_off: frozenset[tuple[str, str]] = frozenset()

    @classmethod
    def from_enabled(cls, enabled: Iterable[str]) -> ChatMcpChoice:
        servers: list[str] = []
        off: set[tuple[str, str]] = set()
        for item in enabled:
            if item.startswith(SERVER_PREFIX):
                servers.append(item[len(SERVER_PREFIX) :])
            elif item.startswith(TOOL_OFF_PREFIX) and "/" in item:
                server, tool = item[len(TOOL_OFF_PREFIX) :].split("/", 1)
                off.add((server, tool))
        return cls(tuple(servers), frozenset(off))

    def applied_to(self, enabled: Iterable[str]) -> tuple[str, ...]:
        """``enabled`` with this choice (entries that are not MCP kept)."""
        rest = [e for e in enabled if not e.startswith((SERVER_PREFIX, TOOL_OFF_PREFIX))]
        rest += [SERVER_PREFIX + s for s in self.servers]
        rest += [f"{TOOL_OFF_PREFIX}{s}/{t}" for s, t in sorted(self.tools_off)]
        return tuple(rest)

    def tool_on(self, server: str, tool: str) -> bool:
        return (server, tool) not in self.tools_off


@dataclass
class McpTools:
    """The MCP tools of one chat for one turn, and the handler that runs them."""

    runtime: McpRuntime
    exposed: list[ExposedTool]
    configs: Mapping[str, McpServerConfig]
    problems: list[str] = field(
        default_factory=list
    )  # servers that could not start, said to the user

    @property
    def specs(self) -> list[FunctionSpec]:
        return [e.spec for e in self.exposed]

    def find(self, name: str) -> ExposedTool | None:
        short = name.removeprefix(NAMESPACE + ".")
        return next((e for e in self.exposed if e.function == short), None)

    def handles(self, name: str) -> bool:
        return self.find(name) is not None

    def handle(self, name: str, arguments: Arguments) -> ToolResult:
        started = time.monotonic()
        exposed = self.find(name)
        recipient = f"{NAMESPACE}.{name.removeprefix(NAMESPACE + '.')}"
        if exposed is None:
            return error_result(recipient, f"There is no MCP tool {name!r} in this chat.")
        server, tool = exposed.tool.server, exposed.tool.name
        data: dict[str, Any] = {"binding": f"mcp:{server}", "server": server, "tool": tool}
        try:
            args = parse_arguments(arguments)
        except ToolError as exc:
            return error_result(recipient, exc.message)
        data["arguments"] = args
        try:
            rendered = self.runtime.call(self.configs[server], tool, args)
        except McpServerError as exc:
            notice = exc.message
            return ToolResult(
                recipient, notice, untrusted=False, is_error=True,
                elapsed_s=time.monotonic() - started, data={**data, "notice": notice, "details": exc.details},
            )  # fmt: skip
        data["parts"] = list(rendered.parts)
        if rendered.truncated:
            data["notice"] = (
                f"The result of {tool} was cut to {self.configs[server].output_cap} characters."
            )
        return ToolResult(
            recipient, rendered.text, untrusted=True, is_error=rendered.is_error,
            elapsed_s=time.monotonic() - started, data=data,
        )  # fmt: skip


class McpHub:
    """The app's MCP servers, started for the chats that use them."""

    def __init__(
        self,
        settings: McpSettings,
        *,
        trust: TrustedCommands | None = None,
        confirm_start: ConfirmStart | None = None,
        on_tools_changed: Callable[[str, list[McpTool]], None] | None = None,
    ) -> None:
        self.settings = settings
        self.trust = trust or TrustedCommands(None)
        self.confirm_start = confirm_start
        self.on_tools_changed = on_tools_changed
        self.runtime = McpRuntime(on_tools_changed=self._changed)
        self._users: dict[str, set[str]] = {}
        self._lock = threading.Lock()
        self._confirm_lock = threading.Lock()
        self._refused: set[str] = set()  # command lines refused in this run of the app
        self._known: dict[str, list[McpTool]] = {}  # the last tool list of each server

    def known_tools(self, name: str) -> list[McpTool] | None:
        """The tools ``name`` offered when it was last listed (None: never listed)."""
        known = self._known.get(name)
        return list(known) if known is not None else None

    def _changed(self, server: str, tools: list[McpTool]) -> None:
        self._known[server] = list(tools)
        if self.on_tools_changed is not None:
            self.on_tools_changed(server, tools)

    # --- configuration ------------------------------------------------------------------------
    def set_settings(self, settings: McpSettings) -> None:
        """New global settings; servers that are gone, disabled or changed are stopped."""
        old, self.settings = self.settings, settings
        with self._confirm_lock:
            self._refused.clear()  # the user looked at the servers again: ask again
        for server in old.servers:
            new = settings.server(server.name)
            if new is None or not new.enabled or new != server:
                self.runtime.stop(server.name, wait=False)

    # --- who uses what ------------------------------------------------------------------------
    def use(self, chat_key: str, servers: Iterable[str]) -> None:
        """The servers ``chat_key`` uses now; servers no chat uses any more are stopped."""
        with self._lock:
            self._users[chat_key] = set(servers)
            wanted = set().union(*self._users.values()) if self._users else set()
        for name in self.runtime.running():
            if name not in wanted:
                self.runtime.stop(name, wait=False)  # never makes the caller wait

    def release(self, chat_key: str) -> None:
        self.use(chat_key, ())
        with self._lock:
            self._users.pop(chat_key, None)

    # --- starting -----------------------------------------------------------------------------
    def allowed(self, config: McpServerConfig) -> bool:
        """Whether the user allowed this server's command line (asks once; remembered)."""
        if config.transport != STDIO:
            return True
        line = config.command_line
        with self._confirm_lock:
            if line in self.trust:
                return True
            if line in self._refused or self.confirm_start is None:
                return False
            answer = self.confirm_start(config)
            if answer:
                self.trust.remember(line)
                return True
            if answer is not None:  # "no" holds until the settings change; no answer does not
                self._refused.add(line)
            return False

    def tools_of(self, name: str) -> list[McpTool]:
        """A server's tools (starts it when enabled and allowed)."""
        config = self.settings.server(name)
        if config is None:
            raise McpServerError(
                name, f"there is no MCP server named {name!r}; add it in the tool settings"
            )
        if not config.enabled:
            raise McpServerError(name, f"MCP server {name!r} is turned off in the tool settings")
        if not self.allowed(config):
            raise McpServerError(
                name,
                f"MCP server {name!r} was not started: you did not allow its command "
                f"({config.command_line})",
            )
        tools = self.runtime.tools(config)
        self._known[name] = list(tools)
        return tools

    def toolset(
        self,
        chat_key: str,
        choice: ChatMcpChoice,
        *,
        taken: Iterable[str] = (),
        start: bool = True,
    ) -> McpTools:
        """The chat's MCP tools: starts what it needs, says which servers could not start.

        ``start=False`` starts nothing: only servers listed before give their last tools."""
        if start:
            self.use(chat_key, choice.servers)
        tools: list[McpTool] = []
        problems: list[str] = []
        configs: dict[str, McpServerConfig] = {}
        for name in choice.servers:
            config = self.settings.server(name)
            if not start:
                known = self._known.get(name)
                if config is None or not config.enabled or known is None:
                    continue
                configs[name] = config
                tools += [t for t in known if choice.tool_on(name, t.name)]
                continue
            try:
                listed = self.tools_of(name)
            except McpServerError as exc:
                problems.append(exc.message)
                continue
            configs[name] = self.settings.server(name)  # type: ignore[assignment]
            tools += [t for t in listed if choice.tool_on(name, t.name)]
        prefixes = {name: c.prefix for name, c in configs.items()}
        return McpTools(
            self.runtime, expose(tools, taken=taken, prefixes=prefixes), configs, problems
        )

    def close(self) -> None:
        self.runtime.close()
