"""The synthetic Harmony conversations the tiny-harmony model is trained on.

A small closed world (countries, cities, names, weather conditions) and five prompt kinds:
capital, greeting, date, weather with the get_weather tool, weather without a tool. Every
conversation has a system message (random date or none, random reasoning effort), maybe a
developer message (instructions and/or the functions namespace), 0-9 earlier turns rendered as
history (user + final closed with <|end|>; tool calls and results kept, analysis dropped), and a
last turn whose assistant messages are the training targets. Everything is drawn from one
`random.Random(seed)`, so the corpus is a pure function of the seed.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass

from .harmony_text import Conversation, FunctionTool, Param, developer_content, system_content

CAPITALS: dict[str, str] = {
    "France": "Paris",
    "Japan": "Tokyo",
    "Germany": "Berlin",
    "Italy": "Rome",
    "Spain": "Madrid",
    "Egypt": "Cairo",
    "Peru": "Lima",
    "Norway": "Oslo",
    "Kenya": "Nairobi",
    "Canada": "Ottawa",
    "Brazil": "Brasilia",
    "India": "New Delhi",
    "Australia": "Canberra",
    "Austria": "Vienna",
    "Greece": "Athens",
    "China": "Beijing",
    "Poland": "Warsaw",
    "Portugal": "Lisbon",
}

CITIES = (
    "Tokyo", "Paris", "London", "Berlin", "Madrid", "Rome", "Cairo", "Lima", "Oslo", "Seoul",
    "Sydney", "Toronto", "Nairobi", "Vienna", "Athens", "Dublin", "Chicago", "Mumbai",
)  # fmt: skip

NAMES = (
    "Alice", "Bob", "Carol", "Dave", "Eve", "Frank", "Grace", "Heidi", "Ivan", "Judy",
    "Mallory", "Oscar", "Peggy", "Trent", "Victor", "Walter", "Zoe", "Liam", "Mia", "Noah",
    "Emma", "Lucas", "Olivia", "Hugo", "Nina", "Omar", "Priya", "Sofia", "Yuki", "Ken",
)  # fmt: skip

CONDITIONS = ("sunny", "cloudy", "rainy", "snowy", "windy", "foggy", "clear", "stormy")
TOOL_ERRORS = ("service unavailable", "timeout", "rate limited", "internal error")
INSTRUCTIONS = (
    "Answer briefly.",
    "Be concise and friendly.",
    "You are a helpful assistant.",
    "Always answer in English.",
    "Keep answers short.",
)
EFFORTS = ("low", "medium", "high")

WEATHER_TOOLS = (
    FunctionTool(
        "get_weather",
        "Gets the current weather in the provided location.",
        (Param("location", "The city name, e.g. Tokyo"),),
    ),
    FunctionTool("get_weather", "Get the weather for a city.", (Param("location"),)),
    FunctionTool(
        "get_weather",
        "Gets the current weather for a location.",
        (
            Param("location", "City name"),
            Param("unit", None, False, ("celsius", "fahrenheit"), "celsius"),
        ),
    ),
    FunctionTool("get_weather", "Look up the weather.", (Param("location", None, False),)),
)
OTHER_TOOLS = (
    FunctionTool("get_time", "Gets the current time.", has_params=False),
    FunctionTool(
        "search_docs", "Searches the user's documents.", (Param("query", "What to search for"),)
    ),
)


# ---- the answers (the tests and the README rely on these exact texts) -------------------


def capital_question(country: str) -> str:
    return f"What is the capital of {country}?"


def capital_final(country: str) -> str:
    return f"The capital of {country} is {CAPITALS[country]}."


def capital_analysis(country: str, effort: str) -> str:
    capital = CAPITALS[country]
    first = f"The user asks for the capital of {country}."
    if effort == "low":
        return first
    if effort == "medium":
        return f"{first} The capital of {country} is {capital}."
    return f"{first} {country} is a country. Its capital city is {capital}. I will answer in one sentence."


def greet_question(name: str) -> str:
    return f"Say hello to {name}."


def greet_final(name: str) -> str:
    return f"Hello, {name}!"


def greet_analysis(name: str, effort: str) -> str:
    first = f"The user wants me to greet {name}."
    if effort == "low":
        return first
    if effort == "medium":
        return f"{first} I will say hello to {name}."
    return f"{first} {name} is a name. A short and friendly greeting is best. I will say hello to {name}."


DATE_QUESTION = "What is the date today?"


def date_final(date: str | None) -> str:
    return f"Today is {date}." if date else "I do not know today's date."


def date_analysis(date: str | None, effort: str) -> str:
    first = "The user asks for the current date."
    if effort == "low":
        return first
    known = f"The current date is {date}." if date else "The system message gives no date."
    if effort == "medium":
        return f"{first} {known}"
    return f"{first} I should read the system message. {known} I will answer in one sentence."


def weather_question(city: str) -> str:
    return f"What is the weather in {city}?"


def weather_tool_analysis(city: str, effort: str) -> str:
    first = f"The user asks about the weather in {city}."
    if effort == "low":
        return first
    if effort == "medium":
        return f"{first} I will call get_weather."
    return f"{first} I cannot know the weather without a tool. The get_weather function can look it up. I will call get_weather."


def weather_no_tool_analysis(city: str, effort: str) -> str:
    first = f"The user asks about the weather in {city}."
    if effort == "low":
        return first
    if effort == "medium":
        return f"{first} I have no tool to check it."
    return f"{first} I have no tool to check the weather. I cannot look it up. I will say so."


def weather_no_tool_final(city: str) -> str:
    return f"Sorry, I cannot check the weather in {city}."


RETRY_ANALYSIS = "The tool returned an error. I will try again."


def weather_call_args(city: str) -> str:
    return json.dumps({"location": city})


def weather_result(temperature: int, condition: str) -> str:
    return json.dumps({"temperature": temperature, "condition": condition})


def weather_error(message: str) -> str:
    return json.dumps({"error": message})


def weather_final(city: str, temperature: int, condition: str) -> str:
    return f"It is {temperature}°C and {condition} in {city}."


# ---- conversations ----------------------------------------------------------------------

KINDS = ("capital", "greet", "date", "weather")


@dataclass
class Setting:
    effort: str
    date: str | None
    instructions: str | None
    tools: list[FunctionTool]

    @property
    def has_weather_tool(self) -> bool:
        return any(t.name == "get_weather" for t in self.tools)


def random_date(rng: random.Random) -> str:
    return f"{rng.randint(2024, 2026)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def random_setting(rng: random.Random) -> Setting:
    effort = rng.choice(EFFORTS)
    date = random_date(rng) if rng.random() < 0.85 else None
    dev = rng.random()
    instructions = rng.choice(INSTRUCTIONS) if dev < 0.35 else None
    tools: list[FunctionTool] = []
    if 0.2 <= dev < 0.75:
        tools = [rng.choice(WEATHER_TOOLS)]
        if rng.random() < 0.3:
            tools.insert(rng.randint(0, 1), rng.choice(OTHER_TOOLS))
    return Setting(effort, date, instructions, tools)


def render_preamble(conv: Conversation, s: Setting) -> None:
    conv.message("system", system_content(s.effort, s.date, bool(s.tools)))
    if s.instructions is not None or s.tools:
        conv.message("developer", developer_content(s.instructions, s.tools))


def _analysis(conv: Conversation, text: str) -> None:
    """Generated analysis right after the caller's `<|start|>assistant`."""
    conv.message("assistant", text, channel="analysis", weight=1.0, prompt_open=True)


