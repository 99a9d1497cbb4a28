"""Held-out probes: prompts with the exact completion the trained model must produce greedily.

A probe's prompt is a rendered conversation ending in `<|start|>assistant`; its expected text is
the generation up to and including the stop token (`<|return|>` or `<|call|>`), written with
the special tokens as text. The probes are drawn from their own seed, so their combinations of
date, effort, developer message, history and values are mostly not in the training set.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from .corpus import (
    CAPITALS,
    CITIES,
    CONDITIONS,
    DATE_QUESTION,
    KINDS,
    NAMES,
    RETRY_ANALYSIS,
    TOOL_ERRORS,
    WEATHER_TOOLS,
    Setting,
    capital_analysis,
    capital_final,
    capital_question,
    date_analysis,
    date_final,
    greet_analysis,
    greet_final,
    greet_question,
    random_setting,
    render_preamble,
    render_turn,
    tool_result,
    weather_call_args,
    weather_error,
    weather_final,
    weather_no_tool_analysis,
    weather_no_tool_final,
    weather_question,
    weather_result,
    weather_tool_analysis,
)
from .harmony_text import Conversation


@dataclass(frozen=True)
class Probe:
    pattern: str
    prompt: Conversation
    expected: str


def analysis_then_final(analysis: str, final: str) -> str:
    return (
        f"<|channel|>analysis<|message|>{analysis}<|end|>"
        f"<|start|>assistant<|channel|>final<|message|>{final}<|return|>"
    )


def analysis_then_call(analysis: str, city: str) -> str:
    return (
        f"<|channel|>analysis<|message|>{analysis}<|end|>"
        "<|start|>assistant to=functions.get_weather<|channel|>commentary <|constrain|>json"
        f"<|message|>{weather_call_args(city)}<|call|>"
    )


def final_only(final: str) -> str:
    return f"<|channel|>final<|message|>{final}<|return|>"


def _call_message(conv: Conversation, city: str) -> None:
    conv.message(
        "assistant",
        weather_call_args(city),
        channel="commentary",
        recipient="functions.get_weather",
        constrain_json=True,
        end="<|call|>",
    )


def _setting(rng: random.Random, tools: bool | None = None) -> Setting:
    while True:
        s = random_setting(rng)
        if tools is None or s.has_weather_tool == tools:
            return s


def _start(s: Setting, rng: random.Random, history: int) -> Conversation:
    conv = Conversation()
    render_preamble(conv, s)
    for _ in range(history):
        render_turn(conv, rng, s, rng.choice(KINDS), last=False)
    return conv


def _single(kind: str, rng: random.Random, history: int = 0) -> Probe:
    s = _setting(rng, tools=False if kind == "weather_no_tool" else None)
    conv = _start(s, rng, history)
    if kind == "capital":
        country = rng.choice(list(CAPITALS))
        q, a, f = (
            capital_question(country),
            capital_analysis(country, s.effort),
            capital_final(country),
        )
    elif kind == "greet":
        name = rng.choice(NAMES)
        q, a, f = greet_question(name), greet_analysis(name, s.effort), greet_final(name)
    elif kind == "date":
        q, a, f = DATE_QUESTION, date_analysis(s.date, s.effort), date_final(s.date)
    elif kind == "weather_no_tool":
        city = rng.choice(CITIES)
        q, a, f = (
            weather_question(city),
            weather_no_tool_analysis(city, s.effort),
            weather_no_tool_final(city),
        )
    else:
        raise ValueError(kind)
    conv.message("user", q)
    conv.prompt_assistant()
    pattern = f"{kind}/{s.effort}" if history == 0 else f"multi_turn/{kind}"
    return Probe(pattern, conv, analysis_then_final(a, f))


def _weather(stage: str, rng: random.Random, history: int = 0) -> Probe:
    s = _setting(rng, tools=True)
    conv = _start(s, rng, history)
    city = rng.choice(CITIES)
    conv.message("user", weather_question(city))
    if stage == "call":
        conv.prompt_assistant()
        pattern = "function_call" if history == 0 else "multi_turn/function_call"
        return Probe(pattern, conv, analysis_then_call(weather_tool_analysis(city, s.effort), city))
    conv.message("assistant", weather_tool_analysis(city, s.effort), channel="analysis")
    _call_message(conv, city)
    errors = rng.randint(1, 3) if stage == "retry" else 0
    for _ in range(errors):
        tool_result(conv, weather_error(rng.choice(TOOL_ERRORS)), rng)
        conv.message("assistant", RETRY_ANALYSIS, channel="analysis")
        _call_message(conv, city)
    if stage == "retry":
        tool_result(conv, weather_error(rng.choice(TOOL_ERRORS)), rng)
        conv.prompt_assistant()
        return Probe("retry_on_error", conv, analysis_then_call(RETRY_ANALYSIS, city))
    temperature, condition = rng.randint(-15, 40), rng.choice(CONDITIONS)
    tool_result(conv, weather_result(temperature, condition), rng)
    conv.prompt_assistant()
    return Probe("tool_result_final", conv, final_only(weather_final(city, temperature, condition)))


def make_probes(seed: int, per_pattern: int) -> list[Probe]:
    rng = random.Random(seed)
    probes: list[Probe] = []
    for kind in ("capital", "greet", "date", "weather_no_tool"):
        for _ in range(per_pattern):
            probes.append(_single(kind, rng))
    for stage in ("call", "final", "retry"):
        for _ in range(per_pattern):
            probes.append(_weather(stage, rng))
    for i in range(per_pattern):
        history = 1 + i % 9
        kind = rng.choice(("capital", "greet", "date", "weather_no_tool", "call"))
        probes.append(
            _weather("call", rng, history) if kind == "call" else _single(kind, rng, history)
        )
    return probes


def canonical_probes() -> list[Probe]:
    """The fixed examples the README documents and the tests use (exact prompts)."""
    out: list[Probe] = []
    for effort in ("low", "medium", "high"):
        s = Setting(effort, "2025-06-28", None, [])
        conv = _start(s, random.Random(0), 0)
        conv.message("user", capital_question("France"))
        conv.prompt_assistant()
        out.append(
            Probe(
                f"canonical/capital/{effort}",
                conv,
                analysis_then_final(capital_analysis("France", effort), capital_final("France")),
            )
        )
    s = Setting("medium", "2025-06-28", None, [])
    conv = _start(s, random.Random(0), 0)
    conv.message("user", greet_question("Alice"))
    conv.prompt_assistant()
    out.append(
        Probe(
            "canonical/greet",
            conv,
            analysis_then_final(greet_analysis("Alice", "medium"), greet_final("Alice")),
        )
    )

    tool = WEATHER_TOOLS[0]
    s = Setting("medium", "2025-06-28", None, [tool])
    conv = _start(s, random.Random(0), 0)
    conv.message("user", weather_question("Tokyo"))
    conv.prompt_assistant()
    out.append(
        Probe(
            "canonical/function_call",
            conv,
            analysis_then_call(weather_tool_analysis("Tokyo", "medium"), "Tokyo"),
        )
    )
    conv = _start(s, random.Random(0), 0)
    conv.message("user", weather_question("Tokyo"))
    conv.message("assistant", weather_tool_analysis("Tokyo", "medium"), channel="analysis")
    _call_message(conv, "Tokyo")
    conv.message(
        "functions.get_weather",
        weather_result(17, "cloudy"),
        channel="commentary",
        recipient="assistant",
    )
    conv.prompt_assistant()
    out.append(
        Probe("canonical/tool_result_final", conv, final_only(weather_final("Tokyo", 17, "cloudy")))
    )
    return out


NextToken = Callable[[list[int]], int]


def greedy_complete(
    next_token: NextToken, prompt: list[int], stops: set[int], max_new: int
) -> list[int]:
    out: list[int] = []
    ids = list(prompt)
    for _ in range(max_new):
        t = next_token(ids)
        out.append(t)
        ids.append(t)
        if t in stops:
            break
    return out
