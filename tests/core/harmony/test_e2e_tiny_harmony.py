"""End to end on the project's trained Harmony test model, through the real worker.

tiny-harmony.gguf was trained on synthetic Harmony conversations (tests/data/modelgen): it
thinks on the analysis channel, answers on final, calls get_weather with <|constrain|>json and
<|call|>, answers from the tool result, and calls again after an error result. Greedy decoding.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from gptoss_desktop.core.engine import EngineClient, LoadOptions, SamplingOptions
from gptoss_desktop.core.harmony import (
    ChatSession,
    DeveloperContent,
    SystemContent,
    ToolDescription,
)
from tests.helpers import ROOT, project_model

pytest.importorskip("llama_cpp", reason="needs llama-cpp-python for the worker")

MODEL = "tiny-harmony.gguf"
GET_WEATHER = ToolDescription(
    "get_weather",
    "Gets the current weather in the provided location.",
    {
        "type": "object",
        "properties": {"location": {"type": "string", "description": "The city name, e.g. Tokyo"}},
        "required": ["location"],
    },
)
GREEDY = SamplingOptions(temperature=0.0)
SYSTEM = SystemContent(conversation_start_date="2025-06-28")


@pytest.fixture(scope="module")
def client() -> Iterator[EngineClient]:
    c = EngineClient.start(project_model(MODEL), LoadOptions(n_ctx=4096, n_threads=1, seed=1))
    yield c
    c.close()


def session(client: EngineClient, **kw: Any) -> ChatSession:
    kw.setdefault("system", SYSTEM)
    return ChatSession(client, sampling=GREEDY, max_tokens=200, **kw)


def test_analysis_and_final_come_apart(client: EngineClient) -> None:
    result = session(client).send("What is the capital of France?")
    assert result.stop_reason == "final"
    assert result.final == "The capital of France is Paris."
    assert result.reasoning.startswith("The user asks for the capital of France.")
    assert [(m.role.value, m.channel) for m in result.messages] == [
        ("user", None),
        ("assistant", "analysis"),
        ("assistant", "final"),
    ]
    assert result.malformed == []


@pytest.mark.parametrize(
    ("effort", "expected"),
    [
        ("low", "The user asks for the capital of Japan."),
        ("medium", "The user asks for the capital of Japan. The capital of Japan is Tokyo."),
        (
            "high",
            "The user asks for the capital of Japan. Japan is a country. Its capital city is "
            "Tokyo. I will answer in one sentence.",
        ),
    ],
)
def test_reasoning_effort_is_honoured(client: EngineClient, effort: str, expected: str) -> None:
    result = session(client, system=SYSTEM.with_reasoning(effort)).send(
        "What is the capital of Japan?"
    )
    assert result.reasoning == expected
    assert result.final == "The capital of Japan is Tokyo."


def test_function_call_runs_the_handler_and_the_answer_uses_its_result(
    client: EngineClient,
) -> None:
    calls: list[Any] = []

    def get_weather(name: str, arguments: Any) -> str:
        calls.append((name, arguments))
        return json.dumps({"temperature": 17, "condition": "cloudy"})

    s = session(
        client,
        developer=DeveloperContent.create(None, [GET_WEATHER]),
        tools={"get_weather": get_weather},
    )
    result = s.send("What is the weather in Tokyo?")
    assert calls == [("get_weather", {"location": "Tokyo"})]
    call = result.ends[1]
    assert call.stop_token == "<|call|>"
    assert (call.message.recipient, call.message.channel, call.message.content_type) == (
        "functions.get_weather",
        "commentary",
        "<|constrain|>json",
    )
    assert result.final == "It is 17°C and cloudy in Tokyo."
    assert result.stop_reason == "final"
    # the continuation after the tool result evaluated only the result and <|start|>assistant
    second = result.generations[1]
    assert second.metrics.prompt_evaluated < 40 < second.prompt_tokens

    # next turn: the finished call and its result stay in history, the analysis goes
    nxt = s.send("Say hello to Bob.")
    assert nxt.final == "Hello, Bob!"
    history_text = _text(s)
    assert '{"location": "Tokyo"}<|call|>' in history_text
    assert '{"temperature": 17, "condition": "cloudy"}<|end|>' in history_text
    assert "I will call get_weather." not in history_text
    assert "It is 17°C and cloudy in Tokyo.<|end|>" in history_text


def _text(s: ChatSession) -> str:
    return b"".join(s.vocab.token_bytes(t) for t in s.prompt_tokens()).decode()


def test_runaway_tool_loop_is_stopped(client: EngineClient) -> None:
    calls: list[Any] = []

    def failing(name: str, arguments: Any) -> str:
        calls.append(arguments)
        return json.dumps({"error": "service unavailable"})

    s = session(
        client,
        developer=DeveloperContent.create(None, [GET_WEATHER]),
        tools={"get_weather": failing},
        max_tool_calls=3,
    )
    result = s.send("What is the weather in Oslo?")
    assert calls == [{"location": "Oslo"}] * 3
    assert result.stop_reason == "tool_call_limit"
    assert result.final is None


def test_multi_turn_reuses_the_kv_cache(client: EngineClient) -> None:
    s = session(client)
    questions = [
        "What is the capital of France?",
        "Say hello to Alice.",
        "What is the capital of Peru?",
        "Say hello to Bob.",
    ]
    finals = []
    evaluated = []
    for q in questions:
        r = s.send(q)
        finals.append(r.final)
        evaluated.append(r.prompt_evaluated)
        g = r.generations[0]
        assert g.metrics.prompt_evaluated == g.prompt_tokens - g.cached_tokens
    assert finals == [
        "The capital of France is Paris.",
        "Hello, Alice!",
        "The capital of Peru is Lima.",
        "Hello, Bob!",
    ]
    prompt_len = len(s.prompt_tokens())
    # later turns evaluate a few dozen tokens, not the growing history
    assert max(evaluated[1:]) < 60 < prompt_len


def run_cli(*args: str) -> dict[str, Any]:
    env = dict(os.environ)
    proc = subprocess.run(
        [sys.executable, "-m", "gptoss_desktop", "chat", "--model", str(project_model(MODEL)),
         "--temperature", "0", "--date", "2025-06-28", "--threads", "1", "--ctx", "4096", "--json", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_cli_chat_json_returns_analysis_and_final_separately() -> None:
    out = run_cli("--message", "What is the capital of France?")
    assert out["final"] == "The capital of France is Paris."
    assert out["reasoning"].startswith("The user asks for the capital of France.")
    assert [(m["role"], m["channel"]) for m in out["messages"]] == [
        ("user", None),
        ("assistant", "analysis"),
        ("assistant", "final"),
    ]
    assert out["messages"][2]["content"] == out["final"]
    assert out["metrics"]["prompt_evaluated"] > 0 and out["metrics"]["ttft_s"] > 0


def test_cli_chat_with_a_function_and_a_canned_result() -> None:
    spec = json.dumps(
        {
            "name": GET_WEATHER.name,
            "description": GET_WEATHER.description,
            "parameters": GET_WEATHER.parameters,
        }
    )
    out = run_cli(
        "--message", "What is the weather in Paris?",
        "--function", spec,
        "--tool-result", 'get_weather={"temperature": 21, "condition": "sunny"}',
    )  # fmt: skip
    assert out["tool_calls"] == [
        {
            "recipient": "functions.get_weather",
            "arguments": '{"location": "Paris"}',
            "output": '{"temperature": 21, "condition": "sunny"}',
            "is_error": False,
        }
    ]
    assert out["final"] == "It is 21°C and sunny in Paris."
    tool_msgs = [m for m in out["messages"] if m["role"] == "tool"]
    assert tool_msgs == [
        {
            "role": "tool",
            "name": "functions.get_weather",
            "channel": "commentary",
            "recipient": "assistant",
            "content_type": None,
            "content": '{"temperature": 21, "condition": "sunny"}',
        }
    ]
