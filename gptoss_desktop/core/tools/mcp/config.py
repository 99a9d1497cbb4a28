"""MCP servers the user configured: the global list, its file, and imports from other apps.

Qt-free. A server is a :class:`McpServerConfig`: a ``stdio`` server is a command with
arguments, environment and working folder; an ``http`` server is a streamable-HTTP URL on
loopback (another host only when the server says ``"allowRemote": true``). The app keeps its
list in ``mcp.json`` in the config folder, written in the same ``mcpServers`` form that Claude
Desktop, LM Studio, Jan and Cursor use, so a file from any of them can be imported as is (the
VS Code form ``{"servers": {...}}`` too). The first start of a stdio server asks the user
once; the answer is remembered per exact command line (:class:`TrustedCommands`).
"""

from __future__ import annotations

import ipaddress
import json
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import urlsplit

from gptoss_desktop.core.errors import ToolError

CONFIG_FILE = "mcp.json"
STDIO: Final = "stdio"
HTTP: Final = "http"
DEFAULT_TIMEOUT_S = 60.0
DEFAULT_OUTPUT_CAP = 32 * 1024  # characters of a result sent to the model
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
_HTTP_TYPES = {"http", "streamable-http", "streamableHttp", "streamable_http"}
_STDIO_TYPES = {"stdio", None}


class McpConfigError(ToolError):
    """An MCP configuration could not be read or is not valid; the message says what to fix."""


@dataclass(frozen=True)
class McpServerConfig:
    """One MCP server. ``name`` is the key in ``mcpServers``."""

    name: str
    transport: Literal["stdio", "http"] = STDIO
    command: str = ""
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str | None = None
    url: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    enabled: bool = True
    allow_remote: bool = False
    timeout_s: float = DEFAULT_TIMEOUT_S
    output_cap: int = DEFAULT_OUTPUT_CAP
    prefix: str | None = None  # put before each tool name; None: only where names clash

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise McpConfigError(f"MCP server {self.name!r}: {'; '.join(problems)}")

    def problems(self) -> list[str]:
        found: list[str] = []
        if not _NAME.match(self.name):
            found.append("a server name uses letters, digits, '_', '-' or '.' (at most 64)")
        if self.transport == STDIO:
            if not self.command.strip():
                found.append('a stdio server needs a "command"')
        elif self.transport == HTTP:
            found += _url_problems(self.url, self.allow_remote)
        else:
            found.append(f"unknown transport {self.transport!r}; use stdio or http")
        if not 0 < self.timeout_s <= 3600:
            found.append("timeout must be between 0 and 3600 seconds")
        if not 256 <= self.output_cap <= 4 * 1024 * 1024:
            found.append("the output cap must be between 256 and 4194304 characters")
        return found

    @property
    def command_line(self) -> str:
        """The exact command the app runs, as the user is shown it before the first start
        (environment variables set by the config come first, as in a shell)."""
        if self.transport != STDIO:
            return self.url
        words = [f"{k}={v}" for k, v in sorted(self.env.items())]
        words += [self.command, *self.args]
        line = shlex.join(words)
        return f"(cd {shlex.quote(self.cwd)} && {line})" if self.cwd else line

    @property
    def is_local(self) -> bool:
        """True when starting it touches no network: stdio, or HTTP on loopback."""
        return self.transport == STDIO or _is_loopback(urlsplit(self.url).hostname or "")

    def to_json(self) -> dict[str, Any]:
        """The ``mcpServers`` entry (fields at their defaults are left out)."""
        out: dict[str, Any] = {}
        if self.transport == STDIO:
            out["command"] = self.command
            if self.args:
                out["args"] = list(self.args)
            if self.env:
                out["env"] = dict(self.env)
            if self.cwd:
                out["cwd"] = self.cwd
        else:
            out["type"] = "http"
            out["url"] = self.url
            if self.headers:
                out["headers"] = dict(self.headers)
            if self.allow_remote:
                out["allowRemote"] = True
        if not self.enabled:
            out["disabled"] = True
        if self.timeout_s != DEFAULT_TIMEOUT_S:
            out["timeout"] = self.timeout_s
        if self.output_cap != DEFAULT_OUTPUT_CAP:
            out["outputCap"] = self.output_cap
        if self.prefix is not None:
            out["prefix"] = self.prefix
        return out


