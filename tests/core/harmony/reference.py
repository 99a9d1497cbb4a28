"""The reference library (openai-harmony) and the real o200k vocabulary, offline, for the tests.

openai-harmony downloads o200k_base at first use; with ``TIKTOKEN_ENCODINGS_BASE`` pointed at
../shared/reference/o200k it reads the file from there instead. The app's side of a comparison
tokenizes text with tiktoken over the same file (not llama.cpp, whose pre-tokenizer differs on
some scripts and would mask renderer bugs), through the app's own :class:`TiktokenVocabulary`.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import pytest

from gptoss_desktop.core.harmony.model import (
    DeveloperContent,
    Message,
    SystemContent,
    TextContent,
    ToolNamespace,
)
from tests.helpers import SHARED

O200K_DIR = SHARED / "reference" / "o200k"
O200K_FILE = O200K_DIR / "o200k_base.tiktoken"
O200K_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"


def o200k_or_skip() -> None:
    if not O200K_FILE.is_file():
        pytest.skip(
            "needs the o200k vocabulary at ../shared/reference/o200k/o200k_base.tiktoken "
            f"(absent: {O200K_FILE})"
        )


@cache
def o200k_ranked_bytes() -> list[bytes]:
    """o200k_base's 199,998 tokens, index = rank (read from the shared file, hash checked)."""
    from tiktoken.load import load_tiktoken_bpe

    ranks = load_tiktoken_bpe(str(O200K_FILE), expected_hash=O200K_SHA256)
    by_rank = {rank: data for data, rank in ranks.items()}
    return [by_rank[i] for i in range(len(by_rank))]


@cache
def tiktoken_vocab() -> Any:
    from gptoss_desktop.core.harmony.o200k import TiktokenVocabulary, build_encoding

    return TiktokenVocabulary(build_encoding(o200k_ranked_bytes()))


@cache
def harmony_encoding() -> Any:
    """openai-harmony's HARMONY_GPT_OSS encoding, loaded from the shared file (no network)."""
    openai_harmony = pytest.importorskip(
        "openai_harmony", reason="openai-harmony (dev extra) is not installed"
    )
    os.environ["TIKTOKEN_ENCODINGS_BASE"] = str(O200K_DIR)
    return openai_harmony.load_harmony_encoding(openai_harmony.HarmonyEncodingName.HARMONY_GPT_OSS)


# --- the app's messages as the reference's -------------------------------------------------


def _namespaces(tools: Any) -> dict[str, Any] | None:
    import openai_harmony as h

    if tools is None:
        return None
    out = {}
    for key, ns in tools.items():
        assert isinstance(ns, ToolNamespace)
        out[key] = h.ToolNamespaceConfig(
            name=ns.name,
            description=ns.description,
            tools=[
                h.ToolDescription(name=t.name, description=t.description, parameters=t.parameters)
                for t in ns.tools
            ],
        )
    return out


def to_reference(message: Message) -> Any:
    import openai_harmony as h

    contents: list[Any] = []
    for c in message.content:
        if isinstance(c, TextContent):
            contents.append(h.TextContent(text=c.text))
        elif isinstance(c, SystemContent):
            contents.append(
                h.SystemContent(
                    model_identity=c.model_identity,
                    reasoning_effort=(
                        None
                        if c.reasoning_effort is None
                        else h.ReasoningEffort(c.reasoning_effort.value.capitalize())
                    ),
                    conversation_start_date=c.conversation_start_date,
                    knowledge_cutoff=c.knowledge_cutoff,
                    channel_config=(
                        None
                        if c.channel_config is None
                        else h.ChannelConfig(
                            valid_channels=list(c.channel_config.valid_channels),
                            channel_required=c.channel_config.channel_required,
                        )
                    ),
                    tools=_namespaces(c.tools),
                )
            )
        elif isinstance(c, DeveloperContent):
            contents.append(
                h.DeveloperContent(instructions=c.instructions, tools=_namespaces(c.tools))
            )
        else:  # pragma: no cover
            raise TypeError(c)
    return h.Message(
        author=h.Author(role=h.Role(message.author.role.value), name=message.author.name),
        content=contents,
        channel=message.channel,
        recipient=message.recipient,
        content_type=message.content_type,
    )


def reference_conversation(messages: list[Message]) -> Any:
    import openai_harmony as h

    return h.Conversation.from_messages([to_reference(m) for m in messages])
