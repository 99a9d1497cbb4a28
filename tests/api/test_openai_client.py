"""The official ``openai`` client against the real server and a real worker (tiny-harmony).

tiny-harmony answers a closed world exactly (tests/data/models/README.md): it reasons on the
analysis channel, answers on final, calls get_weather and answers from the result, and its
reasoning grows with the reasoning effort. Greedy decoding (temperature 0).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.conftest import GET_WEATHER, Served, openai

MODEL = "tiny-harmony"
CHAT_TOOLS = [{"type": "function", "function": GET_WEATHER}]
RESPONSE_TOOLS = [{"type": "function", **GET_WEATHER}]
WEATHER = json.dumps({"temperature": 17, "condition": "cloudy"})


def rendered(served: Served) -> str:
    """The text of what the worker evaluated last (the real prompt the model saw)."""
    return served.engine.detokenize(served.engine.evaluated_tokens)


def test_models_lists_the_loaded_model(harmony: Served) -> None:
    models = harmony.client().models.list()
    assert [(m.id, m.owned_by) for m in models.data] == [(MODEL, "gptoss-desktop")]
    assert models.data[0].model_extra["loaded"] is True


def test_chat_completion_keeps_reasoning_out_of_content(harmony: Served) -> None:
    r = harmony.client().chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "What is the capital of France?"}],
        temperature=0,
    )
    message = r.choices[0].message
    assert message.content == "The capital of France is Paris."
    extra = message.model_extra
    assert extra["reasoning_content"].startswith("The user asks for the capital of France.")
    assert extra["reasoning"] == extra["reasoning_content"]
    assert "The user asks" not in message.content
    assert r.choices[0].finish_reason == "stop"
    assert r.usage.prompt_tokens > 50 and r.usage.completion_tokens > 10
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    reasoning_tokens = r.usage.completion_tokens_details.reasoning_tokens
    assert 5 < reasoning_tokens < r.usage.completion_tokens


def test_chat_completion_streamed(harmony: Served) -> None:
    stream = harmony.client().chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Say hello to Alice."}],
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    )
    content, reasoning, finish, usage = [], [], [], []
    for chunk in stream:
        if chunk.usage is not None:
            usage.append(chunk.usage)
        for choice in chunk.choices:
            if choice.delta.content:
                content.append(choice.delta.content)
            extra = choice.delta.model_extra or {}
            if extra.get("reasoning_content"):
                assert extra["reasoning"] == extra["reasoning_content"]
                reasoning.append(extra["reasoning_content"])
            if choice.finish_reason:
                finish.append(choice.finish_reason)
    assert "".join(content) == "Hello, Alice!"
    assert "".join(reasoning).startswith("The user wants me to greet Alice.")
    assert finish == ["stop"]
    assert len(usage) == 1 and usage[0].completion_tokens > 5


def _weather_turn(harmony: Served, *, send_reasoning: bool) -> None:
    client = harmony.client()
    messages: list[dict[str, Any]] = [{"role": "user", "content": "What is the weather in Tokyo?"}]
    first = client.chat.completions.create(
        model=MODEL, messages=messages, tools=CHAT_TOOLS, temperature=0
    )
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls
    assert call.type == "function" and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"location": "Tokyo"}
    assert call.id.startswith("call_")
    assert choice.message.content is None
    assert choice.message.model_extra["reasoning_content"].endswith("I will call get_weather.")
    assistant = choice.message.model_dump(exclude_none=True)
    if not send_reasoning:  # most clients drop it; the server restores it by call id
        assistant.pop("reasoning_content")
        assistant.pop("reasoning")
    messages += [assistant, {"role": "tool", "tool_call_id": call.id, "content": WEATHER}]
    final = client.chat.completions.create(
        model=MODEL, messages=messages, tools=CHAT_TOOLS, temperature=0
    )
    assert final.choices[0].finish_reason == "stop"
    assert final.choices[0].message.content == "It is 17°C and cloudy in Tokyo."
    # the call and its reasoning were in the prompt as the model wrote them: KV reuse
    assert final.usage.prompt_tokens_details.cached_tokens > first.usage.prompt_tokens
    assert "I will call get_weather.<|end|>" in rendered(harmony)


def test_get_weather_round_trip(harmony: Served) -> None:
    _weather_turn(harmony, send_reasoning=True)


def test_get_weather_round_trip_without_the_reasoning_sent_back(harmony: Served) -> None:
    _weather_turn(harmony, send_reasoning=False)


def test_get_weather_streamed_tool_call(harmony: Served) -> None:
    stream = harmony.client().chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "What is the weather in Paris?"}],
        tools=CHAT_TOOLS,
        temperature=0,
        stream=True,
    )
    ids, names, args, finish = [], [], [], []
    for chunk in stream:
        for choice in chunk.choices:
            for tc in choice.delta.tool_calls or []:
                assert tc.index == 0
                if tc.id:
                    ids.append(tc.id)
                if tc.function and tc.function.name:
                    names.append(tc.function.name)
                if tc.function and tc.function.arguments:
                    args.append(tc.function.arguments)
            if choice.finish_reason:
                finish.append(choice.finish_reason)
    assert len(ids) == 1 and names == ["get_weather"]
    assert json.loads("".join(args)) == {"location": "Paris"}
    assert finish == ["tool_calls"]


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
def test_reasoning_effort_reaches_the_system_message(
    harmony: Served, effort: str, expected: str
) -> None:
    r = harmony.client().chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "What is the capital of Japan?"}],
        temperature=0,
        reasoning_effort=effort,
    )
    prompt = rendered(harmony)
    system = prompt[: prompt.index("<|end|>")]
    assert system.startswith("<|start|>system<|message|>")
    assert f"Reasoning: {effort}" in system
    assert r.choices[0].message.model_extra["reasoning_content"] == expected
    assert r.choices[0].message.content == "The capital of Japan is Tokyo."


def test_system_message_becomes_developer_instructions(harmony: Served) -> None:
    r = harmony.client().chat.completions.create(
        model=MODEL,
        messages=[
            {"role": "system", "content": "Answer briefly."},
            {"role": "user", "content": "Say hello to Carol."},
        ],
        temperature=0,
    )
    assert r.choices[0].message.content == "Hello, Carol!"
    assert "<|start|>developer<|message|># Instructions\n\nAnswer briefly.<|end|>" in rendered(
        harmony
    )


def test_earlier_reasoning_is_dropped_after_a_final_answer(harmony: Served) -> None:
    """A client that sends earlier turns' reasoning back: the chat window's drop rule."""
    r = harmony.client().chat.completions.create(
        model=MODEL,
        messages=[
            {"role": "user", "content": "What is the capital of France?"},
            {
                "role": "assistant",
                "content": "The capital of France is Paris.",
                "reasoning_content": "The user asks for the capital of France.",
            },
            {"role": "user", "content": "Say hello to Dave."},
        ],
        temperature=0,
    )
    assert r.choices[0].message.content == "Hello, Dave!"
    prompt = rendered(harmony)
    assert "The capital of France is Paris.<|end|>" in prompt
    assert "The user asks for the capital of France." not in prompt


def test_multi_turn_reuses_the_kv_cache(harmony: Served) -> None:
    client = harmony.client()
    messages: list[dict[str, Any]] = []
    cached, prompt = [], []
    for question, answer in [
        ("What is the capital of Peru?", "The capital of Peru is Lima."),
        ("Say hello to Eve.", "Hello, Eve!"),
        ("What is the capital of Italy?", "The capital of Italy is Rome."),
    ]:
        messages.append({"role": "user", "content": question})
        r = client.chat.completions.create(model=MODEL, messages=messages, temperature=0)
        assert r.choices[0].message.content == answer
        messages.append({"role": "assistant", "content": answer})
        cached.append(r.usage.prompt_tokens_details.cached_tokens)
        prompt.append(r.usage.prompt_tokens)
    # later turns re-evaluate only the new messages (and the dropped reasoning's tail)
    assert max(p - c for p, c in zip(prompt[1:], cached[1:], strict=True)) < 60 < prompt[2]


def test_stop_strings_cut_the_answer(harmony: Served) -> None:
    r = harmony.client().chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "What is the capital of Germany?"}],
        temperature=0,
        stop=["is Ber"],
    )
    assert r.choices[0].message.content == "The capital of Germany "
    assert r.choices[0].finish_reason == "stop"


def test_max_tokens_gives_length(harmony: Served) -> None:
    r = harmony.client().chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "What is the capital of Spain?"}],
        temperature=0,
        max_completion_tokens=5,
    )
    assert r.choices[0].finish_reason == "length"
    assert r.usage.completion_tokens == 5
    assert not r.choices[0].message.content


def test_seeded_sampling_repeats(harmony: Served) -> None:
    client = harmony.client()
    kw: dict[str, Any] = dict(
        model=MODEL,
        messages=[{"role": "user", "content": "Say hello to Zoe."}],
        temperature=1.0,
        top_p=0.9,
        seed=7,
    )
    a = client.chat.completions.create(**kw)
    b = client.chat.completions.create(**kw)
    assert a.choices[0].message.content == b.choices[0].message.content


# --- the Responses API ----------------------------------------------------------------------------
def test_responses_function_call_and_previous_response_id(harmony: Served) -> None:
    client = harmony.client()
    first = client.responses.create(
        model=MODEL,
        input="What is the weather in Oslo?",
        tools=RESPONSE_TOOLS,
        temperature=0,
        reasoning={"effort": "medium"},
    )
    assert first.status == "completed"
    kinds = [item.type for item in first.output]
    assert kinds == ["reasoning", "function_call"]
    reasoning, call = first.output
    assert reasoning.content[0].text.endswith("I will call get_weather.")
    assert call.name == "get_weather" and json.loads(call.arguments) == {"location": "Oslo"}
    assert first.output_text == ""

    second = client.responses.create(
        model=MODEL,
        previous_response_id=first.id,
        input=[
            {
                "type": "function_call_output",
                "call_id": call.call_id,
                "output": json.dumps({"temperature": -3, "condition": "snowy"}),
            }
        ],
        tools=RESPONSE_TOOLS,
        temperature=0,
    )
    assert second.output_text == "It is -3°C and snowy in Oslo."
    assert second.previous_response_id == first.id
    assert second.usage.input_tokens_details.cached_tokens > first.usage.input_tokens

    third = client.responses.create(
        model=MODEL, previous_response_id=second.id, input="Say hello to Frank.", temperature=0
    )
    assert third.output_text == "Hello, Frank!"
    prompt = rendered(harmony)
    assert '{"location": "Oslo"}<|call|>' in prompt  # the finished call stays in history
    assert "I will call get_weather." not in prompt  # its reasoning went after the answer
    assert harmony.client().responses.retrieve(third.id).output_text == "Hello, Frank!"


def test_responses_instructions_and_effort(harmony: Served) -> None:
    r = harmony.client().responses.create(
        model=MODEL,
        instructions="Keep answers short.",
        input=[
            {
                "role": "user",
                "content": [{"type": "input_text", "text": "What is the capital of Japan?"}],
            }
        ],
        reasoning={"effort": "low"},
        temperature=0,
    )
    assert r.output_text == "The capital of Japan is Tokyo."
    assert r.output[0].content[0].text == "The user asks for the capital of Japan."
    prompt = rendered(harmony)
    assert "Reasoning: low" in prompt
    assert "# Instructions\n\nKeep answers short." in prompt


def test_responses_streaming_events(harmony: Served) -> None:
    client = harmony.client()
    events = list(
        client.responses.create(
            model=MODEL, input="What is the weather in Rome?", tools=RESPONSE_TOOLS,
            temperature=0, stream=True,
        )
    )  # fmt: skip
    types = [e.type for e in events]
    assert types[0] == "response.created" and types[-1] == "response.completed"
    assert "response.reasoning_text.delta" in types
    assert "response.function_call_arguments.delta" in types
    args = "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta")
    assert json.loads(args) == {"location": "Rome"}
    done = events[-1].response
    call = next(o for o in done.output if o.type == "function_call")

    follow = list(
        client.responses.create(
            model=MODEL,
            previous_response_id=done.id,
            input=[{"type": "function_call_output", "call_id": call.call_id, "output": WEATHER}],
            tools=RESPONSE_TOOLS,
            temperature=0,
            stream=True,
        )
    )
    text = "".join(e.delta for e in follow if e.type == "response.output_text.delta")
    assert text == "It is 17°C and cloudy in Rome."
    assert follow[-1].type == "response.completed"
    assert follow[-1].response.usage.output_tokens > 5
    seq = [e.sequence_number for e in follow]
    assert seq == sorted(seq) and len(set(seq)) == len(seq)


def test_stored_responses_can_be_deleted_and_store_false_keeps_nothing(harmony: Served) -> None:
    client = harmony.client()
    kept = client.responses.create(model=MODEL, input="Say hello to Mia.", temperature=0)
    assert kept.output_text == "Hello, Mia!"
    assert harmony.responses is not None and harmony.responses.get(kept.id) is not None
    client.responses.delete(kept.id)
    assert harmony.responses.get(kept.id) is None
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(kept.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.create(model=MODEL, previous_response_id=kept.id, input="Hi")
    unstored = client.responses.create(
        model=MODEL, input="Say hello to Noah.", temperature=0, store=False
    )
    assert unstored.output_text == "Hello, Noah!" and unstored.store is False
    assert harmony.responses.get(unstored.id) is None
