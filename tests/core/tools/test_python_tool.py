"""The python tool handler: what the model gets back."""

from __future__ import annotations

from pathlib import Path

from gptoss_desktop.core.tools.python_tool import PythonTool, code_from, output_text
from gptoss_desktop.core.tools.sandbox.process import ExecutionResult
from tests.core.tools.conftest import TEST_LIMITS, require_sandbox_support


def test_output_text_joins_streams_and_error() -> None:
    assert output_text(ExecutionResult("4\n", "", None)) == "4"
    assert output_text(ExecutionResult("a\n", "warn\n", "Traceback...\nValueError: x")) == (
        "a\nwarn\nTraceback...\nValueError: x"
    )
    assert output_text(ExecutionResult("", "", None)) == "(no output)"


def test_code_from_raw_text_or_json() -> None:
    assert code_from("print(1)") == "print(1)"
    assert code_from({"code": "x = 1"}) == "x = 1"
    assert code_from({"code": 5}) == ""


def test_handle_runs_code_and_keeps_state(tmp_path: Path) -> None:
    require_sandbox_support()
    tool = PythonTool(tmp_path, TEST_LIMITS, check=True)
    try:
        first = tool.handle("python", "values = [3, 4]\nprint(sum(values))")
        assert first.text == "7" and first.untrusted and not first.is_error
        assert first.tool_name == "python" and first.data["stdout"] == "7\n"
        second = tool.handle("python", {"code": "values[5]"})
        assert second.is_error and "IndexError" in second.text
        assert tool.handle("python", "   ").is_error
        tool.reset()
        assert "NameError" in tool.handle("python", "values").text
    finally:
        tool.close()
