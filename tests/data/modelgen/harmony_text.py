"""A minimal Harmony renderer for the training corpus, at the level of pieces.

A rendered conversation is a list of `Piece`: either a special token (by its text) or a run of
plain text. Every piece carries a loss weight: the pieces the model must learn to generate have
weight 1, the prompt has weight 0. The rules are those of the conformance kit in
../shared/reference/harmony (system and developer content, tools section, message headers).
"""

from __future__ import annotations

from dataclasses import dataclass, field

SPECIAL_TEXTS = (
    "<|start|>",
    "<|end|>",
    "<|message|>",
    "<|channel|>",
    "<|constrain|>",
    "<|return|>",
    "<|call|>",
)

IDENTITY = "You are ChatGPT, a large language model trained by OpenAI."
KNOWLEDGE_CUTOFF = "2024-06"
CHANNELS_LINE = (
    "# Valid channels: analysis, commentary, final. Channel must be included for every message."
)
FUNCTIONS_CHANNEL_LINE = "\nCalls to these tools must go to the commentary channel: 'functions'."


@dataclass(frozen=True)
class Piece:
    """A special token (`special=True`, text like '<|start|>') or a run of plain text."""

    text: str
    special: bool
    weight: float


@dataclass(frozen=True)
class Param:
    """A string parameter of a function tool (the subset of JSON schema the corpus uses)."""

    name: str
    description: str | None = None
    required: bool = True
    enum: tuple[str, ...] = ()
    default: str | None = None

    def render(self) -> str:
        lines = ""
        if self.description:
            lines += f"// {self.description}\n"
        typ = " | ".join(f'"{e}"' for e in self.enum) if self.enum else "string"
        line = f"{self.name}{'' if self.required else '?'}: {typ},"
        if self.default is not None:
            line += (
                f" // default: {self.default}" if self.enum else f' // default: "{self.default}"'
            )
        return lines + line + "\n"


@dataclass(frozen=True)
class FunctionTool:
    name: str
    description: str
    params: tuple[Param, ...] = ()
    has_params: bool = True

    def render(self) -> str:
        desc = "".join(f"// {line}\n" for line in self.description.split("\n"))
        if not self.has_params:
            return f"{desc}type {self.name} = () => any;\n"
        body = "".join(p.render() for p in self.params)
        return f"{desc}type {self.name} = (_: {{\n{body}}}) => any;\n"


def render_functions_namespace(tools: list[FunctionTool]) -> str:
    parts = ["## functions\n", "namespace functions {\n"]
    parts += [t.render() for t in tools]
    parts.append("} // namespace functions")
    return "\n".join(parts)


def system_content(effort: str, date: str | None, has_functions: bool) -> str:
    head = f"{IDENTITY}\nKnowledge cutoff: {KNOWLEDGE_CUTOFF}"
    if date is not None:
        head += f"\nCurrent date: {date}"
    channels = CHANNELS_LINE + (FUNCTIONS_CHANNEL_LINE if has_functions else "")
    return f"{head}\n\nReasoning: {effort}\n\n{channels}"


def developer_content(instructions: str | None, tools: list[FunctionTool]) -> str:
    sections = []
    if instructions is not None:
        sections.append(f"# Instructions\n\n{instructions}")
    if tools:
        sections.append("# Tools\n\n" + render_functions_namespace(tools))
    return "\n\n".join(sections)


@dataclass
class Conversation:
    """Pieces of a rendered conversation; adjacent text runs with equal weight are merged."""

    pieces: list[Piece] = field(default_factory=list)

    def special(self, text: str, weight: float = 0.0) -> None:
        assert text in SPECIAL_TEXTS, text
        self.pieces.append(Piece(text, True, weight))

    def text(self, text: str, weight: float = 0.0) -> None:
        if not text:
            return
        last = self.pieces[-1] if self.pieces else None
        if last is not None and not last.special and last.weight == weight:
            self.pieces[-1] = Piece(last.text + text, False, weight)
        else:
            self.pieces.append(Piece(text, False, weight))

    def message(
        self,
        author: str,
        content: str,
        *,
        channel: str | None = None,
        recipient: str | None = None,
        constrain_json: bool = False,
        end: str = "<|end|>",
        weight: float = 0.0,
        prompt_open: bool = False,
        content_only: bool = False,
    ) -> None:
        """Append one message with loss weight `weight`.

        `prompt_open`: `<|start|>` and the author belong to the prompt (weight 0), as when the
        caller ends its prompt with `<|start|>assistant` and the model writes the rest.
        `content_only`: only the content carries `weight` (history finals: the header and the
        closing `<|end|>` differ from what the model generates, so they are not trained).
        """
        w_open = 0.0 if (prompt_open or content_only) else weight
        w_frame = 0.0 if content_only else weight
        self.special("<|start|>", w_open)
        # The author and ' to=...' are one text run, as a renderer emits them.
        self.text(author, w_open)
        if recipient is not None:
            self.text(f" to={recipient}", w_frame)
        if channel is not None:
            self.special("<|channel|>", w_frame)
            self.text(channel, w_frame)
        if constrain_json:
            self.text(" ", w_frame)
            self.special("<|constrain|>", w_frame)
            self.text("json", w_frame)
        self.special("<|message|>", w_frame)
        self.text(content, weight)
        self.special(end, w_frame)

    def prompt_assistant(self) -> None:
        """The prompt suffix `<|start|>assistant` that asks the model for the next message."""
        self.special("<|start|>")
        self.text("assistant")

    def rendered(self) -> str:
        return "".join(p.text for p in self.pieces)
