"""Render a conversation with a model's own chat template (untrusted Jinja from its GGUF).

The template never sees message text. Each message's content is replaced by a placeholder
(``\\ue000N\\ue001``, private-use characters) before rendering; the output is then cut at
the placeholders into *markup* (the template's own text, where its special tokens live) and
*message text* (the user's, the assistant's, the system prompt). The tokenizer parses
special tokens only in markup; message text is tokenized as text (see
:mod:`.prompting`), so no message can forge a control token, whatever it contains.

A template that transforms message text in a way that breaks a placeholder (slicing it,
reversing it) is refused with a clear error rather than rendered unsafely.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from jinja2 import TemplateError as JinjaTemplateError
from jinja2.exceptions import SecurityError, TemplateNotFound, TemplateSyntaxError

from gptoss_desktop.core.errors import ChatTemplateError
from gptoss_desktop.core.limited import JobFailed, LimitedProcess, LimitExceeded
from gptoss_desktop.core.templating.sandbox import (
    GuardedEnvironment,
    TemplateLimitExceeded,
    TemplateLimits,
    TemplateRaised,
    guarded,
)

#: How long past the template's own time limit the helper may run (start-up, compile, pipes)
#: before it is killed.
RENDER_GRACE_S = 5.0

PLACEHOLDER_OPEN = "\ue000"
PLACEHOLDER_CLOSE = "\ue001"
_PLACEHOLDER = re.compile(f"{PLACEHOLDER_OPEN}(\\d+){PLACEHOLDER_CLOSE}")

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


@dataclass(frozen=True)
class ChatMessage:
    """One message of a plain-text chat: role ``system``, ``user`` or ``assistant``."""

    role: str
    content: str


@dataclass(frozen=True)
class PromptPart:
    """A run of rendered text: the template's markup, or one message's text."""

    text: str
    is_markup: bool


@dataclass(frozen=True)
class RenderedPrompt:
    parts: tuple[PromptPart, ...]

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.parts)

    @property
    def markup(self) -> str:
        return "".join(p.text for p in self.parts if p.is_markup)


def _placeholder(index: int) -> str:
    return f"{PLACEHOLDER_OPEN}{index}{PLACEHOLDER_CLOSE}"


class ChatTemplate:
    """A compiled chat template; :meth:`render` gives markup and message text apart.

    By default (``isolated=True``) the template is compiled and rendered in a helper process
    (:class:`~gptoss_desktop.core.limited.LimitedProcess`, one per template, kept alive between
    renders) with a memory cap and a wall-clock kill, because some Jinja operations run in C
    where no in-process check can stop them. The guards of :mod:`.sandbox` apply inside it too.
    """

    def __init__(
        self,
        source: str,
        *,
        bos_token: str = "",
        eos_token: str = "",
        limits: TemplateLimits | None = None,
        isolated: bool = True,
    ) -> None:
        self.source = source
        self.bos_token = bos_token
        self.eos_token = eos_token
        self.limits = limits or TemplateLimits()
        if len(source) > self.limits.max_source_chars:
            raise ChatTemplateError(
                f"The model's chat template is {len(source):,} characters long (limit "
                f"{self.limits.max_source_chars:,}): it is not rendered; use another model file"
            )
        self._process: LimitedProcess | None = None
        self._template: Any = None
        if isolated:
            self._process = LimitedProcess(
                "chat-template",
                memory_bytes=self.limits.memory_bytes,
                # A rendered prompt is at most max_output_chars characters (4 bytes each in
                # UTF-8) plus its header: the app never reads a larger answer.
                max_reply_bytes=4 * self.limits.max_output_chars + 64 * 1024,
            )
            self._remote("template.compile", {})
        else:
            self._template = compile_template(source, self.limits)

    def close(self) -> None:
        """Stop the helper process (it is also stopped when this object is collected)."""
        if self._process is not None:
            self._process.close()

    def _remote(self, job: str, extra: dict[str, Any]) -> str:
        assert self._process is not None
        args = {"source": self.source, "limits": asdict(self.limits), **extra}
        try:
            reply, _ = self._process.call(job, args, timeout_s=self.limits.time_s + RENDER_GRACE_S)
        except LimitExceeded as exc:
            raise ChatTemplateError(
                f"The model's chat template was stopped: {exc}; use another model file",
                details=str(exc),
            ) from None
        except JobFailed as exc:
            raise ChatTemplateError(
                f"The model's chat template failed ({exc.kind}: {str(exc)[:200]}); "
                "use another model file"
            ) from None
        if reply.get("error"):
            raise ChatTemplateError(str(reply["error"]), details=str(reply.get("details", "")))
        return str(reply.get("text", ""))

    def render(
        self,
        messages: Sequence[ChatMessage],
        *,
        add_generation_prompt: bool = True,
        extra: Mapping[str, Any] | None = None,
    ) -> RenderedPrompt:
        """Render ``messages``; raise :class:`ChatTemplateError` for any failure or violation."""
        context: dict[str, Any] = {
            "messages": [
                {"role": m.role, "content": _placeholder(i)} for i, m in enumerate(messages)
            ],
            "add_generation_prompt": add_generation_prompt,
            "bos_token": self.bos_token,
            "eos_token": self.eos_token,
            "tools": None,
            **(extra or {}),
        }
        if self._process is not None:
            rendered = self._remote("template.render", {"context": context})
        else:
            rendered = render_template(self._template, self.limits, context)
        return _split(rendered, [m.content for m in messages])


def compile_template(source: str, limits: TemplateLimits) -> Any:
    """Compile in this process, under the sandbox's guards; :class:`ChatTemplateError` if bad."""
    env = GuardedEnvironment(limits)
    try:
        with guarded(limits):
            return env.from_string(source)
    except TemplateSyntaxError as exc:
        raise ChatTemplateError(
            f"The model's chat template is not valid Jinja (line {exc.lineno}: {exc.message}); "
            "use another model file",
            details=str(exc),
        ) from None
    except Exception as exc:
        raise _describe(exc) from None


