"""OpenAI request bodies to Harmony messages (no model needed)."""

from __future__ import annotations

from typing import Any

import pytest

from gptoss_desktop.core.api.errors import ApiError
from gptoss_desktop.core.api.memo import GenerationMemo
from gptoss_desktop.core.api.requests import (
    call_message,
    message_from_json,
    message_to_json,
    parse_chat_request,
    parse_responses_request,
    tool_result_message,
)
from gptoss_desktop.core.harmony.conversation import DropPolicy, kept_indices
from gptoss_desktop.core.harmony.model import Message, ReasoningEffort

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"location": {"type": "string"}}},
    },
}


def chat(messages: list[dict[str, Any]], **kw: Any) -> Any:
    return parse_chat_request({"model": "m", "messages": messages, **kw})


def shape(messages: list[Message]) -> list[tuple[str, str | None, str | None, str]]:
    return [(m.role.value, m.channel, m.recipient, m.text) for m in messages]


def test_system_and_developer_become_instructions_and_effort_the_system_message() -> None:
    r = chat(
        [
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": [{"type": "text", "text": "Answer in English."}]},
            {"role": "user", "content": "hi"},
        ],
        reasoning_effort="HIGH",
    )
    assert r.instructions == "Be brief.\n\nAnswer in English."
    assert r.effort is ReasoningEffort.HIGH
    assert shape(r.history) == [("user", None, None, "hi")]
    assert chat([{"role": "user", "content": "x"}], reasoning_effort="minimal").effort is (
        ReasoningEffort.LOW
    )


def test_a_tool_loop_maps_to_harmony_with_names_found_by_id() -> None:
    r = chat(
        [
            {"role": "user", "content": "Weather in Tokyo?"},
            {
                "role": "assistant",
                "content": None,
                "reasoning_content": "I will call get_weather.",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"location": "Tokyo"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": '{"t": 17}'},
        ],
        tools=[WEATHER],
    )
    assert shape(r.history) == [
        ("user", None, None, "Weather in Tokyo?"),
        ("assistant", "analysis", None, "I will call get_weather."),
        ("assistant", "commentary", "functions.get_weather", '{"location": "Tokyo"}'),
        ("tool", "commentary", "assistant", '{"t": 17}'),
    ]
    assert r.history[2].content_type == "<|constrain|>json"
    assert r.history[3].author.name == "functions.get_weather"
    assert r.call_names == {"call_1": "get_weather"}
    # during the tool loop the analysis stays; after a final answer it goes
    assert kept_indices(r.history, DropPolicy.BEFORE_LAST_FINAL) == [0, 1, 2, 3]
    done = [*r.history, Message.assistant("It is 17.", channel="final")]
    assert 1 not in kept_indices(done, DropPolicy.BEFORE_LAST_FINAL)


def test_reasoning_dropped_by_the_client_is_restored_by_call_id() -> None:
    memo = GenerationMemo()
    thought = Message.assistant("I will call get_weather.", channel="analysis")
    memo.remember_call("call_9", [thought])
    messages = [
        {"role": "user", "content": "Weather in Oslo?"},
        {"role": "assistant", "tool_calls": [{"id": "call_9", "type": "function",
         "function": {"name": "get_weather", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_9", "content": "{}"},
    ]  # fmt: skip
    r = parse_chat_request({"model": "m", "messages": messages}, memo.reasoning_for)
    assert r.history[1] == thought
    # what the client sent wins over the memo
    messages[1]["reasoning"] = "Mine."
    r = parse_chat_request({"model": "m", "messages": messages}, memo.reasoning_for)
    assert r.history[1].text == "Mine."


def test_content_beside_tool_calls_is_a_preamble_and_alone_a_final_answer() -> None:
    call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    r = chat([{"role": "user", "content": "u"},
              {"role": "assistant", "content": "Let me look.", "tool_calls": [call]},
              {"role": "tool", "tool_call_id": "c", "content": "r"},
              {"role": "assistant", "content": "Done."}])  # fmt: skip
    assert [(m.channel, m.recipient) for m in r.history[1:]] == [
        ("commentary", None),
        ("commentary", "functions.f"),
        ("commentary", "assistant"),
        ("final", None),
    ]


@pytest.mark.parametrize(
    ("tool_choice", "offered"),
    [(None, ["get_weather", "get_time"]), ("auto", ["get_weather", "get_time"]), ("none", []),
     ({"type": "function", "function": {"name": "get_time"}}, ["get_time"])],
)  # fmt: skip
def test_tool_choice_narrows_what_is_offered(tool_choice: Any, offered: list[str]) -> None:
    time_tool = {"type": "function", "function": {"name": "get_time"}}
    r = chat(
        [{"role": "user", "content": "x"}], tools=[WEATHER, time_tool], tool_choice=tool_choice
    )
    assert [f.name for f in r.functions] == offered


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": [{"role": "user", "content": "x"}]}, "model"),
        ({"model": "m", "messages": []}, "messages"),
        ({"model": "m", "messages": [{"role": "wizard", "content": "x"}]}, "messages[0].role"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "top_p": 2}, "top_p"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 0}, "max_tokens"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "seed": "1"}, "seed"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "stop": ["a"] * 5}, "stop"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "n": 2}, "n"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}],
          "logit_bias": {"a": 1}}, "logit_bias"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}],
          "reasoning_effort": "extreme"}, "reasoning_effort"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}],
          "tools": [WEATHER, WEATHER]}, "tools"),
    ],
)  # fmt: skip
def test_bad_fields_name_the_parameter(body: dict[str, Any], param: str) -> None:
    with pytest.raises(ApiError) as info:
        parse_chat_request(body)
    assert info.value.status == 400 and info.value.param == param


