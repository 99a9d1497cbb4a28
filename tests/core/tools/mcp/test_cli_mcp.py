"""The command line: ``gptoss-desktop mcp list CONFIG.json`` and ``chat --mcp CONFIG.json``
with the trained Harmony test model, the same hub and approval as the app."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.core.tools.mcp.conftest import SERVER_APP
from tests.helpers import ROOT, project_model


def config_file(tmp_path: Path, **extra: Any) -> Path:
    """An mcpServers file as Claude Desktop writes it, with the test server and mcp-server-time."""
    servers = {
        "weather": {"command": sys.executable, "args": [str(SERVER_APP)]},
        "time": {
            "command": sys.executable,
            "args": ["-m", "mcp_server_time", "--local-timezone", "Europe/Paris"],
        },
        **extra,
    }
    path = tmp_path / "claude_desktop_config.json"
    path.write_text(json.dumps({"mcpServers": servers}), encoding="utf-8")
    return path


def cli(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, GPTOSS_HOME=str(tmp_path / "home"))
    return subprocess.run(
        [sys.executable, "-m", "gptoss_desktop", *args],
        cwd=ROOT, env=env, input=stdin, capture_output=True, text=True, timeout=180,
    )  # fmt: skip


def test_mcp_list_asks_once_per_command_line_then_remembers(tmp_path: Path) -> None:
    pytest.importorskip("mcp_server_time")
    config = config_file(tmp_path)
    first = cli(tmp_path, "mcp", "list", str(config), stdin="y\nn\n")
    assert first.returncode == 1, first.stderr  # one server was refused
    assert f"  {sys.executable} {SERVER_APP}" in first.stderr  # the exact command line, shown
    assert "weather (stdio):" in first.stdout and "functions.get_weather(location)" in first.stdout
    assert (
        "time (stdio):" in first.stdout
        and "not started: MCP server 'time' was not started: you did not allow" in first.stdout
    )
    # the next run asks only about the refused one
    second = cli(tmp_path, "mcp", "list", str(config), "--json", stdin="y\n")
    assert second.returncode == 0, second.stderr
    assert second.stderr.count("wants to start this command") == 1
    report = json.loads(second.stdout)
    tools = {s["name"]: [t["name"] for t in s["tools"]] for s in report["servers"]}
    assert tools["time"] == ["get_current_time", "convert_time"]
    assert tools["weather"][:2] == ["get_weather", "plan_trip"]
    weather = report["servers"][0]["tools"][0]
    assert weather["parameters"]["properties"]["location"] == {
        "type": "string", "description": "The city name, e.g. Tokyo"}  # fmt: skip


def test_mcp_list_on_a_bad_file_is_one_clear_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"mcpServers": {"x": {"type": "sse", "url": "http://127.0.0.1:1/sse"}}}')
    proc = cli(tmp_path, "mcp", "list", str(bad))
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: MCP server 'x': the old SSE transport is not supported")
    assert "Traceback" not in proc.stderr


def chat(
    tmp_path: Path, *args: str, stdin: str = "", turns: int = 1
) -> subprocess.CompletedProcess[str]:
    pytest.importorskip("llama_cpp", reason="needs llama-cpp-python for the worker")
    messages = ["--message", "What is the weather in Tokyo?"] * turns
    return cli(
        tmp_path, "chat", "--model", str(project_model("tiny-harmony.gguf")),
        "--temperature", "0", "--date", "2025-06-28", "--threads", "1", "--ctx", "4096",
        "--max-tokens", "200", "--json", *messages, *args, stdin=stdin,
    )  # fmt: skip


def test_chat_with_mcp_asks_to_start_then_to_call(tmp_path: Path) -> None:
    config = tmp_path / "weather.json"
    config.write_text(json.dumps({"mcpServers": {
        "weather": {"command": sys.executable, "args": [str(SERVER_APP)]}}}))  # fmt: skip
    proc = chat(tmp_path, "--mcp", str(config), "--approve", "ask", stdin="y\ny\n")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["final"] == "It is 17°C and cloudy in Tokyo."
    assert out["tool_calls"] == [{
        "recipient": "functions.get_weather", "arguments": '{"location": "Tokyo"}',
        "output": '{"temperature": 17, "condition": "cloudy"}', "is_error": False,
    }]  # fmt: skip
    assert "wants to start this command" in proc.stderr
    assert "Tool call 1/8: functions.get_weather" in proc.stderr


def test_chat_with_mcp_approve_all_and_a_crashing_server(tmp_path: Path) -> None:
    config = tmp_path / "weather.json"
    config.write_text(json.dumps({"mcpServers": {"weather": {
        "command": sys.executable, "args": [str(SERVER_APP)],
        "env": {"GPTOSS_TEST_MCP_CRASH_ONCE": str(tmp_path / "crashed")}}}}))  # fmt: skip
    proc = chat(tmp_path, "--mcp", str(config), "--approve", "all", turns=2)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    first, second = out["tool_calls"][0], out["tool_calls"][-1]
    # the model is told what happened, the user gets a line, nothing hangs
    assert first["is_error"]
    assert json.loads(first["output"]) == {
        "error": "get_weather failed: MCP server 'weather' stopped during the call (Connection "
        "closed); it will start again on the next call"
    }
    assert "[MCP server 'weather' stopped during the call" in proc.stderr
    # the next call started the server again and it answered
    assert second == {
        "recipient": "functions.get_weather", "arguments": '{"location": "Tokyo"}',
        "output": '{"temperature": 17, "condition": "cloudy"}', "is_error": False,
    }  # fmt: skip
    assert out["final"] == "It is 17°C and cloudy in Tokyo."
    assert "wants to start" not in proc.stderr  # --approve all: no question
