"""Turn a plain-text conversation into prompt token ids for a non-Harmony model.

Three formats, chosen from what the model file offers:

- ``template``: the chat template in its GGUF (rendered in the sandbox, :mod:`.templates`);
- ``chatml``: no template, but the vocabulary has ``<|im_start|>`` and ``<|im_end|>``;
- ``completion``: no chat ability at all (story models): the text alone, continued.

Tokenization keeps message text from becoming control tokens. The rendered prompt is
tokenized in one call with special-token parsing on (exactly what llama.cpp would do with
the template) only when no special-token literal overlaps any message text; otherwise the
markup is tokenized with parsing on and each message text as plain text, cut so that no
literal reaches the tokenizer whole (llama.cpp matches user-defined tokens even in plain
text). Either way the result is checked: the number of control ids must equal the number of
special-token literals in the template's markup.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from gptoss_desktop.core.engine.options import ModelInfo
from gptoss_desktop.core.errors import ChatTemplateError
from gptoss_desktop.core.templating.reasoning import opens_reasoning
from gptoss_desktop.core.templating.sandbox import TemplateLimits
from gptoss_desktop.core.templating.templates import (
    CHATML_TEMPLATE,
    ChatMessage,
    ChatTemplate,
    PromptPart,
    RenderedPrompt,
)

# End-of-turn markers of common templates; each becomes a stop token (or a stop string when
# the vocabulary has no single token for it) when the template writes it.
END_MARKERS: tuple[str, ...] = (
    "<|im_end|>",
    "<|eot_id|>",
    "<|eom_id|>",
    "<end_of_turn>",
    "<|end|>",
    "<|endoftext|>",
    "<|end_of_text|>",
    "</s>",
    "<|END_OF_TURN_TOKEN|>",
    "<｜end▁of▁sentence｜>",
)
CHATML_TOKENS = ("<|im_start|>", "<|im_end|>")


class PromptFormat(enum.StrEnum):
    TEMPLATE = "template"
    CHATML = "chatml"
    COMPLETION = "completion"


class Vocabulary(Protocol):
    """What prompt building needs from a loaded model (an ``EngineClient`` has it all)."""

    info: ModelInfo | None

    def tokenize(self, text: str, *, special: bool = False, add_bos: bool = False) -> list[int]: ...

    def token_pieces(self, tokens: list[int]) -> list[bytes]: ...

    def special_tokens(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class PreparedPrompt:
    tokens: list[int]
    text: str
    stop_tokens: list[int]
    stop_strings: list[str]
    #: the prompt ends inside a reasoning section (the template opened ``<think>``)
    opens_reasoning: bool
    #: the prompt was cut and tokenized piecewise because message text held a literal
    split_tokenized: bool = False
    parts: tuple[PromptPart, ...] = field(default=())


class PromptBuilder:
    """Knows one model's chat format, its stops and how to tokenize safely."""

    def __init__(
        self,
        vocab: Vocabulary,
        *,
        template_override: str | None = None,
        limits: TemplateLimits | None = None,
    ) -> None:
        info = vocab.info
        if info is None:
            raise ChatTemplateError("No model is loaded in this worker; load a model first")
        self._vocab = vocab
        self._info = info
        specials = vocab.special_tokens()
        by_text: dict[str, int] = {str(k): int(v) for k, v in specials.get("by_text", {}).items()}
        self._literals: dict[str, int] = {k: v for k, v in by_text.items() if k}
        self._control_ids = frozenset(int(t) for t in specials.get("control", [])) | frozenset(
            self._literals.values()
        )
        source = template_override if template_override is not None else info.chat_template
        self.template: ChatTemplate | None = None
        if source and source.strip():
            self.format = PromptFormat.TEMPLATE
        elif all(t in self._literals for t in CHATML_TOKENS):
            self.format, source = PromptFormat.CHATML, CHATML_TEMPLATE
        else:
            self.format = PromptFormat.COMPLETION
        self._bos_text = self._piece(info.bos)
        if source and self.format is not PromptFormat.COMPLETION:
            self.template = ChatTemplate(
                source, bos_token=self._bos_text, eos_token=self._piece(info.eos), limits=limits
            )
        self.stop_tokens, self.stop_strings = self._stops(source or "", specials)
        # The model's own marker tokens (``<|end_story|>``...): never shown as answer text.
        self.marker_literals: tuple[str, ...] = tuple(
            sorted(
                (k for k in self._literals if k.startswith("<|") and k.endswith("|>")),
                key=len,
                reverse=True,
            )
        )

    # --- public -------------------------------------------------------------------------------
    def build(self, messages: Sequence[ChatMessage]) -> PreparedPrompt:
        """Prompt ids for ``messages``, ready for the model to write the next assistant turn."""
        if self.template is None:
            text = "\n\n".join(m.content for m in messages if m.role != "system" and m.content)
            parts: tuple[PromptPart, ...] = (PromptPart(text, False),) if text else ()
            rendered = RenderedPrompt(parts)
        else:
            rendered = self._render(messages)
        tokens, split = self._tokenize(rendered)
        return PreparedPrompt(
            tokens=tokens,
            text=rendered.text,
            stop_tokens=list(self.stop_tokens),
            stop_strings=list(self.stop_strings),
            opens_reasoning=opens_reasoning(rendered.markup) if self.template else False,
            split_tokenized=split,
            parts=rendered.parts,
        )

    def control_ids(self) -> frozenset[int]:
        return self._control_ids

    # --- rendering ------------------------------------------------------------------------------
    def _render(self, messages: Sequence[ChatMessage]) -> RenderedPrompt:
        assert self.template is not None
        try:
            return self.template.render(messages)
        except ChatTemplateError:
            # Many templates (Gemma, older Mistral) refuse a system role: fold it into the
            # first user message, as those models expect, and try once more.
            if not messages or messages[0].role != "system" or len(messages) < 2:
                raise
            system, first, *rest = messages
            if first.role != "user":
                raise
            merged = ChatMessage("user", f"{system.content}\n\n{first.content}")
            return self.template.render([merged, *rest])

    # --- tokenization ---------------------------------------------------------------------------
    def _tokenize(self, rendered: RenderedPrompt) -> tuple[list[int], bool]:
        markup_literals = self._count_literals(rendered)
        bos = self._bos_prefix(rendered)
        if not self._literal_touches_text(rendered):
            tokens = self._vocab.tokenize(rendered.text, special=True, add_bos=False)
            if self._count_control(tokens) == markup_literals:
                return bos + tokens, False
        tokens = []
        for part in rendered.parts:
            if part.is_markup:
                tokens += self._vocab.tokenize(part.text, special=True, add_bos=False)
                continue
            text_tokens = self._plain_tokens(part.text)
            if self._count_control(text_tokens):
                raise ChatTemplateError(
                    "Message text could not be tokenized without turning it into control "
                    "tokens; this model's vocabulary is not supported"
                )
            tokens += text_tokens
        return bos + tokens, True

    def _plain_tokens(self, text: str) -> list[int]:
        """Tokens of message text with no control id: literals are cut before tokenizing."""
        cuts = sorted(
            {
                at + 1
                for literal in self._literals
                for at in _find_all(text, literal)
                if len(literal) > 1
            }
        )
        tokens: list[int] = []
        start = 0
        for cut in [*cuts, len(text)]:
            if cut > start:
                tokens += self._vocab.tokenize(text[start:cut], special=False, add_bos=False)
            start = cut
        return tokens

    def _literal_touches_text(self, rendered: RenderedPrompt) -> bool:
        text = rendered.text
        spans: list[tuple[int, int]] = []
        pos = 0
        for part in rendered.parts:
            if not part.is_markup:
                spans.append((pos, pos + len(part.text)))
            pos += len(part.text)
        for literal in self._literals:
            for at in _find_all(text, literal):
                end = at + len(literal)
                if any(at < s_end and s_start < end for s_start, s_end in spans):
                    return True
        return False

    def _count_literals(self, rendered: RenderedPrompt) -> int:
        """Special-token literals the template itself wrote (each becomes one control id)."""
        count = 0
        for part in rendered.parts:
            if part.is_markup:
                count += len(self._vocab_specials_in(part.text))
        return count

    def _vocab_specials_in(self, text: str) -> list[int]:
        # Leftmost-longest matching, as llama.cpp's special-token partitioning does.
        found: list[int] = []
        ordered = sorted(self._literals, key=len, reverse=True)
        pos = 0
        while pos < len(text):
            for literal in ordered:
                if text.startswith(literal, pos):
                    found.append(self._literals[literal])
                    pos += len(literal)
                    break
            else:
                next_hits = [text.find(lit, pos) for lit in ordered]
                hits = [h for h in next_hits if h >= 0]
                if not hits:
                    break
                pos = min(hits)
        return found

    def _count_control(self, tokens: Sequence[int]) -> int:
        return sum(1 for t in tokens if t in self._control_ids)

    def _bos_prefix(self, rendered: RenderedPrompt) -> list[int]:
        bos = self._info.bos
        if not self._info.add_bos or bos is None:
            return []
        if self._bos_text and rendered.text.startswith(self._bos_text):
            return []  # the template wrote BOS itself
        return [bos]

    # --- stops ------------------------------------------------------------------------------------
    def _stops(self, source: str, specials: dict[str, Any]) -> tuple[list[int], list[str]]:
        stop_ids = {int(t) for t in specials.get("eog", [])}
        if self._info.eos is not None:
            stop_ids.add(self._info.eos)
        strings: list[str] = []
        if self.format is PromptFormat.COMPLETION:
            return sorted(stop_ids), strings
        harmony = "<|return|>" in self._literals and "<|channel|>" in self._literals
        for marker in END_MARKERS:
            if marker not in source or (harmony and marker == "<|end|>"):
                continue
            token = self._literals.get(marker)
            if token is None:
                ids = self._vocab.tokenize(marker, special=True, add_bos=False)
                token = ids[0] if len(ids) == 1 else None
            if token is not None:
                stop_ids.add(token)
            else:
                strings.append(marker)
        return sorted(stop_ids), strings

    def _piece(self, token: int | None) -> str:
        if token is None:
            return ""
        return self._vocab.token_pieces([token])[0].decode("utf-8", "replace")


def _find_all(text: str, needle: str) -> list[int]:
    hits: list[int] = []
    at = text.find(needle)
    while at >= 0:
        hits.append(at)
        at = text.find(needle, at + 1)
    return hits
