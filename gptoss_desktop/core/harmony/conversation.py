"""History rules: which messages of a conversation the model sees again.

gpt-oss is trained to see its chain of thought (the ``analysis`` channel) only for the turn
in progress. Once a turn ends in a final answer, that turn's analysis leaves the history; while
the model is in a tool loop (call, result, call...), its analysis stays so it can continue.

The reference library (openai-harmony 0.0.8) implements this partly: it drops analysis only
when the last assistant message is a final answer, and then only the analysis before the
*first* final answer of the whole conversation, so from the second turn on old analysis
piles up. :attr:`DropPolicy.REFERENCE` reproduces that for conformance tests;
:attr:`DropPolicy.BEFORE_LAST_FINAL` (the default) is the rule as intended.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

from gptoss_desktop.core.harmony.model import Message, Role

ANALYSIS = "analysis"
FINAL = "final"


class DropPolicy(enum.StrEnum):
    #: Keep every message (the reference's ``auto_drop_analysis=False``).
    KEEP = "keep"
    #: The reference library's rule, quirk included (``auto_drop_analysis=True``).
    REFERENCE = "reference"
    #: Drop every analysis message that comes before the last final answer; keep the
    #: analysis after it (an ongoing tool loop, or a turn cut short).
    BEFORE_LAST_FINAL = "before_last_final"


def kept_indices(messages: Sequence[Message], policy: DropPolicy) -> list[int]:
    """Indices of the messages that stay in the rendered history, in order."""
    policy = DropPolicy(policy)
    if policy is DropPolicy.KEEP:
        return list(range(len(messages)))
    if policy is DropPolicy.REFERENCE:
        return _reference_kept(messages)
    last_final = last_final_answer_index(messages)
    if last_final is None:
        return list(range(len(messages)))
    return [i for i, m in enumerate(messages) if not (i < last_final and m.channel == ANALYSIS)]


def last_final_answer_index(messages: Sequence[Message]) -> int | None:
    for i in range(len(messages) - 1, -1, -1):
        m = messages[i]
        if m.author.role is Role.ASSISTANT and m.channel == FINAL:
            return i
    return None


def _reference_kept(messages: Sequence[Message]) -> list[int]:
    last_assistant_final = False
    for m in reversed(messages):
        if m.author.role is Role.ASSISTANT:
            last_assistant_final = m.channel == FINAL
            break
    first_final = next((i for i, m in enumerate(messages) if m.channel == FINAL), None)
    if not last_assistant_final or first_final is None:
        return list(range(len(messages)))
    return [i for i, m in enumerate(messages) if not (i < first_final and m.channel == ANALYSIS)]