def _is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _url_problems(url: str, allow_remote: bool) -> list[str]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return [f'an http server needs a "url" like http://127.0.0.1:8000/mcp, not {url!r}']
    if not allow_remote and not _is_loopback(parts.hostname):
        return [
            f"{parts.hostname} is not this computer; the app only connects to servers on "
            'loopback unless the server entry says "allowRemote": true'
        ]
    return []


def _strings(value: Any, what: str, name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str | int | float) for v in value):
        raise McpConfigError(f"MCP server {name!r}: {what} must be a list of strings")
    return tuple(str(v) for v in value)


def _string_map(value: Any, what: str, name: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise McpConfigError(f"MCP server {name!r}: {what} must be an object of strings")
    return {str(k): str(v) for k, v in value.items()}


def server_from_json(name: str, entry: Any) -> McpServerConfig:
    """One ``mcpServers`` entry, in any of the common dialects."""
    if not isinstance(entry, Mapping):
        raise McpConfigError(f"MCP server {name!r}: its entry must be a JSON object")
    kind = entry.get("type", entry.get("transport"))
    url = entry.get("url") or entry.get("serverUrl")
    enabled = not entry.get("disabled", False) and entry.get("active", True) is not False
    common: dict[str, Any] = {
        "enabled": bool(enabled),
        "timeout_s": _number(entry.get("timeout", DEFAULT_TIMEOUT_S), name, "timeout"),
        "output_cap": int(_number(entry.get("outputCap", DEFAULT_OUTPUT_CAP), name, "outputCap")),
        "prefix": entry.get("prefix") if isinstance(entry.get("prefix"), str) else None,
    }
    if kind == "sse":
        raise McpConfigError(
            f"MCP server {name!r}: the old SSE transport is not supported; use the server's "
            "streamable HTTP endpoint (usually the same address ending in /mcp)"
        )
    if kind in _HTTP_TYPES or (kind is None and url and "command" not in entry):
        if not isinstance(url, str):
            raise McpConfigError(f'MCP server {name!r}: an http server needs a "url"')
        return McpServerConfig(
            name, HTTP, url=url, headers=_string_map(entry.get("headers"), "headers", name),
            allow_remote=bool(entry.get("allowRemote", False)), **common,
        )  # fmt: skip
    if kind not in _STDIO_TYPES:
        raise McpConfigError(f"MCP server {name!r}: unknown type {kind!r}; use stdio or http")
    command = entry.get("command")
    if not isinstance(command, str) or not command.strip():
        raise McpConfigError(f'MCP server {name!r}: a stdio server needs a "command"')
    cwd = entry.get("cwd")
    return McpServerConfig(
        name, STDIO, command=command, args=_strings(entry.get("args"), "args", name),
        env=_string_map(entry.get("env"), "env", name),
        cwd=str(cwd) if isinstance(cwd, str) and cwd else None, **common,
    )  # fmt: skip


def _number(value: Any, name: str, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise McpConfigError(f"MCP server {name!r}: {what} must be a number")
    # Cursor and others write milliseconds; nobody means a timeout of over an hour
    return float(value) / 1000 if what == "timeout" and value > 3600 else float(value)


def parse_servers(data: Any, source: str = "the configuration") -> list[McpServerConfig]:
    """Servers from parsed JSON: ``{"mcpServers": {...}}``, ``{"servers": {...}}`` (VS Code),
    or the bare ``{name: entry}`` object."""
    if isinstance(data, Mapping) and isinstance(data.get("mcpServers"), Mapping):
        table = data["mcpServers"]
    elif isinstance(data, Mapping) and isinstance(data.get("servers"), Mapping):
        table = data["servers"]
    elif (
        isinstance(data, Mapping)
        and data
        and all(isinstance(v, Mapping) and ("command" in v or "url" in v) for v in data.values())
    ):
        table = data
    else:
        raise McpConfigError(
            f'{source}: no MCP servers found; expected {{"mcpServers": {{"name": '
            '{"command": ..., "args": [...]}}}} as Claude Desktop, LM Studio, Jan and Cursor write it'
        )
    return [server_from_json(str(name), entry) for name, entry in table.items()]


def parse_servers_text(text: str, source: str = "the pasted text") -> list[McpServerConfig]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise McpConfigError(
            f"{source}: not valid JSON ({exc.msg}, line {exc.lineno}, column {exc.colno})"
        ) from None
    return parse_servers(data, source)


def load_servers_file(path: Path | str) -> list[McpServerConfig]:
    """Servers from an ``mcpServers`` JSON file written by this app or another."""
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise McpConfigError(
            f"{path}: cannot read the MCP configuration ({exc.strerror})"
        ) from None
    return parse_servers_text(text, str(path))


@dataclass(frozen=True)
class McpSettings:
    """The app's global MCP state: the servers, and the command lines the user allowed."""

    servers: tuple[McpServerConfig, ...] = ()
    trusted_commands: frozenset[str] = frozenset()

    def server(self, name: str) -> McpServerConfig | None:
        return next((s for s in self.servers if s.name == name), None)

    def with_servers(self, servers: Iterable[McpServerConfig]) -> McpSettings:
        """Added or replaced by name, others kept in order."""
        table = {s.name: s for s in self.servers}
        for server in servers:
            table[server.name] = server
        return replace(self, servers=tuple(table.values()))

    def without(self, name: str) -> McpSettings:
        return replace(self, servers=tuple(s for s in self.servers if s.name != name))

    def trusting(self, command_line: str, trusted: bool = True) -> McpSettings:
        chosen = set(self.trusted_commands)
        (chosen.add if trusted else chosen.discard)(command_line)
        return replace(self, trusted_commands=frozenset(chosen))

    def to_json(self) -> dict[str, Any]:
        return {
            "mcpServers": {s.name: s.to_json() for s in self.servers},
            "trustedCommands": sorted(self.trusted_commands),
        }

    @classmethod
    def load(cls, config_dir: Path) -> McpSettings:
        path = config_dir / CONFIG_FILE
        if not path.exists():
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise McpConfigError(
                f"{path}: cannot read the MCP servers ({exc}); fix or delete it"
            ) from None
        servers = parse_servers(data, str(path)) if data.get("mcpServers") else []
        trusted = data.get("trustedCommands") or []
        return cls(tuple(servers), frozenset(str(t) for t in trusted if isinstance(t, str)))

    def save(self, config_dir: Path) -> None:
        config_dir.mkdir(parents=True, exist_ok=True)
        tmp = config_dir / (CONFIG_FILE + ".tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=2), encoding="utf-8")
        tmp.replace(config_dir / CONFIG_FILE)


class TrustedCommands:
    """Which stdio command lines the user allowed to start, kept in the settings file."""

    def __init__(self, config_dir: Path | None) -> None:
        self.config_dir = config_dir
        self._memory: set[str] = set()

    def __contains__(self, command_line: object) -> bool:
        if command_line in self._memory:
            return True
        if self.config_dir is None:
            return False
        return command_line in McpSettings.load(self.config_dir).trusted_commands

    def remember(self, command_line: str) -> None:
        self._memory.add(command_line)
        if self.config_dir is not None:
            settings = McpSettings.load(self.config_dir)
            settings.trusting(command_line).save(self.config_dir)
