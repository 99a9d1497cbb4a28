"""MCP (Model Context Protocol) tool servers as function tools of a chat.

Qt-free; the ``mcp`` SDK is imported only when a server starts.

- :mod:`.config`: servers (stdio command or loopback HTTP URL), the app's ``mcp.json``, and
  imports of the ``mcpServers`` JSON of Claude Desktop, LM Studio, Jan and Cursor.
- :mod:`.convert`: MCP tools to Harmony function specs; MCP results to text.
- :mod:`.runtime`: one event loop thread, one session per server, a synchronous facade.
- :mod:`.hub`: which chats use which servers, first-start confirmation, a chat's tools.
"""

from gptoss_desktop.core.tools.mcp.config import (
    McpConfigError,
    McpServerConfig,
    McpSettings,
    TrustedCommands,
    load_servers_file,
    parse_servers,
    parse_servers_text,
)
from gptoss_desktop.core.tools.mcp.convert import ExposedTool, McpTool, expose, render_result
from gptoss_desktop.core.tools.mcp.hub import ChatMcpChoice, McpHub, McpTools
from gptoss_desktop.core.tools.mcp.runtime import McpRuntime, McpServerError, McpTimeout

__all__ = [
    "ChatMcpChoice",
    "ExposedTool",
    "McpConfigError",
    "McpHub",
    "McpRuntime",
    "McpServerConfig",
    "McpServerError",
    "McpSettings",
    "McpTimeout",
    "McpTool",
    "McpTools",
    "TrustedCommands",
    "expose",
    "load_servers_file",
    "parse_servers",
    "parse_servers_text",
    "render_result",
]
