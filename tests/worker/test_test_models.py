"""The project's own tiny test models (tests/data/models) through the real engine.

The prompts are rendered by the app's own Harmony renderer and tokenized through the worker,
so these tests also prove that the app tokenizes a conversation exactly as the training data
was tokenized. The expected texts are documented in tests/data/models/README.md.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from gptoss_desktop.core.engine import EngineClient, GenerateRequest, LoadOptions, SamplingOptions
from gptoss_desktop.core.harmony import (
    DeveloperContent,
    EngineVocabulary,
    Message,
    Role,
    SystemContent,
    ToolDescription,
    render_conversation_tokens,
)
from tests.data import make_models
from tests.helpers import PROJECT_MODELS, project_model

GREEDY = SamplingOptions(temperature=0.0)
DATE = "2025-06-28"
GET_WEATHER = ToolDescription(
    "get_weather",
    "Gets the current weather in the provided location.",
    {
        "type": "object",
        "properties": {"location": {"type": "string", "description": "The city name, e.g. Tokyo"}},
        "required": ["location"],
    },
)
HARMONY_SPECIALS = (
    "<|startoftext|>",
    "<|endoftext|>",
    "<|return|>",
    "<|constrain|>",
    "<|channel|>",
    "<|start|>",
    "<|end|>",
    "<|message|>",
    "<|call|>",
)
# o200k_harmony ids, which the tiny vocabulary keeps in the same order and spacing.
O200K = {"<|startoftext|>": 199998, "<|endoftext|>": 199999, "<|return|>": 200002,
         "<|constrain|>": 200003, "<|channel|>": 200005, "<|start|>": 200006,
         "<|end|>": 200007, "<|message|>": 200008, "<|call|>": 200012}  # fmt: skip


@pytest.fixture(scope="module")
def harmony() -> Iterator[EngineClient]:
    client = EngineClient.start(
        project_model(make_models.HARMONY_MODEL), LoadOptions(n_ctx=1024, n_threads=2, seed=0)
    )
    yield client
    client.close()


@pytest.fixture(scope="module")
def gptoss() -> Iterator[EngineClient]:
    client = EngineClient.start(
        project_model(make_models.RANDOM_MODEL), LoadOptions(n_ctx=512, n_threads=2, seed=0)
    )
    yield client
    client.close()


@pytest.fixture(scope="module")
def vocab(harmony: EngineClient) -> EngineVocabulary:
    return EngineVocabulary(harmony)


def complete(client: EngineClient, vocab: EngineVocabulary, messages: list[Message]) -> str:
    """Greedy completion of `messages` + `<|start|>assistant`, up to <|return|> or <|call|>."""
    prompt = render_conversation_tokens(messages, vocab, next_turn_role=Role.ASSISTANT)
    stops = [vocab.special_id("<|return|>"), vocab.special_id("<|call|>")]
    gen = client.generate(
        GenerateRequest(prompt_tokens=prompt, max_tokens=160, stop_tokens=stops, sampling=GREEDY)
    )
    gen.wait()
    return b"".join(vocab.token_bytes(t) for t in gen.tokens).decode("utf-8")


def preamble(effort: str = "medium", *, tools: bool = False) -> list[Message]:
    msgs = [Message.system(SystemContent(conversation_start_date=DATE).with_reasoning(effort))]
    if tools:
        msgs.append(Message.developer(DeveloperContent.create(functions=[GET_WEATHER])))
    return msgs


def answer(analysis: str, final: str) -> str:
    return (
        f"<|channel|>analysis<|message|>{analysis}<|end|>"
        f"<|start|>assistant<|channel|>final<|message|>{final}<|return|>"
    )


def weather_call(analysis: str, city: str) -> str:
    return (
        f"<|channel|>analysis<|message|>{analysis}<|end|>"
        "<|start|>assistant to=functions.get_weather<|channel|>commentary <|constrain|>json"
        f'<|message|>{{"location": "{city}"}}<|call|>'
    )


def call_message(city: str) -> Message:
    return Message.assistant(
        json.dumps({"location": city}),
        channel="commentary",
        recipient="functions.get_weather",
        content_type="<|constrain|>json",
    )


# ---- the committed files -------------------------------------------------------------------


def test_committed_models_match_sha256sums(capsys: pytest.CaptureFixture[str]) -> None:
    listed = (PROJECT_MODELS / make_models.SUMS).read_text()
    assert make_models.RANDOM_MODEL in listed and make_models.HARMONY_MODEL in listed
    assert make_models.check(PROJECT_MODELS) == 0, capsys.readouterr().out
    for name in (make_models.RANDOM_MODEL, make_models.HARMONY_MODEL):
        assert (PROJECT_MODELS / name).stat().st_size <= 4 * 2**20


def test_check_detects_a_changed_file(tmp_path: Any) -> None:
    for name in (make_models.SUMS, make_models.REPORT, make_models.RANDOM_MODEL):
        (tmp_path / name).write_bytes((PROJECT_MODELS / name).read_bytes())
    data = bytearray((PROJECT_MODELS / make_models.HARMONY_MODEL).read_bytes())
    data[-1] ^= 1
    (tmp_path / make_models.HARMONY_MODEL).write_bytes(bytes(data))
    assert make_models.check(tmp_path) == 1


# ---- the shared tokenizer ------------------------------------------------------------------


@pytest.mark.parametrize("which", ["harmony", "gptoss"])
def test_shared_tokenizer(which: str, request: pytest.FixtureRequest) -> None:
    client: EngineClient = request.getfixturevalue(which)
    info = client.info
    assert info is not None
    by_text = client.special_tokens()["by_text"]
    ids = {t: by_text[t] for t in HARMONY_SPECIALS}
    base = ids["<|startoftext|>"]
    assert {t: i - base for t, i in ids.items()} == {t: i - 199998 for t, i in O200K.items()}
    assert (info.bos, info.eos, info.add_bos) == (ids["<|startoftext|>"], ids["<|return|>"], False)
    # llama.cpp ends generation on <|return|>, <|call|> and <|endoftext|>, not on <|end|>
    assert sorted(info.eog) == sorted(ids[t] for t in ("<|return|>", "<|call|>", "<|endoftext|>"))
    # the degree sign is two byte tokens: a character split across tokens
    degree = client.tokenize("°")
    assert client.token_pieces(degree) == [b"\xc2", b"\xb0"]
    # an ordinary token longer than 32 bytes
    long_run = client.tokenize("=" * 48)
    assert len(long_run) == 1
    assert client.token_pieces(long_run) == [b"=" * 48]
    assert client.detokenize(long_run + degree) == "=" * 48 + "°"


def test_both_models_share_one_vocabulary(harmony: EngineClient, gptoss: EngineClient) -> None:
    text = "It is 17°C and cloudy in Tokyo. What is the capital of France?"
    assert harmony.tokenize(text) == gptoss.tokenize(text)
    assert harmony.special_tokens()["by_text"] == gptoss.special_tokens()["by_text"]
    assert harmony.info is not None and gptoss.info is not None
    assert harmony.info.n_vocab == gptoss.info.n_vocab


# ---- tiny-gptoss-random ------------------------------------------------------------------


def test_gptoss_random_loads_as_gpt_oss_and_generates(gptoss: EngineClient) -> None:
    assert gptoss.info is not None and gptoss.info.architecture == "gpt-oss"
    meta = gptoss.metadata()
    assert meta["gpt-oss.expert_count"] == "4" and meta["gpt-oss.expert_used_count"] == "2"
    assert meta["gpt-oss.attention.sliding_window"] == "16"
    assert meta["gpt-oss.rope.scaling.type"] == "yarn"
    prompt = gptoss.tokenize("What is the capital of France? " * 8)  # longer than the window
    runs = []
    for _ in range(2):
        gen = gptoss.generate(
            GenerateRequest(prompt_tokens=prompt, max_tokens=24, stop_tokens=[], sampling=GREEDY)
        )
        m = gen.wait()
        assert (m.completion_tokens, m.stop_reason) == (24, "max_tokens")
        runs.append(gen.tokens)
    assert runs[0] == runs[1]  # greedy is deterministic
    assert len(set(runs[0])) > 1


# ---- tiny-harmony --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("effort", "analysis"),
    [
        ("low", "The user asks for the capital of France."),
        ("medium", "The user asks for the capital of France. The capital of France is Paris."),
        (
            "high",
            "The user asks for the capital of France. France is a country. Its capital city is "
            "Paris. I will answer in one sentence.",
        ),
    ],
)
def test_analysis_then_final_honours_reasoning_effort(
    harmony: EngineClient, vocab: EngineVocabulary, effort: str, analysis: str
) -> None:
    msgs = [*preamble(effort), Message.user("What is the capital of France?")]
    assert complete(harmony, vocab, msgs) == answer(analysis, "The capital of France is Paris.")


@pytest.mark.parametrize("name", ["Alice", "Omar", "Yuki"])
def test_greeting_copies_the_name(
    harmony: EngineClient, vocab: EngineVocabulary, name: str
) -> None:
    msgs = [*preamble("low"), Message.user(f"Say hello to {name}.")]
    assert complete(harmony, vocab, msgs) == answer(
        f"The user wants me to greet {name}.", f"Hello, {name}!"
    )


@pytest.mark.parametrize(
    ("city", "temperature", "condition"), [("Tokyo", 17, "cloudy"), ("Oslo", -3, "snowy")]
)
def test_function_call_then_an_answer_that_uses_the_result(
    harmony: EngineClient, vocab: EngineVocabulary, city: str, temperature: int, condition: str
) -> None:
    msgs = [*preamble(tools=True), Message.user(f"What is the weather in {city}?")]
    analysis = f"The user asks about the weather in {city}. I will call get_weather."
    assert complete(harmony, vocab, msgs) == weather_call(analysis, city)

    result = json.dumps({"temperature": temperature, "condition": condition})
    msgs += [
        Message.assistant(analysis, channel="analysis"),
        call_message(city),
        Message.tool_result("functions.get_weather", result),
    ]
    final = f"It is {temperature}°C and {condition} in {city}."
    assert complete(harmony, vocab, msgs) == f"<|channel|>final<|message|>{final}<|return|>"


def test_degree_sign_arrives_split_across_two_tokens(
    harmony: EngineClient, vocab: EngineVocabulary
) -> None:
    analysis = "The user asks about the weather in Paris. I will call get_weather."
    msgs = [
        *preamble(tools=True),
        Message.user("What is the weather in Paris?"),
        Message.assistant(analysis, channel="analysis"),
        call_message("Paris"),
        Message.tool_result("functions.get_weather", '{"temperature": 21, "condition": "sunny"}'),
    ]
    prompt = render_conversation_tokens(msgs, vocab, next_turn_role=Role.ASSISTANT)
    gen = harmony.generate(GenerateRequest(prompt_tokens=prompt, max_tokens=40, sampling=GREEDY))
    batches = list(gen)
    pieces = [p for b in batches for p in b.pieces]
    assert pieces[pieces.index(b"\xc2") + 1] == b"\xb0"
    # the worker's incremental UTF-8 decoding never shows half a character
    texts = [b.text for b in batches]
    assert not any("\ufffd" in t for t in texts)
    assert "".join(texts) == gen.text == "<|channel|>final<|message|>It is 21°C and sunny in Paris."
    assert gen.result is not None and gen.result.stop_reason == "stop_token"


def test_tool_error_makes_the_model_call_again(
    harmony: EngineClient, vocab: EngineVocabulary
) -> None:
    msgs = [*preamble(tools=True), Message.user("What is the weather in Lima?")]
    first = "The user asks about the weather in Lima. I will call get_weather."
    retry = "The tool returned an error. I will try again."
    assert complete(harmony, vocab, msgs) == weather_call(first, "Lima")
    msgs += [Message.assistant(first, channel="analysis"), call_message("Lima")]
    for _ in range(4):  # a runaway tool loop: the model keeps calling while the tool fails
        msgs.append(
            Message.tool_result("functions.get_weather", '{"error": "service unavailable"}')
        )
        assert complete(harmony, vocab, msgs) == weather_call(retry, "Lima")
        msgs += [Message.assistant(retry, channel="analysis"), call_message("Lima")]


def test_no_tool_declared_means_no_call(harmony: EngineClient, vocab: EngineVocabulary) -> None:
    msgs = [*preamble("low"), Message.user("What is the weather in Tokyo?")]
    assert complete(harmony, vocab, msgs) == answer(
        "The user asks about the weather in Tokyo.", "Sorry, I cannot check the weather in Tokyo."
    )


HISTORY = [
    ("What is the capital of Japan?", "The capital of Japan is Tokyo."),
    ("Say hello to Bob.", "Hello, Bob!"),
    ("What is the capital of Peru?", "The capital of Peru is Lima."),
    ("What is the date today?", f"Today is {DATE}."),
    ("Say hello to Mia.", "Hello, Mia!"),
    ("What is the capital of Kenya?", "The capital of Kenya is Nairobi."),
    ("What is the weather in Rome?", "Sorry, I cannot check the weather in Rome."),
    ("What is the capital of Greece?", "The capital of Greece is Athens."),
    ("Say hello to Ivan.", "Hello, Ivan!"),
]


@pytest.mark.parametrize("turns", [1, 4, 9])
def test_multi_turn_answers_the_newest_question(
    harmony: EngineClient, vocab: EngineVocabulary, turns: int
) -> None:
    msgs = preamble("medium")
    for question, final in HISTORY[:turns]:
        msgs += [Message.user(question), Message.assistant(final, channel="final")]
    msgs.append(Message.user("What is the capital of Canada?"))
    assert complete(harmony, vocab, msgs) == answer(
        "The user asks for the capital of Canada. The capital of Canada is Ottawa.",
        "The capital of Canada is Ottawa.",
    )
