"""ChatSession logic against the documented engine API (scripted replies): tool loop,
errors back to the model, limits, approval, cancel, KV-prefix reuse, history rules."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gptoss_desktop.core.engine.options import SamplingOptions
from gptoss_desktop.core.errors import ContextOverflow
from gptoss_desktop.core.harmony.cancel import CancelToken
from gptoss_desktop.core.harmony.model import DeveloperContent, Role, SystemContent, ToolDescription
from gptoss_desktop.core.harmony.parse import ContentDelta, MessageEnd, MessageStart
from gptoss_desktop.core.harmony.session import (
    ChatSession,
    GenerationFinished,
    ToolCallFinished,
    ToolCallRequested,
)
from gptoss_desktop.core.harmony.toolcall import Denied, Edited
from tests.core.harmony.scripted import ScriptedEngine

WEATHER = ToolDescription(
    "get_weather",
    "Gets the current weather in the provided location.",
    {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]},
)
DEV = DeveloperContent.create(None, [WEATHER])
ANSWER = "<|channel|>analysis<|message|>Easy.<|end|><|start|>assistant<|channel|>final<|message|>Paris.<|return|>"
CALL = '<|channel|>analysis<|message|>Need the tool.<|end|><|start|>assistant to=functions.get_weather<|channel|>commentary <|constrain|>json<|message|>{"location": "Tokyo"}<|call|>'
AFTER_TOOL = "<|channel|>final<|message|>It is 17°C and cloudy in Tokyo.<|return|>"


def session(replies: list[Any], **kw: Any) -> tuple[ChatSession, ScriptedEngine]:
    engine = ScriptedEngine(replies)
    kw.setdefault("developer", DEV)
    return ChatSession(engine, vocab=engine.vocab, **kw), engine


def weather(calls: list[Any]):
    def handler(name: str, arguments: Any) -> str:
        calls.append((name, arguments))
        return json.dumps({"temperature": 17, "condition": "cloudy"})

    return handler


def test_plain_turn_separates_reasoning_and_final_and_streams_events() -> None:
    s, engine = session([ANSWER], developer=None)
    events: list[Any] = []
    result = s.send("What is the capital of France?", on_event=events.append)
    assert result.final == "Paris."
    assert result.reasoning == "Easy."
    assert result.stop_reason == "final"
    assert [m.role for m in result.messages] == [Role.USER, Role.ASSISTANT, Role.ASSISTANT]
    kinds = [type(e) for e in events]
    assert kinds[0] is MessageStart and kinds[-1] is GenerationFinished
    assert "".join(e.text for e in events if isinstance(e, ContentDelta)) == "Easy.Paris."
    req = engine.requests[0]
    assert req.stop_tokens == [200002, 200012]  # <|return|>, <|call|>; not <|end|>
    assert req.sampling == SamplingOptions(temperature=1.0, top_p=1.0, top_k=0, min_p=0.0)
    assert engine.prompt_text().endswith(
        "<|start|>user<|message|>What is the capital of France?<|end|><|start|>assistant"
    )
    assert engine.prompt_text().startswith("<|start|>system<|message|>You are ChatGPT")


def test_tool_loop_runs_handler_appends_result_and_continues_to_final() -> None:
    calls: list[Any] = []
    s, engine = session([CALL, AFTER_TOOL], tools={"get_weather": weather(calls)})
    events: list[Any] = []
    result = s.send("What is the weather in Tokyo?", on_event=events.append)
    assert calls == [("get_weather", {"location": "Tokyo"})]
    assert result.final == "It is 17°C and cloudy in Tokyo."
    assert result.stop_reason == "final"
    assert [type(e) for e in events if isinstance(e, ToolCallRequested | ToolCallFinished)] == [
        ToolCallRequested,
        ToolCallFinished,
    ]
    second = engine.prompt_text(1)
    # the call closed with <|call|>, the result as functions.NAME to=assistant on commentary,
    # and the analysis of this ongoing loop still there
    assert (
        '<|start|>assistant to=functions.get_weather<|channel|>commentary <|constrain|>json<|message|>{"location": "Tokyo"}<|call|>'
        '<|start|>functions.get_weather to=assistant<|channel|>commentary<|message|>{"temperature": 17, "condition": "cloudy"}<|end|>'
        "<|start|>assistant"
    ) in second
    assert "<|channel|>analysis<|message|>Need the tool.<|end|>" in second
    assert "Calls to these tools must go to the commentary channel: 'functions'." in second


def test_invalid_json_arguments_go_back_to_the_model_as_an_error() -> None:
    bad = CALL.replace('{"location": "Tokyo"}', '{"location": Tokyo}')
    calls: list[Any] = []
    s, engine = session([bad, AFTER_TOOL], tools={"get_weather": weather(calls)})
    result = s.send("weather?")
    assert calls == []
    outcome = result.tool_calls[0]
    assert outcome.is_error and "not valid JSON" in json.loads(outcome.output)["error"]
    assert (
        '<|start|>functions.get_weather to=assistant<|channel|>commentary<|message|>{"error": "the arguments are not valid JSON'
        in engine.prompt_text(1)
    )
    assert result.final is not None


def test_unknown_function_goes_back_as_an_error() -> None:
    s, engine = session(
        [CALL.replace("get_weather", "get_wether"), AFTER_TOOL], tools={"get_weather": weather([])}
    )
    result = s.send("weather?")
    assert result.tool_calls[0].is_error
    assert "unknown tool functions.get_wether" in result.tool_calls[0].output
    assert "<|start|>functions.get_wether to=assistant" in engine.prompt_text(1)


def test_handler_exception_becomes_an_error_result() -> None:
    def broken(name: str, arguments: Any) -> str:
        raise RuntimeError("service down")

    s, _ = session([CALL, AFTER_TOOL], tools={"get_weather": broken})
    result = s.send("weather?")
    assert json.loads(result.tool_calls[0].output) == {"error": "get_weather failed: service down"}


def test_runaway_tool_loop_stops_at_the_limit() -> None:
    calls: list[Any] = []
    s, engine = session([CALL] * 10, tools={"get_weather": weather(calls)}, max_tool_calls=3)
    result = s.send("weather?")
    assert len(calls) == 3
    assert len(engine.requests) == 4
    assert result.stop_reason == "tool_call_limit"
    assert result.final is None
    # history stays well formed: the last call has an (error) result
    assert s.history[-1].author.name == "functions.get_weather"
    assert "tool call limit" in s.history[-1].text


def test_approval_denied_and_edited() -> None:
    calls: list[Any] = []
    s, _ = session(
        [CALL, AFTER_TOOL],
        tools={"get_weather": weather(calls)},
        approve=lambda call: Denied("no network today"),
    )
    result = s.send("weather?")
    assert calls == [] and json.loads(result.tool_calls[0].output) == {"error": "no network today"}

    s, _ = session(
        [CALL, AFTER_TOOL],
        tools={"get_weather": weather(calls)},
        approve=lambda call: Edited({"location": "Osaka"}),
    )
    s.send("weather?")
    assert calls == [("get_weather", {"location": "Osaka"})]


def test_second_turn_evaluates_only_new_tokens_plus_the_dropped_analysis_suffix() -> None:
    s, engine = session([ANSWER, ANSWER, ANSWER], developer=None)
    r1 = s.send("q1")
    p1 = engine.requests[0].prompt_tokens or []
    r2 = s.send("q2")
    p2 = engine.requests[1].prompt_tokens or []
    assert r1.prompt_evaluated == len(p1)
    # turn 1's analysis is gone from the prompt ...
    assert "Easy." not in engine.prompt_text(1).split("q1")[1].split("q2")[0]
    # ... and evaluation resumed right where it starts to differ: "<|start|>assistant<|channel|>"
    # is shared, then "final..." + user q2 + "<|start|>assistant" are new.
    new_part = engine.prompt_text(1).split("<|start|>assistant<|channel|>", 1)[1]
    assert r2.prompt_evaluated == len(engine.vocab.encode_with_specials(new_part))
    assert r2.generations[0].cached_tokens == len(p2) - r2.prompt_evaluated
    r3 = s.send("q3")
    assert r3.prompt_evaluated == r2.prompt_evaluated  # per-turn cost stays flat


def test_tool_loop_continuation_evaluates_only_the_result() -> None:
    s, engine = session([CALL, AFTER_TOOL], tools={"get_weather": weather([])})
    result = s.send("weather?")
    g2 = result.generations[1]
    p1, p2 = engine.requests[0].prompt_tokens or [], engine.requests[1].prompt_tokens or []
    tail = engine.prompt_text(1).split('<|message|>{"location": "Tokyo"}', 1)[1]
    # the <|call|> (sampled, never evaluated) + the result message + <|start|>assistant
    assert g2.metrics.prompt_evaluated == len(engine.vocab.encode_with_specials(tail))
    assert p2[: len(p1)] == p1


def test_history_keeps_the_models_own_tokens_and_ends_finals_with_end() -> None:
    s, engine = session([ANSWER, ANSWER], developer=None)
    s.send("q1")
    gen = engine.vocab.encode_with_specials(ANSWER)
    s.send("q2")
    text = engine.prompt_text(1)
    assert (
        "<|start|>assistant<|channel|>final<|message|>Paris.<|end|><|start|>user<|message|>q2"
        in text
    )
    assert "<|return|>" not in text
    assert gen[-1] == 200002


def test_cancel_stops_the_turn_and_keeps_the_partial_message() -> None:
    s, _ = session(["<|channel|>analysis<|message|>" + "word " * 50 + "<|end|>"], developer=None)
    token = CancelToken()

    def on_event(event: Any) -> None:
        if isinstance(event, ContentDelta):
            token.cancel()

    result = s.send("long", on_event=on_event, cancel=token)
    assert result.stop_reason == "cancelled"
    assert result.ends[-1].stop_token is None
    assert len(result.ends[-1].message.text) < 50


def test_max_tokens_cut_is_reported() -> None:
    s, _ = session([ANSWER], developer=None, max_tokens=10)
    result = s.send("q")
    assert result.stop_reason == "max_tokens"
    assert result.ends[-1].stop_token is None
    assert any(n.startswith("no_stop_token") for n in result.malformed)


def test_an_error_leaves_the_history_as_it_was() -> None:
    s, engine = session([ANSWER], developer=None)
    before = s.history
    engine.n_ctx = 10
    with pytest.raises(ContextOverflow):
        s.send("q")
    assert s.history == before


def test_reasoning_effort_and_system_are_rendered() -> None:
    s, engine = session(
        [ANSWER],
        developer=None,
        system=SystemContent(conversation_start_date="2026-01-02").with_reasoning("high"),
    )
    s.send("q")
    assert "Current date: 2026-01-02\n\nReasoning: high\n\n# Valid channels" in engine.prompt_text()


def test_malformed_model_message_is_re_rendered_canonically_in_history() -> None:
    s, engine = session(["<|channel|>final The answer.<|return|>", ANSWER], developer=None)
    r = s.send("q1")
    assert r.final == "The answer."
    s.send("q2")
    assert (
        "<|start|>assistant<|channel|>final<|message|>The answer.<|end|><|start|>user"
        in engine.prompt_text(1)
    )


def test_message_end_events_carry_stop_tokens() -> None:
    s, _ = session([ANSWER], developer=None)
    events: list[Any] = []
    s.send("q", on_event=events.append)
    assert [e.stop_token for e in events if isinstance(e, MessageEnd)] == ["<|end|>", "<|return|>"]


def test_engine_that_reports_the_stop_token_only_in_metrics() -> None:
    engine = ScriptedEngine([CALL, AFTER_TOOL], send_stop=False)
    calls: list[Any] = []
    s = ChatSession(
        engine, vocab=engine.vocab, developer=DEV, tools={"get_weather": weather(calls)}
    )
    result = s.send("weather?")
    assert calls == [("get_weather", {"location": "Tokyo"})]
    assert [e.stop_token for e in result.ends] == ["<|end|>", "<|call|>", "<|return|>"]
    assert result.final == "It is 17°C and cloudy in Tokyo."
