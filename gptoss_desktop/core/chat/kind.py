"""What a loaded model speaks: Harmony, its own chat template, or plain completion.

One rule for every front end, the same as the GGUF header check
(:data:`~gptoss_desktop.core.library.gguf_info.HARMONY_TOKENS`): a model speaks Harmony when its
vocabulary holds all six Harmony control tokens (``<|start|>``, ``<|end|>``, ``<|message|>``,
``<|channel|>``, ``<|return|>``, ``<|call|>``). A model without them that carries a chat template
talks through that template; one without either continues plain text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Protocol

from gptoss_desktop.core.library.gguf_info import HARMONY_TOKENS

ModelKind = Literal["harmony", "template", "completion"]


class SpecialTokenSource(Protocol):
    def special_tokens(self) -> dict[str, Any]: ...


def speaks_harmony(special: Mapping[str, Any]) -> bool:
    """True when ``special`` (an engine's ``special_tokens()``) holds every Harmony token."""
    by_text = special.get("by_text") or {}
    return all(token in by_text for token in HARMONY_TOKENS)


def model_kind(special: Mapping[str, Any], chat_template: str | None) -> ModelKind:
    """The one detection rule: Harmony, else the model's chat template, else completion."""
    if speaks_harmony(special):
        return "harmony"
    if (chat_template or "").strip():
        return "template"
    return "completion"


def is_harmony_model(engine: SpecialTokenSource) -> bool:
    return speaks_harmony(engine.special_tokens())
