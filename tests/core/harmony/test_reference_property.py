"""The app's Harmony renderer against the reference library, token for token, on generated
conversations.

Every conversation is rendered by openai-harmony 0.0.8 (the Rust reference, loaded offline
from ../shared/reference/o200k) and by the app, and the token ids must be identical. Both sides
tokenize text with the real o200k vocabulary (tiktoken), never with llama.cpp.

Like is compared with like where the app differs from the reference on purpose: the app's
default history rule (``DropPolicy.BEFORE_LAST_FINAL``) drops analysis the reference keeps
(docs/HARMONY.md). So each conversation is compared three ways:

* ``reference``: the app's ``DropPolicy.REFERENCE`` against the reference's
  ``auto_drop_analysis=True`` (its own rule, quirk included);
* ``keep``: ``DropPolicy.KEEP`` against ``auto_drop_analysis=False``;
* ``app``: the app's default rule; the reference renders the messages the app keeps
  (``kept_indices``) with dropping off. The rendering is compared, not the dropping rule.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from gptoss_desktop.core.harmony.conversation import DropPolicy, kept_indices
from gptoss_desktop.core.harmony.model import (
    Author,
    ChannelConfig,
    DeveloperContent,
    Message,
    ReasoningEffort,
    Role,
    SystemContent,
    TextContent,
    ToolDescription,
    ToolNamespace,
)
from gptoss_desktop.core.harmony.render import conversation_segments, segments_tokens
from tests.core.harmony import kit, reference

N_CONVERSATIONS = 320
SEED = 20261206

pytest.importorskip("tiktoken", reason="tiktoken is not installed")
pytest.importorskip("openai_harmony", reason="openai-harmony (dev extra) is not installed")

# --- text ---------------------------------------------------------------------------------

WORDS = [
    "the", "weather", "Tokyo", "today", "is", "it", "don't", "I'll", "HELLO", "x", "42",
    "1234567", "3.14159", "naïve", "café", "Straße", "Привет", "мир", "Γειά", "σου",
    "مَرْحَبًا", "שָׁלוֹם", "नमस्ते", "मस्त", "হ্যালো", "வணக்கம்", "สวัสดี", "你好", "世界",
    "안녕하세요", "こんにちは", "カタカナ", "😀", "👩‍💻", "🇯🇵", "def", "f(x)", "{}", "[1, 2]",
    '"quoted"', "a\\b", "tab\there", "<|start|>", "<|end|>", "<|message|>", "<|channel|>",
    "<|constrain|>", "<|return|>", "<|call|>", "<|endoftext|>", "<|reserved_200100|>",
    "<|", "|>", "functions.get", "to=functions.x", "analysis", "final",
]  # fmt: skip
SEPARATORS = [" ", " ", " ", "  ", "\n", "\n\n", "\t", "    ", " \n ", "\r\n", ", ", ". ", ""]


def text(rng: random.Random, lo: int = 1, hi: int = 12) -> str:
    out = []
    for _ in range(rng.randint(lo, hi)):
        out.append(rng.choice(WORDS))
        out.append(rng.choice(SEPARATORS))
    if rng.random() < 0.1:
        out.append(" " * rng.randint(2, 40))  # long runs of spaces, as in code
    if rng.random() < 0.1:
        out.insert(0, rng.choice([" ", "\n", "  "]))
    return "".join(out)


def line(rng: random.Random) -> str:
    """One-line text (descriptions, titles): the reference writes them as they are."""
    return text(rng, 1, 6).replace("\n", " ").replace("\r", " ").strip() or "x"


def ident(rng: random.Random) -> str:
    stem = rng.choice(["get", "set", "lookup", "search", "run", "make", "fetch", "do"])
    tail = rng.choice(["weather", "user", "doc", "file", "items", "x", "time_zone", "Value"])
    return f"{stem}_{tail}{rng.randint(0, 99) if rng.random() < 0.3 else ''}"


# --- values and schemas ------------------------------------------------------------------

FLOATS = [
    1e-7, 1e20, 1e-5, 0.1, -0.0, 0.0, 1.0, 1.5, -2.25, 1e-4, 1e15, 1e16, 1e21, 1.5e20,
    123456789.125, 2.5e-8, 6.02214076e23, -1e-9, 100.0, 1e100, 1e300, 9007199254740992.0,
    4503599627370497.5, 1.2345678901234567e-10,
]  # fmt: skip


def serde_reads_exactly(value: float) -> bool:
    """True when serde_json (the reference's JSON reader, built without ``float_roundtrip``)
    reads Python's text of ``value`` back as the same float.

    serde_json computes ``significand as f64`` times or divided by a power of ten: exact (one
    rounding) when the significand has at most 53 bits and the power is at most 10**22, or the
    significand is 1 and the power positive. Other texts may come back one ULP off, which
    changes the digits the reference then writes: an artefact of the reference's Python-to-Rust
    bridge, not of its renderer, so the generator sticks to floats that cross it unchanged.
    """
    mantissa, _, exp_text = repr(abs(value)).partition("e")
    whole, _, frac = mantissa.partition(".")
    significand = int(whole + frac)
    exponent = (int(exp_text) if exp_text else 0) - len(frac)
    if significand == 0:
        return True
    if significand == 1 and exponent >= 0:
        return True
    return significand < 2**53 and abs(exponent) <= 22


INTS = [
    0, 1, -1, 7, 10, 255, 65536, 2**31, 2**53 + 1, 2**63 - 1, 2**63, 2**64 - 1, 2**64,
    -(2**63), -(2**63) - 1, 10**30, -(10**25),
]  # fmt: skip


def scalar_value(rng: random.Random) -> Any:
    kind = rng.random()
    if kind < 0.3:
        return rng.choice(FLOATS)
    if kind < 0.4:
        # random floats of many magnitudes, up to 17 significant digits
        while True:
            value = rng.uniform(-1, 1) * 10 ** rng.randint(-12, 25)
            if serde_reads_exactly(value):
                return value
    if kind < 0.55:
        return rng.choice(INTS)
    if kind < 0.75:
        return line(rng) if rng.random() < 0.7 else rng.choice(["", 'a "b" c', "x\\y", "é"])
    if kind < 0.9:
        return rng.random() < 0.5
    return None


def json_value(rng: random.Random, depth: int = 0) -> Any:
    r = rng.random()
    if depth < 2 and r < 0.15:
        return [json_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if depth < 2 and r < 0.3:
        return {ident(rng): json_value(rng, depth + 1) for _ in range(rng.randint(0, 3))}
    return scalar_value(rng)


def maybe_annotate(rng: random.Random, schema: dict[str, Any]) -> dict[str, Any]:
    if rng.random() < 0.4:
        # descriptions are written as they are, line breaks included
        schema["description"] = line(rng) if rng.random() < 0.9 else line(rng) + "\n" + line(rng)
    if rng.random() < 0.1:
        schema["title"] = line(rng)
    if rng.random() < 0.1:
        schema["examples"] = [line(rng) for _ in range(rng.randint(1, 2))] + (
            [3] if rng.random() < 0.3 else []
        )
    if rng.random() < 0.15:
        schema["nullable"] = rng.random() < 0.8
    return schema


def enum_values(rng: random.Random) -> list[Any]:
    values: list[Any] = rng.sample(["celsius", "fahrenheit", "kelvin", "a b", "é", 'x"y'], 3)
    if rng.random() < 0.2:
        values.append(5)
    return values


def schema(rng: random.Random, depth: int = 0) -> dict[str, Any]:
    choices = ["string", "number", "integer", "boolean", "enum", "type_list", "null", "any"]
    choices += ["int_enum", "empty_enum", "bare_object", "odd"]
    if depth < 3:
        choices += ["array", "object", "object", "oneOf", "anyOf", "array_oneOf"]
    kind = rng.choice(choices)
    s: dict[str, Any]
    if kind == "enum":
        values = enum_values(rng)
        s = {"type": "string", "enum": values}
        if rng.random() < 0.6:
            s["default"] = rng.choice([v for v in values if isinstance(v, str)])
    elif kind == "int_enum":  # an enum that is not of strings: defaults are JSON
        s = {"type": "integer", "enum": [1, 2, 3], "default": rng.choice([1, 2, 3])}
    elif kind == "empty_enum":  # an empty enum is no enum: a string default keeps its quotes
        s = {"type": "string", "enum": [], "default": line(rng)}
    elif kind == "bare_object":
        s = {"type": "object"}
    elif kind == "odd":  # values where a schema is expected, unknown types
        s = rng.choice([{"type": "tuple"}, {"type": []}, {"type": "array", "items": True}])
    elif kind in ("string", "number", "integer", "boolean"):
        s = {"type": kind}
    elif kind == "type_list":
        s = {"type": rng.sample(["string", "integer", "number", "null", "boolean"], 2)}
    elif kind == "null":
        s = {"type": "null"}
    elif kind == "any":
        s = {} if rng.random() < 0.5 else {"description": line(rng)}
    elif kind == "array":
        s = {"type": "array"}
        if rng.random() < 0.85:
            s["items"] = schema(rng, depth + 1)
    elif kind == "array_oneOf":
        # an enum default inside oneOf array items keeps its quotes in the reference
        s = {
            "type": "array",
            "items": {"oneOf": [variant(rng, depth + 1) for _ in range(rng.randint(1, 3))]},
        }
    elif kind == "object":
        s = object_schema(rng, depth + 1)
    elif kind == "oneOf":
        s = {"oneOf": [variant(rng, depth + 1) for _ in range(rng.randint(1, 3))]}
        if rng.random() < 0.3:
            s["type"] = "object"
    else:
        s = {"anyOf": [schema(rng, depth + 1) for _ in range(2)]}
    if "default" not in s and rng.random() < 0.35:
        s["default"] = json_value(rng)
    return maybe_annotate(rng, s)


def variant(rng: random.Random, depth: int) -> dict[str, Any]:
    v = schema(rng, depth)
    if rng.random() < 0.3 and "description" not in v:
        v["description"] = line(rng)
    return v


def object_schema(rng: random.Random, depth: int = 0) -> dict[str, Any]:
    keys = [ident(rng) + str(i) for i in range(rng.randint(0, 5))]
    if keys and rng.random() < 0.1:
        keys[0] = rng.choice(["with space", "ключ", "$ref", "a-b", "日本"])
    props = {key: schema(rng, depth) for key in keys}
    s: dict[str, Any] = {"type": "object", "properties": props}
    if props and rng.random() < 0.7:
        s["required"] = rng.sample(list(props), rng.randint(0, len(props))) + (
            ["not_a_property"] if rng.random() < 0.1 else []
        )
    if rng.random() < 0.2:
        s["description"] = line(rng)
    if rng.random() < 0.05:
        s["additionalProperties"] = False
    return s


def tool(rng: random.Random) -> ToolDescription:
    r = rng.random()
    params: dict[str, Any] | None
    if r < 0.1:
        params = None
    elif r < 0.15:
        params = {"type": "object", "properties": {}}
    else:
        params = object_schema(rng)
    # through JSON and back, as the app stores tools (the key order stays)
    if params is not None and rng.random() < 0.5:
        params = json.loads(json.dumps(params))
    description = rng.choice(
        [
            "",
            line(rng),
            line(rng) + "\n" + line(rng),
            line(rng) + "\n",
            line(rng) + "\r\n" + line(rng),
        ]
    )
    return ToolDescription(ident(rng), description, params)


# --- conversations -----------------------------------------------------------------------


def builtin_namespaces(rng: random.Random) -> list[ToolNamespace]:
    found = []
    builtin = (kit.load_kit() or {}).get("builtin_tool_namespaces") or {}
    for name in sorted(builtin):
        if rng.random() < 0.3:
            ns = builtin[name]
            found.append(
                ToolNamespace(
                    ns["name"],
                    ns["description"],
                    tuple(
                        ToolDescription(t["name"], t["description"], t["parameters"])
                        for t in ns["tools"]
                    ),
                )
            )
    if rng.random() < 0.15:
        found.append(
            ToolNamespace(
                "custom_" + ident(rng),
                rng.choice([None, line(rng), line(rng) + "\n" + line(rng)]),
                tuple(tool(rng) for _ in range(rng.randint(0, 2))),
            )
        )
    return found


def system_message(rng: random.Random) -> Message:
    content = SystemContent(
        model_identity=rng.choice(
            [SystemContent().model_identity, SystemContent().model_identity, None, line(rng)]
        ),
        reasoning_effort=rng.choice([*ReasoningEffort, ReasoningEffort.MEDIUM, None]),
        conversation_start_date=rng.choice([None, "2025-06-28", "2026-12-06"]),
        knowledge_cutoff=rng.choice(["2024-06", "2024-06", None]),
        channel_config=rng.choice(
            [
                ChannelConfig(),
                ChannelConfig(),
                None,
                ChannelConfig(("analysis", "final"), rng.random() < 0.5),
            ]
        ),
    )
    namespaces = builtin_namespaces(rng)
    if namespaces:
        content = content.with_tools(*namespaces)
    return Message.system(content)


def developer_message(rng: random.Random, functions: list[ToolDescription]) -> Message | None:
    instructions = rng.choice([None, line(rng), text(rng, 3, 20)])
    if instructions is None and not functions and rng.random() < 0.5:
        return None
    content = DeveloperContent.create(instructions, functions)
    if not functions and rng.random() < 0.1:  # an empty functions namespace: no function tools
        empty = ToolNamespace("functions", rng.choice([None, line(rng)]), ())
        content = DeveloperContent(content.instructions, {"functions": empty})
    if rng.random() < 0.1:  # an extra namespace in the developer message
        content = DeveloperContent(
            content.instructions,
            {**(content.tools or {}), "extra": ToolNamespace("extra", line(rng), (tool(rng),))},
        )
    return Message.developer(content)


def tool_call(rng: random.Random, fn: ToolDescription) -> list[Message]:
    args = json.dumps(
        {k: json_value(rng) for k in ((fn.parameters or {}).get("properties") or {})},
        ensure_ascii=rng.random() < 0.5,
    )
    recipient = f"functions.{fn.name}"
    call = Message.assistant(
        args, "commentary", recipient, rng.choice(["<|constrain|>json", "json", None])
    )
    result_text = rng.choice([json.dumps({"result": text(rng, 1, 5)}), text(rng), ""])
    if rng.random() < 0.2:
        result = Message(Author.tool(recipient), (TextContent(result_text),))
    else:
        result = Message.tool_result(recipient, result_text)
    return [call, result]


def conversation(rng: random.Random) -> list[Message]:
    functions = [tool(rng) for _ in range(rng.choice([0, 0, 1, 2, 3, 5]))]
    messages: list[Message] = []
    if rng.random() < 0.9:
        messages.append(system_message(rng))
    developer = developer_message(rng, functions)
    if developer is not None:
        messages.append(developer)
    for _turn in range(rng.randint(1, 4)):
        messages.append(
            Message.user(text(rng))
            if rng.random() < 0.95
            else Message(Author(Role.USER, "alice"), (TextContent(text(rng)),))
        )
        for _step in range(rng.randint(0, 3)):
            if rng.random() < 0.7:
                messages.append(Message.assistant(text(rng, 2, 25), "analysis"))
            if rng.random() < 0.1:  # a preamble to the user, or a message to all
                recipient = rng.choice([None, "all"])
                messages.append(Message.assistant(text(rng), "commentary", recipient))
            if functions and rng.random() < 0.6:
                messages += tool_call(rng, rng.choice(functions))
        if rng.random() < 0.85:
            messages.append(Message.assistant(text(rng, 1, 20), "final"))
    if rng.random() < 0.1:  # a turn cut short: analysis after the last final
        messages.append(Message.assistant(text(rng), "analysis"))
    return messages


# --- the comparison ----------------------------------------------------------------------

CONVERSATIONS = [conversation(random.Random(SEED + i)) for i in range(N_CONVERSATIONS)]


def explain(app: list[int], ref: list[int]) -> str:
    vocab = reference.tiktoken_vocab()
    i = next((k for k, (a, b) in enumerate(zip(app, ref, strict=False)) if a != b), None)
    i = min(len(app), len(ref)) if i is None else i

    def show(ids: list[int]) -> str:
        return b"".join(vocab.token_bytes(t) for t in ids).decode("utf-8", "replace")

    return (
        f"first difference at token {i} of {len(app)} (app) / {len(ref)} (reference)\n"
        f"  before: {show(app[max(0, i - 40) : i])!r}\n"
        f"  app:    {show(app[i : i + 30])!r}\n"
        f"  ref:    {show(ref[i : i + 30])!r}"
    )


@pytest.fixture(scope="module")
def ref() -> Any:
    reference.o200k_or_skip()
    return reference.harmony_encoding()


@pytest.mark.parametrize("mode", ["reference", "keep", "app"])
def test_generated_conversations_render_like_the_reference(ref: Any, mode: str) -> None:
    import openai_harmony as h

    vocab = reference.tiktoken_vocab()
    compared = 0
    for n, messages in enumerate(CONVERSATIONS):
        rng = random.Random(SEED * 7 + n)
        kind = rng.choice(["completion", "completion", "completion", "plain", "training"])
        if mode == "reference":
            app_policy, ref_messages, auto_drop = DropPolicy.REFERENCE, messages, True
        elif mode == "keep":
            app_policy, ref_messages, auto_drop = DropPolicy.KEEP, messages, False
        else:
            app_policy = DropPolicy.BEFORE_LAST_FINAL
            ref_messages = [messages[i] for i in kept_indices(messages, app_policy)]
            auto_drop = False
        config = h.RenderConversationConfig(auto_drop_analysis=auto_drop)
        convo = reference.reference_conversation(ref_messages)
        if kind == "completion":
            expected = ref.render_conversation_for_completion(convo, h.Role.ASSISTANT, config)
        elif kind == "training":
            expected = ref.render_conversation_for_training(convo, config)
        else:
            expected = ref.render_conversation(convo, config)
        segments = conversation_segments(
            messages,
            drop_policy=app_policy,
            next_turn_role=Role.ASSISTANT if kind == "completion" else None,
            for_training=kind == "training",
        )
        got = segments_tokens(segments, vocab)
        assert got == list(expected), f"conversation {n} ({kind}, {mode}): " + explain(
            got, list(expected)
        )
        compared += 1
    assert compared == N_CONVERSATIONS >= 300


def test_the_generator_covers_what_it_claims() -> None:
    """The generated set holds every feature the comparison is meant to exercise."""
    flat = json.dumps(
        [
            [
                c.tools and {k: [t.parameters for t in ns.tools] for k, ns in c.tools.items()}
                for m in msgs
                for c in m.content
                if isinstance(c, DeveloperContent | SystemContent)
            ]
            for msgs in CONVERSATIONS
        ]
    )
    for needle in ('"oneOf"', '"anyOf"', '"enum"', '"nullable"', '"items"', '"required"',
                   "1e-07", "1e+20", "1e-05", "-0.0", "18446744073709551616", '"default": null',
                   '"default": true', '"default": {', '"default": [', '"title"', '"examples"'):  # fmt: skip
        assert needle in flat, needle
    assert any(m.is_tool_call for msgs in CONVERSATIONS for m in msgs)
    assert any(
        isinstance(c, DeveloperContent) and c.tools and "functions" in c.tools and not c.functions
        for msgs in CONVERSATIONS
        for m in msgs
        for c in m.content
    )
    assert any(m.role is Role.TOOL for msgs in CONVERSATIONS for m in msgs)
    efforts = {
        c.reasoning_effort
        for msgs in CONVERSATIONS
        for m in msgs
        for c in m.content
        if isinstance(c, SystemContent)
    }
    assert efforts == {*ReasoningEffort, None}
    # the conversations where the app's default history rule and the reference's differ
    differ = sum(
        kept_indices(m, DropPolicy.BEFORE_LAST_FINAL) != kept_indices(m, DropPolicy.REFERENCE)
        for m in CONVERSATIONS
    )
    assert differ >= 20