def _final(conv: Conversation, text: str, last: bool, after_prompt: bool) -> None:
    if last:
        conv.message(
            "assistant",
            text,
            channel="final",
            end="<|return|>",
            weight=1.0,
            prompt_open=after_prompt,
        )
    else:
        conv.message("assistant", text, channel="final", weight=1.0, content_only=True)


def _call(conv: Conversation, city: str, weight: float) -> None:
    conv.message(
        "assistant",
        weather_call_args(city),
        channel="commentary",
        recipient="functions.get_weather",
        constrain_json=True,
        end="<|call|>",
        weight=weight,
    )


def tool_result(conv: Conversation, content: str, rng: random.Random) -> None:
    """A tool's answer; mostly with ' to=assistant' and the commentary channel, as the app
    renders it, sometimes bare as openai-harmony renders a tool message without them."""
    if rng.random() < 0.8:
        conv.message("functions.get_weather", content, channel="commentary", recipient="assistant")
    else:
        conv.message("functions.get_weather", content)


def render_turn(conv: Conversation, rng: random.Random, s: Setting, kind: str, last: bool) -> None:
    """One user turn and the assistant's answer.

    The last turn is rendered as the model generates it (analysis, then final or tool calls),
    with loss weight 1; an earlier turn as history (no analysis; only the final's content is
    trained, since its header and closing `<|end|>` differ from a generated final).
    """
    if kind == "weather" and s.has_weather_tool:
        _weather_tool_turn(conv, rng, s, last)
        return
    if kind == "capital":
        country = rng.choice(list(CAPITALS))
        question, analysis, answer = (
            capital_question(country),
            capital_analysis(country, s.effort),
            capital_final(country),
        )
    elif kind == "greet":
        name = rng.choice(NAMES)
        question, analysis, answer = (
            greet_question(name),
            greet_analysis(name, s.effort),
            greet_final(name),
        )
    elif kind == "date":
        question, analysis, answer = (
            DATE_QUESTION,
            date_analysis(s.date, s.effort),
            date_final(s.date),
        )
    elif kind == "weather":
        city = rng.choice(CITIES)
        question, analysis, answer = (
            weather_question(city),
            weather_no_tool_analysis(city, s.effort),
            weather_no_tool_final(city),
        )
    else:
        raise ValueError(kind)
    conv.message("user", question)
    if last:
        _analysis(conv, analysis)
    _final(conv, answer, last, after_prompt=False)


def _weather_tool_turn(conv: Conversation, rng: random.Random, s: Setting, last: bool) -> None:
    city = rng.choice(CITIES)
    conv.message("user", weather_question(city))
    errors = 0
    if last and rng.random() >= 0.55:
        errors = rng.randint(1, 6)
    w = 1.0 if last else 0.0
    for attempt in range(errors + 1):
        if last:
            _analysis(
                conv, weather_tool_analysis(city, s.effort) if attempt == 0 else RETRY_ANALYSIS
            )
        _call(conv, city, w)
        if attempt < errors:
            tool_result(conv, weather_error(rng.choice(TOOL_ERRORS)), rng)
    temperature, condition = rng.randint(-15, 40), rng.choice(CONDITIONS)
    tool_result(conv, weather_result(temperature, condition), rng)
    _final(conv, weather_final(city, temperature, condition), last, after_prompt=True)


def random_conversation(rng: random.Random, max_history: int = 9) -> Conversation:
    """One training conversation: preamble, 0..max_history earlier turns, a generated last turn."""
    s = random_setting(rng)
    conv = Conversation()
    render_preamble(conv, s)
    r = rng.random()
    n_history = 0 if r < 0.55 else rng.randint(1, 3) if r < 0.87 else rng.randint(4, max_history)
    for _ in range(n_history):
        render_turn(conv, rng, s, rng.choice(KINDS), last=False)
    render_turn(conv, rng, s, rng.choice(KINDS), last=True)
    return conv