def test_responses_items_and_the_previous_history() -> None:
    previous = [Message.user("Weather in Rome?"),
                Message.assistant("I will call it.", channel="analysis"),
                call_message("get_weather", '{"location": "Rome"}')]  # fmt: skip
    r = parse_responses_request(
        {
            "model": "m",
            "instructions": "Be brief.",
            "input": [
                {"type": "function_call_output", "call_id": "call_r", "output": '{"t": 20}'},
                {"role": "developer", "content": "Use Celsius."},
            ],
            "reasoning": {"effort": "low"},
            "tools": [
                {"type": "function", "name": "get_weather", "parameters": {"type": "object"}}
            ],
            "max_output_tokens": 50,
        },
        previous=previous,
        previous_calls={"call_r": "get_weather"},
    )
    assert r.history == [*previous, tool_result_message("get_weather", '{"t": 20}')]
    assert r.instructions == "Be brief.\n\nUse Celsius."
    assert r.effort is ReasoningEffort.LOW and r.max_tokens == 50
    assert [f.name for f in r.functions] == ["get_weather"]
    with pytest.raises(ApiError, match="matches no function call"):
        parse_responses_request(
            {
                "model": "m",
                "input": [{"type": "function_call_output", "call_id": "x", "output": ""}],
            }
        )
    with pytest.raises(ApiError, match="only function tools"):
        parse_responses_request({"model": "m", "input": "x", "tools": [{"type": "web_search"}]})


def test_reasoning_items_precede_the_call_they_belong_to() -> None:
    r = parse_responses_request(
        {
            "model": "m",
            "input": [
                {"role": "user", "content": [{"type": "input_text", "text": "Weather?"}]},
                {"type": "reasoning", "summary": [],
                 "content": [{"type": "reasoning_text", "text": "Call it."}]},
                {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
            ],
        }
    )  # fmt: skip
    assert shape(r.history) == [
        ("user", None, None, "Weather?"),
        ("assistant", "analysis", None, "Call it."),
        ("assistant", "commentary", "functions.get_weather", "{}"),
        ("tool", "commentary", "assistant", "sunny"),
    ]


def test_messages_survive_json() -> None:
    for m in (call_message("f", "{}"), tool_result_message("f", "x"), Message.user("u"),
              Message.assistant("a", channel="analysis")):  # fmt: skip
        assert message_from_json(message_to_json(m)) == m
