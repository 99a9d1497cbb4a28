"""End to end: the trained Harmony test model's get_weather call answered by an MCP server.

tiny-harmony.gguf, asked "What is the weather in Tokyo?" with a get_weather function in the
developer message, calls functions.get_weather {"location": "Tokyo"}; after the result
{"temperature": 17, "condition": "cloudy"} it answers "It is 17°C and cloudy in Tokyo.", and
after an error result it calls again. Here get_weather is a tool of a real MCP server (the
SDK-written test server over stdio) reached through McpHub, the ToolBox and the approval
policy, with the real inference worker.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gptoss_desktop.core.engine import EngineClient, LoadOptions, SamplingOptions
from gptoss_desktop.core.harmony import ChatSession, DeveloperContent, SystemContent
from gptoss_desktop.core.tools.approval import Approval, ApprovalPolicy, ApprovalRequest, Decision
from gptoss_desktop.core.tools.mcp import ChatMcpChoice, McpHub, McpSettings
from gptoss_desktop.core.tools.results import ToolCall, ToolResult
from gptoss_desktop.core.tools.toolbox import ToolBox
from tests.core.tools.mcp.conftest import stdio_config
from tests.helpers import project_model

pytest.importorskip("llama_cpp", reason="needs llama-cpp-python for the worker")

CLOUDY = '{"temperature": 17, "condition": "cloudy"}'


@pytest.fixture(scope="module")
def client() -> Iterator[EngineClient]:
    c = EngineClient.start(
        project_model("tiny-harmony.gguf"), LoadOptions(n_ctx=4096, n_threads=1, seed=1)
    )
    yield c
    c.close()


class Turn:
    """One chat with the MCP weather server, and what happened in it."""

    def __init__(self, tmp_path: Path, answers: list[Approval], **env: str) -> None:
        self.log = tmp_path / "calls.jsonl"
        server = stdio_config("weather", env={"GPTOSS_TEST_MCP_LOG": str(self.log), **env})
        self.hub = McpHub(McpSettings((server,)), confirm_start=lambda config: True)
        self.asked: list[ApprovalRequest] = []
        self.results: list[tuple[ToolCall, ToolResult]] = []
        pending = iter(answers)

        def ask(request: ApprovalRequest) -> Approval:
            self.asked.append(request)
            return next(pending)

        self.policy = ApprovalPolicy(ask=ask)
        mcp = self.hub.toolset("chat-1", ChatMcpChoice(("weather",)))
        assert mcp.problems == []
        self.box = ToolBox(
            mcp=mcp, policy=self.policy, on_result=lambda c, r: self.results.append((c, r))
        )

    def send(self, client: EngineClient, text: str, **kw: Any) -> Any:
        developer = self.box.developer_namespace()
        assert developer is not None
        chat = ChatSession(
            client,
            sampling=SamplingOptions(temperature=0.0),
            max_tokens=200,
            system=SystemContent(conversation_start_date="2025-06-28"),
            developer=DeveloperContent(tools={"functions": developer}),
            tools=self.box.harmony_handlers(),
            approve=self.policy.hook(),
            **kw,
        )
        self.policy.begin_turn()
        return chat.send(text)

    def server_calls(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def close(self) -> None:
        self.hub.close()


@pytest.fixture
def turn(tmp_path: Path) -> Iterator[Callable[..., Turn]]:
    made: list[Turn] = []

    def make(answers: list[Approval], **env: str) -> Turn:
        made.append(Turn(tmp_path, answers, **env))
        return made[-1]

    yield make
    for t in made:
        t.close()


def test_the_trained_call_is_answered_by_the_mcp_tool(client: EngineClient, turn: Any) -> None:
    t = turn([Approval(Decision.ALLOW_ONCE)])
    assert next(s.name for s in t.box.function_specs()) == "get_weather"
    result = t.send(client, "What is the weather in Tokyo?")
    assert [r.call.recipient for r in t.asked] == ["functions.get_weather"]
    assert t.asked[0].arguments_text == '{\n  "location": "Tokyo"\n}'
    assert t.server_calls() == [{"location": "Tokyo"}]
    ((_call, answer),) = t.results
    assert (answer.author, answer.text, answer.untrusted) == ("functions.get_weather", CLOUDY, True)
    assert answer.data["server"] == "weather" and not answer.is_error
    assert result.final == "It is 17°C and cloudy in Tokyo."
    assert result.stop_reason == "final"


def test_deny_never_reaches_the_server(client: EngineClient, turn: Any) -> None:
    t = turn([Approval(Decision.DENY)])
    result = t.send(client, "What is the weather in Tokyo?")
    assert len(t.asked) == 1
    assert t.server_calls() == []  # the MCP tool never ran
    assert t.results == []
    told = [m for m in result.messages if m.role.value == "tool"]
    assert len(told) == 1 and "The user denied this tool call" in str(told[0].content[0].text)
    assert result.stop_reason == "final" and "17" not in result.final


def test_edited_arguments_are_what_the_server_gets(client: EngineClient, turn: Any) -> None:
    t = turn([Approval(Decision.ALLOW_ONCE, arguments={"location": "Paris"})])
    result = t.send(client, "What is the weather in Tokyo?")
    assert t.server_calls() == [{"location": "Paris"}]
    assert t.results[0][1].text == '{"temperature": 21, "condition": "sunny"}'
    assert result.final is not None and "21°C and sunny" in result.final


def test_a_crashed_server_gives_an_error_result_then_restarts(
    client: EngineClient, turn: Any, tmp_path: Path
) -> None:
    t = turn(
        [Approval(Decision.ALWAYS_ALLOW)], GPTOSS_TEST_MCP_CRASH_ONCE=str(tmp_path / "crashed")
    )
    broken = t.send(client, "What is the weather in Tokyo?", max_tool_calls=1)
    ((_, first),) = t.results
    assert first.is_error and "stopped during the call" in first.text
    assert "stopped during the call" in first.data["notice"]  # the line the user sees
    told = [m for m in broken.messages if m.role.value == "tool"]
    assert json.loads(told[0].content[0].text) == {"error": f"get_weather failed: {first.text}"}
    # the next call starts the server again and it answers
    result = t.send(client, "What is the weather in Tokyo?")
    assert (t.results[-1][1].is_error, t.results[-1][1].text) == (False, CLOUDY)
    assert t.server_calls() == [{"location": "Tokyo"}, {"location": "Tokyo"}]
    assert result.final == "It is 17°C and cloudy in Tokyo."
