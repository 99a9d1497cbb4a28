"""``gptoss-desktop mcp list CONFIG.json``: the MCP servers of an ``mcpServers`` file and
their tools, as the model would see them.

Each enabled server is started, asked for its tools and stopped again. A stdio server's
exact command line is shown first and must be allowed (the answer is remembered in the
app's settings, as in the app); ``--yes`` allows every server of the file for this run.
``--json`` prints one JSON object.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from gptoss_desktop.cli.common import print_json


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("mcp", help="MCP tool servers: list servers and their tools")
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    ls = verbs.add_parser("list", help="start each server of an mcpServers file, show its tools")
    ls.add_argument("config", metavar="CONFIG.json", help="an mcpServers JSON file")
    ls.add_argument("--yes", action="store_true", help="allow every server to start (this run)")
    ls.add_argument("--json", action="store_true", help="one JSON object instead of text")
    ls.set_defaults(func=run_list)


def run_list(args: argparse.Namespace) -> int:
    from gptoss_desktop.cli.chat_tools import confirm_on_terminal
    from gptoss_desktop.core.paths import AppPaths
    from gptoss_desktop.core.tools.mcp import (
        McpHub,
        McpServerError,
        McpSettings,
        TrustedCommands,
        expose,
        load_servers_file,
    )

    servers = load_servers_file(Path(args.config))
    paths = AppPaths.from_env().ensure()
    trust = TrustedCommands(None if args.yes else paths.config_dir)
    confirm = (lambda server: True) if args.yes else confirm_on_terminal
    hub = McpHub(McpSettings(tuple(servers)), trust=trust, confirm_start=confirm)
    report: list[dict[str, Any]] = []
    failed = 0
    try:
        for server in servers:
            entry: dict[str, Any] = {
                "name": server.name,
                "transport": server.transport,
                "command": server.command_line,
                "enabled": server.enabled,
                "tools": [],
            }
            report.append(entry)
            if not server.enabled:
                entry["error"] = "turned off in the file"
                continue
            try:
                tools = hub.tools_of(server.name)
            except McpServerError as exc:
                entry["error"] = exc.message
                failed += 1
                continue
            info = hub.runtime.info(server.name)
            entry["server"] = f"{info.name} {info.version}".strip() if info else ""
            for exposed in expose(tools, prefixes={server.name: server.prefix}):
                entry["tools"].append({
                    "name": exposed.function,
                    "mcp_name": exposed.tool.name,
                    "description": exposed.spec.description,
                    "parameters": exposed.spec.parameters,
                })  # fmt: skip
            hub.runtime.stop(server.name)
    finally:
        hub.close()
    if args.json:
        print_json({"config": str(args.config), "servers": report})
    else:
        _print(report)
    return 1 if failed else 0


def _print(report: list[dict[str, Any]]) -> None:
    for entry in report:
        head = f"{entry['name']} ({entry['transport']}): {entry['command']}"
        print(head)
        if entry.get("error"):
            print(f"  not started: {entry['error']}")
            continue
        if entry.get("server"):
            print(f"  server: {entry['server']}")
        print(f"  {len(entry['tools'])} tool(s):")
        for tool in entry["tools"]:
            params = ", ".join((tool["parameters"] or {}).get("properties", {}))
            alias = f" (MCP name {tool['mcp_name']})" if tool["mcp_name"] != tool["name"] else ""
            print(f"    functions.{tool['name']}({params}){alias}")
            if tool["description"]:
                print(f"      {tool['description'].splitlines()[0][:100]}")
    sys.stdout.flush()
