"""The chat command line with real tools (``--tools``, ``--docs``, ``--approve``), the same
wiring as the panel without the window: the trained Harmony test model through the worker,
a FUNCTIONS.json whose get_weather is answered on the terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import ROOT, project_model
from tests.ui.chat_app import harmony_demo_model
from tests.ui.test_tool_panel import GET_WEATHER

pytest.importorskip("llama_cpp", reason="needs llama-cpp-python for the worker")


def run_chat(
    tmp_path: Path, *args: str, stdin: str = "", model: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, GPTOSS_HOME=str(tmp_path / "home"))
    model = model or harmony_demo_model()
    return subprocess.run(
        [sys.executable, "-m", "gptoss_desktop", "chat", "--model", str(model),
         "--temperature", "0", "--date", "2025-06-28", "--threads", "1", "--ctx", "4096",
         "--max-tokens", "200", "--json", *args],
        cwd=ROOT, env=env, input=stdin, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def functions_file(tmp_path: Path) -> str:
    spec = {k: v for k, v in GET_WEATHER.items() if k != "binding"}
    path = tmp_path / "FUNCTIONS.json"
    path.write_text(json.dumps([spec]), encoding="utf-8")
    return str(path)


def report(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_ask_prompts_on_the_terminal_and_the_user_answers(tmp_path: Path) -> None:
    proc = run_chat(
        tmp_path, "--message", "What is the weather in Tokyo?",
        "--tools", functions_file(tmp_path), "--approve", "ask",
        stdin='y\n{"temperature": 17, "condition": "cloudy"}\n',
    )  # fmt: skip
    out = report(proc)
    assert out["final"] == "It is 17°C and cloudy in Tokyo."
    assert out["tool_calls"] == [
        {
            "recipient": "functions.get_weather",
            "arguments": '{"location": "Tokyo"}',
            "output": '{"temperature": 17, "condition": "cloudy"}',
            "is_error": False,
        }
    ]
    assert "Tool call 1/8: functions.get_weather" in proc.stderr
    assert "Run it? [y]es once" in proc.stderr and "Its result" in proc.stderr


def test_no_answer_on_the_terminal_denies(tmp_path: Path) -> None:
    proc = run_chat(
        tmp_path, "--message", "What is the weather in Tokyo?",
        "--tools", functions_file(tmp_path), "--approve", "ask", "--max-tool-calls", "1",
    )  # fmt: skip
    out = report(proc)
    first = out["tool_calls"][0]
    assert first["is_error"] and "no answer (end of input)" in json.loads(first["output"])["error"]
    assert "Run it?" in proc.stderr and "Its result" not in proc.stderr  # it never ran


def test_approve_none_runs_nothing(tmp_path: Path) -> None:
    proc = run_chat(
        tmp_path, "--message", "What is the weather in Tokyo?",
        "--tools", functions_file(tmp_path), "--approve", "none", "--max-tool-calls", "2",
    )  # fmt: skip
    out = report(proc)
    outputs = [json.loads(c["output"])["error"] for c in out["tool_calls"]]
    assert outputs[:2] == ["Tool calls are turned off for this chat; answer without tools."] * 2
    assert "Run it?" not in proc.stderr
    assert out["stop_reason"] == "tool_call_limit"


def test_browser_without_docs_is_a_usage_error(tmp_path: Path) -> None:
    model = project_model("tiny-gptoss-random.gguf")
    proc = run_chat(tmp_path, "--message", "Hi", "--tools", "browser", model=model)
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        "error: --tools browser needs --docs DIR, the folder of documents to search"
    )