def render_template(template: Any, limits: TemplateLimits, context: dict[str, Any]) -> str:
    """Render in this process, under the sandbox's guards (time, sizes, output cap)."""
    chunks: list[str] = []
    stream = template.generate(context)
    try:
        with guarded(limits) as budget:
            size = 0
            for chunk in stream:
                size += len(chunk)
                if size > limits.max_output_chars:
                    raise TemplateLimitExceeded(
                        f"the rendered prompt is over {limits.max_output_chars:,} characters"
                    )
                budget.check_time()
                chunks.append(chunk)
    except Exception as exc:
        raise _describe(exc) from None
    finally:
        # Close a stopped render here, with the tracer off, not later in the GC.
        close = getattr(stream, "close", None)  # a generator: Iterator has no close()
        if close is not None:
            with contextlib.suppress(Exception):
                close()
    return "".join(chunks)


def _split(rendered: str, contents: Sequence[str]) -> RenderedPrompt:
    parts: list[PromptPart] = []
    pos = 0
    for match in _PLACEHOLDER.finditer(rendered):
        index = int(match.group(1))
        if index >= len(contents):
            raise ChatTemplateError(
                "The model's chat template produced a message reference that does not exist; "
                "use another model file"
            )
        if match.start() > pos:
            parts.append(PromptPart(rendered[pos : match.start()], True))
        if contents[index]:
            parts.append(PromptPart(contents[index], False))
        pos = match.end()
    if pos < len(rendered):
        parts.append(PromptPart(rendered[pos:], True))
    if any(PLACEHOLDER_OPEN in p.text or PLACEHOLDER_CLOSE in p.text for p in parts if p.is_markup):
        raise ChatTemplateError(
            "The model's chat template rewrites message text (it cut or changed it), so it cannot "
            "be rendered safely; use another model file"
        )
    return RenderedPrompt(tuple(parts))


def _describe(exc: BaseException) -> ChatTemplateError:
    """One line for any way a template can fail."""
    if isinstance(exc, TemplateRaised):
        return ChatTemplateError(f"The model's chat template refused this conversation: {exc}")
    if isinstance(exc, TemplateLimitExceeded):
        return ChatTemplateError(
            f"The model's chat template was stopped: {exc}; use another model file",
            details=str(exc),
        )
    if isinstance(exc, SecurityError):
        return ChatTemplateError(
            f"The model's chat template tried something unsafe and was stopped ({exc}); "
            "do not trust this model file",
            details=str(exc),
        )
    if isinstance(exc, TemplateNotFound):
        return ChatTemplateError(
            f"The model's chat template tried to read another file ({exc}) and was stopped; "
            "do not trust this model file",
            details=str(exc),
        )
    if isinstance(exc, MemoryError):
        return ChatTemplateError(
            "The model's chat template was stopped: it needed more memory than allowed; "
            "use another model file"
        )
    if isinstance(exc, RecursionError):
        return ChatTemplateError(
            "The model's chat template recursed too deeply and was stopped; use another model file"
        )
    if isinstance(exc, ChatTemplateError):
        return exc
    kind = "Jinja error" if isinstance(exc, JinjaTemplateError) else type(exc).__name__
    return ChatTemplateError(
        f"The model's chat template failed ({kind}: {str(exc)[:200]}); use another model file",
        details=repr(exc),
    )
