"""The training corpus of tiny-harmony is rendered exactly as the app renders Harmony.

The generator (tests/data/modelgen) has its own small renderer; these tests rebuild every
generated conversation with the app's Harmony model and renderer and compare the text. Equal
text means equal token ids, since both tokenize each run between two special tokens alone.
No torch and no llama.cpp needed.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from gptoss_desktop.core.harmony import (
    Author,
    DeveloperContent,
    Message,
    SystemContent,
    TextContent,
    ToolDescription,
)
from gptoss_desktop.core.harmony.conversation import DropPolicy
from gptoss_desktop.core.harmony.render import conversation_segments, segments_text
from tests.data.modelgen import corpus, probes
from tests.data.modelgen.bpe import doubling_merges, pretokenize
from tests.data.modelgen.harmony_text import Conversation, FunctionTool
from tests.helpers import HARMONY_KIT


def app_tool(tool: FunctionTool) -> ToolDescription:
    if not tool.has_params:
        return ToolDescription(tool.name, tool.description, None)
    props: dict[str, Any] = {}
    for p in tool.params:
        prop: dict[str, Any] = {"type": "string"}
        if p.description:
            prop["description"] = p.description
        if p.enum:
            prop["enum"] = list(p.enum)
        if p.default is not None:
            prop["default"] = p.default
        props[p.name] = prop
    schema = {
        "type": "object",
        "properties": props,
        "required": [p.name for p in tool.params if p.required],
    }
    return ToolDescription(tool.name, tool.description, schema)


class RecordingConversation(Conversation):
    """Builds the app's messages beside the pieces, one per `message()` call."""

    def __init__(self) -> None:
        super().__init__()
        self.setting: corpus.Setting | None = None
        self.app_messages: list[Message] = []

    def message(self, author: str, content: str, **kw: Any) -> None:
        super().message(author, content, **kw)
        s = self.setting
        assert s is not None
        if author == "system":
            sc = SystemContent(conversation_start_date=s.date).with_reasoning(s.effort)
            self.app_messages.append(Message.system(sc))
        elif author == "developer":
            dev = DeveloperContent.create(s.instructions, [app_tool(t) for t in s.tools])
            self.app_messages.append(Message.developer(dev))
        elif author.startswith("functions."):
            self.app_messages.append(
                Message(
                    Author.tool(author),
                    (TextContent(content),),
                    channel=kw.get("channel"),
                    recipient=kw.get("recipient"),
                )
            )
        else:
            ctype = "<|constrain|>json" if kw.get("constrain_json") else None
            self.app_messages.append(
                Message.from_role(
                    author,
                    content,
                    channel=kw.get("channel"),
                    recipient=kw.get("recipient"),
                    content_type=ctype,
                )
            )


@pytest.fixture
def recording(monkeypatch: pytest.MonkeyPatch) -> None:
    original = corpus.render_preamble

    def preamble(conv: Conversation, s: corpus.Setting) -> None:
        assert isinstance(conv, RecordingConversation)
        conv.setting = s
        original(conv, s)

    monkeypatch.setattr(corpus, "Conversation", RecordingConversation)
    monkeypatch.setattr(probes, "Conversation", RecordingConversation)
    monkeypatch.setattr(corpus, "render_preamble", preamble)
    monkeypatch.setattr(probes, "render_preamble", preamble)


@pytest.mark.usefixtures("recording")
def test_training_conversations_render_as_the_app_renders_them() -> None:
    rng = random.Random(99)
    kinds: set[str] = set()
    for _ in range(300):
        conv = corpus.random_conversation(rng)
        assert isinstance(conv, RecordingConversation)
        app = conversation_segments(
            conv.app_messages, drop_policy=DropPolicy.KEEP, for_training=True
        )
        assert segments_text(app) == conv.rendered()
        kinds.add(conv.rendered()[-40:])
    assert len(kinds) > 100  # the sample is varied, not one conversation 300 times


@pytest.mark.usefixtures("recording")
def test_probe_prompts_render_as_the_app_renders_them() -> None:
    from gptoss_desktop.core.harmony import Role

    for probe in probes.make_probes(7, 6) + probes.canonical_probes():
        conv = probe.prompt
        assert isinstance(conv, RecordingConversation)
        app = conversation_segments(
            conv.app_messages,
            drop_policy=DropPolicy.BEFORE_LAST_FINAL,
            next_turn_role=Role.ASSISTANT,
        )
        assert segments_text(app) == conv.rendered(), probe.pattern


def test_system_message_matches_the_conformance_kit() -> None:
    from tests.data.modelgen.harmony_text import system_content

    kit = HARMONY_KIT / "expected"
    if not kit.is_dir():
        pytest.skip("needs ../shared/reference/harmony beside the checkout")
    for effort in ("low", "medium", "high"):
        expected = (kit / f"test_simple_convo_{effort}_effort_no_instruction.txt").read_text()
        assert f"<|message|>{system_content(effort, None, False)}<|end|>" in expected
    expected = (kit / "test_render_functions_with_parameters.txt").read_text()
    assert system_content("high", "2025-06-28", True) in expected


def test_pretokenizer_and_long_token_merges() -> None:
    assert pretokenize("It is 17°C and cloudy in Tokyo.") == [
        "It", " is", " ", "17", "°C", " and", " cloudy", " in", " Tokyo", ".",
    ]  # fmt: skip
    assert pretokenize('{"location": "Tokyo"}') == ['{"', "location", '":', ' "', "Tokyo", '"}']
    merges = doubling_merges("=", 48)
    built = {"="}
    for a, b in merges:
        assert a in built and b in built
        built.add(a + b)
    assert "=" * 48 in built and len(merges) == 6
