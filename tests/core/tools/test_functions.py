"""Function tools: built-in implementations, human answers, schema checks, FUNCTIONS.json."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gptoss_desktop.core.errors import ToolError
from gptoss_desktop.core.tools.calculator import calculate, format_number
from gptoss_desktop.core.tools.functions import (
    BUILTINS,
    FunctionContext,
    FunctionSpec,
    FunctionTools,
    load_function_specs,
)
from gptoss_desktop.core.tools.results import ToolCall
from gptoss_desktop.core.tools.schema import check_schema, validate
from gptoss_desktop.core.tools.scratch import read_scratch_file, scratch_dir


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("2 * (3 + 4) ** 2", "98"),
        ("7 // 2 + 7 % 2", "4"),
        ("-3 ** 2", "-9"),
        ("sqrt(16) + log10(1000)", "7"),
        ("factorial(20)", "2432902008176640000"),
        ("max(1, 5, 3) - min(4, 2)", "3"),
        ("1 / 3", "0.333333333333333"),
        ("round(pi, 4)", "3.1416"),
        ("2 ** 100", str(2**100)),
    ],
)
def test_calculator_computes(expression: str, expected: str) -> None:
    assert format_number(calculate(expression)) == expected


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("__import__('os').system('id')", "Call is not allowed"),
        ("__import__('os')", "unknown function '__import__'"),
        ("(1).__class__", "Attribute is not allowed"),
        ("[x for x in range(9)]", "ListComp is not allowed"),
        ("lambda: 1", "Lambda is not allowed"),
        ("open('x')", "unknown function 'open'"),
        ("a + 1", "unknown name 'a'"),
        ("9 ** 9 ** 9", "too large"),
        ("10 ** 5000", "too large"),
        ("factorial(100000)", "limited"),
        ("1 / 0", "division by zero"),
        ("2 ^ 8", "use **"),
        ("sqrt(-1)", "math domain error"),
        ("'text'", "must give a number"),
        ("1 +", "not valid"),
        ("1+" * 300 + "1", "longer than"),
    ],
)
def test_calculator_refuses(expression: str, problem: str) -> None:
    with pytest.raises(ToolError, match=problem.replace("(", r"\(").replace("*", r"\*")):
        calculate(expression)


def test_builtins_answer_through_the_handler(tmp_path: Path) -> None:
    clock = lambda: datetime(2025, 6, 28, 12, 30, tzinfo=UTC)  # noqa: E731
    (tmp_path / "data.txt").write_text("hello from scratch")
    tools = FunctionTools.with_builtins(context=FunctionContext(scratch=tmp_path, clock=clock))
    assert [s.name for s in tools.specs] == ["get_current_time", "calculate", "read_file"]
    time_result = tools.handle("functions.get_current_time", '{"timezone": "Asia/Tokyo"}')
    assert json.loads(time_result.text) == {
        "timezone": "Asia/Tokyo",
        "local_time": "2025-06-28T21:30:00+09:00",
        "utc_time": "2025-06-28T12:30:00+00:00",
        "weekday": "Saturday",
    }
    assert not time_result.untrusted
    calc = tools.handle("calculate", {"expression": "0.5 * 8"})
    assert json.loads(calc.text) == {"result": 4}
    read = tools.handle("functions.read_file", {"path": "/mnt/data/data.txt"})
    assert read.text == "hello from scratch" and read.untrusted and not read.is_error


def test_errors_go_back_to_the_model(tmp_path: Path) -> None:
    tools = FunctionTools.with_builtins(context=FunctionContext(scratch=tmp_path))
    assert "There is no function 'nope'" in tools.handle("functions.nope", {}).text
    bad_json = tools.handle("calculate", '{"expression": ')
    assert bad_json.is_error and "not valid JSON" in bad_json.text
    missing = tools.handle("calculate", {})
    assert missing.text == "Invalid arguments: arguments: missing required 'expression'"
    wrong_type = tools.handle("calculate", {"expression": 5})
    assert "expected string" in wrong_type.text
    zone = tools.handle("get_current_time", {"timezone": "../../etc/passwd"})
    assert zone.is_error and "unknown time zone" in zone.text
    assert "division by zero" in tools.handle("calculate", {"expression": "1/0"}).text


def test_human_in_the_loop() -> None:
    asked: list[ToolCall] = []

    def human(call: ToolCall) -> str:
        asked.append(call)
        return "It is sunny, 24 C."

    spec = FunctionSpec(
        "get_weather",
        "Weather",
        {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    )
    tools = FunctionTools([spec], human=human)
    result = tools.handle("functions.get_weather", '{"city": "Lyon"}')
    assert result.text == "It is sunny, 24 C." and not result.is_error
    assert asked == [ToolCall("functions.get_weather", {"city": "Lyon"})]
    tools.bind("get_weather", "calculator")
    assert tools.binding("get_weather") == "calculator"
    with pytest.raises(ToolError, match="unknown binding"):
        tools.bind("get_weather", "shell")
    assert FunctionTools([spec]).handle("get_weather", {"city": "x"}).is_error


def test_read_file_refuses_escapes(tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    (scratch / "sub").mkdir(parents=True)
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    (scratch / "link.txt").symlink_to(secret)
    (scratch / "dirlink").symlink_to(tmp_path)
    os.link(secret, scratch / "hard.txt")
    os.mkfifo(scratch / "fifo")
    (scratch / "sub" / "ok.txt").write_text("fine")
    (scratch / "big.txt").write_text("x" * 100)
    assert read_scratch_file(scratch, "sub/ok.txt") == (b"fine", False)
    assert read_scratch_file(scratch, "big.txt", max_bytes=10) == (b"x" * 10, True)
    for path, problem in [
        ("link.txt", "symlinks are not followed"),
        ("dirlink/secret.txt", "symlinks are not followed"),
        ("hard.txt", "hard-linked"),
        ("fifo", "not a regular file"),
        ("../secret.txt", "inside the scratch folder"),
        (str(secret), "not an absolute one"),
        ("sub", "not a regular file"),
        ("missing.txt", "No such file"),
    ]:
        with pytest.raises(ToolError, match=problem):
            read_scratch_file(scratch, path)


def test_scratch_dir_names(tmp_path: Path) -> None:
    from gptoss_desktop.core.paths import AppPaths

    paths = AppPaths.under(tmp_path)
    assert scratch_dir(paths, "chat-42") == paths.data_dir / "scratch" / "chat-42"
    for bad in ("../x", "a/b", "", ".."):
        with pytest.raises(ToolError):
            scratch_dir(paths, bad)


def test_schema_checks() -> None:
    good = BUILTINS["read_file"].spec.parameters
    assert check_schema(good) == []
    assert check_schema({"type": "thing", "required": ["x"], "bogus": 1}) == [
        "parameters: unsupported keys bogus",
        "parameters.type: 'thing' is not one of object, string, number, integer, boolean, array, null",
        "parameters.required: 'x' is not a property",
    ]
    schema = {
        "type": "object",
        "properties": {
            "n": {"type": "integer", "minimum": 1},
            "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
        },
        "additionalProperties": False,
    }
    assert validate({"n": 2, "tags": ["a"]}, schema) == []
    assert validate({"n": 0, "tags": ["c"], "x": 1}, schema) == [
        "arguments.n: must be >= 1",
        "arguments.tags[0]: must be one of ['a', 'b']",
        "arguments: unexpected 'x'",
    ]
    assert validate({"n": True}, schema) == ["arguments.n: expected integer, got bool"]


def test_load_functions_file(tmp_path: Path) -> None:
    path = tmp_path / "functions.json"
    path.write_text(
        json.dumps(
            [
                {
                    "name": "a",
                    "description": "A",
                    "parameters": {"type": "object", "properties": {}},
                },
                {"type": "function", "function": {"name": "b"}, "binding": "ignored-here"},
                {"name": "clock", "binding": "current_time"},
            ]
        )
    )
    specs, bindings = load_function_specs(path)
    assert [s.name for s in specs] == ["a", "b", "clock"]
    assert bindings == {"clock": "current_time"}
    path.write_text('[{"name": "bad name"}]')
    with pytest.raises(ToolError, match="letters, digits"):
        load_function_specs(path)
    path.write_text("{")
    with pytest.raises(ToolError, match="not valid JSON"):
        load_function_specs(path)
