"""A session for any loaded model, from :class:`~.session.SessionSettings` and a history.

Models that speak Harmony (:mod:`.kind`) get the Harmony ``ChatSession``, every other model a
:class:`~gptoss_desktop.core.templating.session.TemplateChatSession` (its own chat template,
ChatML, or plain completion). Both take ``send(text, on_event=..., cancel=...)`` and report
with the same event types. Compare mode and the API server open their sessions here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from gptoss_desktop.core.chat.harmony_turns import open_harmony_session
from gptoss_desktop.core.chat.kind import is_harmony_model
from gptoss_desktop.core.chat.session import SessionSettings
from gptoss_desktop.core.chat.template_turns import open_template_session
from gptoss_desktop.core.engine import SamplingOptions
from gptoss_desktop.core.harmony.cancel import CancelToken
from gptoss_desktop.core.store.records import Message
from gptoss_desktop.core.templating.session import TemplateEngine


class TurnOutcome(Protocol):
    stop_reason: str

    @property
    def final(self) -> str | None: ...

    @property
    def reasoning(self) -> str: ...


class ChatSessionLike(Protocol):
    def send(
        self,
        user_text: str,
        *,
        on_event: Callable[[Any], None] | None = None,
        cancel: CancelToken | None = None,
    ) -> TurnOutcome: ...


def open_session(
    engine: TemplateEngine,
    settings: SessionSettings,
    history: Sequence[Message] = (),
    *,
    sampling: SamplingOptions | None = None,
    max_tokens: int = 1024,
    template_override: str | None = None,
) -> ChatSessionLike:
    """A Harmony session for Harmony models (unless a template is forced), else a template one.

    ``sampling`` replaces the settings' temperature, top_p and seed (compare's per-column)."""
    extra: dict[str, Any] = {"max_tokens": max_tokens}
    if sampling is not None:
        extra["sampling"] = sampling
    if template_override is None and is_harmony_model(engine):
        return open_harmony_session(engine, settings, history, **extra)
    return open_template_session(
        engine, settings, history, template_override=template_override, **extra
    )
