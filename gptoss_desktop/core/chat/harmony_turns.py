"""The turn runner for Harmony models (gpt-oss and the project's Harmony test models).

Each turn builds a :class:`ChatSession` from the stored thread with the session rules of
:mod:`.session` (system and developer messages from the chat's settings, then every
message), sends the last user message and forwards the session's events: reasoning
(``analysis``), the answer (``final``), tool calls and their results. The engine keeps the
longest common prefix in its KV cache, so resending the thread costs only what changed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from gptoss_desktop.core.chat.events import EmitEvent, TurnResult
from gptoss_desktop.core.chat.session import (
    SessionSettings,
    developer_content,
    first_message_at,
    harmony_message,
    start_date,
    system_content,
)
from gptoss_desktop.core.chat.stream import context_used, forward_event, run_turn, turn_metrics
from gptoss_desktop.core.chat.tools import add_to_session
from gptoss_desktop.core.chat.turns import check_fits
from gptoss_desktop.core.engine import EngineClient
from gptoss_desktop.core.errors import HarmonyError
from gptoss_desktop.core.harmony import CancelToken, ChatSession, EngineVocabulary
from gptoss_desktop.core.harmony import TurnResult as SessionResult
from gptoss_desktop.core.harmony.session import GenerationFinished, HarmonyEngine, SessionEvent
from gptoss_desktop.core.store.records import ChatSettings, Message
from gptoss_desktop.core.tools.toolbox import ToolBox

#: Tokens a user message adds around its text (<|start|>user<|message|> ... <|end|>).
USER_FRAME_TOKENS = 4


class TurnTooling(Protocol):
    """The tools of a chat's Harmony turns (the tool panel's wiring, the API server's tools)."""

    def session_options(
        self,
        engine: HarmonyEngine,
        history: Sequence[Any],
        settings: Any,
        options: dict[str, Any],
    ) -> tuple[HarmonyEngine, dict[str, Any]]:
        """The engine and ChatSession keyword arguments with the chat's tools added."""
        ...

    def send(
        self,
        session: ChatSession,
        text: str,
        on_event: Callable[[SessionEvent], None],
        cancel: CancelToken,
    ) -> SessionResult:
        """Run one turn of a session built from :meth:`session_options`."""
        ...


def session_options(settings: SessionSettings, thread: Sequence[Message]) -> dict[str, Any]:
    """The ChatSession keyword arguments for a thread: the one session rule."""
    return {
        "system": system_content(settings, start_date(settings, first_message_at(thread))),
        "developer": developer_content(settings),
        "sampling": settings.sampling(),
    }


def open_harmony_session(
    engine: HarmonyEngine,
    settings: SessionSettings,
    history: Sequence[Message] = (),
    *,
    thread: Sequence[Message] | None = None,
    tooling: TurnTooling | None = None,
    tool_settings: Any = None,
    toolbox: ToolBox | None = None,
    **extra: Any,
) -> ChatSession:
    """A Harmony session holding ``history`` (stored rows or :func:`.session.history_message`).

    ``thread`` is the whole thread the session belongs to (default ``history``): its first
    message dates the chat and ``tooling`` finds the chat by it. ``toolbox``'s tools are
    added (:func:`.tools.add_to_session`; handlers in ``extra["tools"]`` stay). ``extra`` goes to
    :class:`ChatSession` as given (``max_tokens``, ``tools``, ``approve``, ``vocab``...).
    """
    whole = history if thread is None else thread
    options = {**session_options(settings, whole), **extra}
    if toolbox is not None:
        options = add_to_session(options, toolbox)
    if tooling is not None:
        engine, options = tooling.session_options(engine, whole, tool_settings, options)
    session = ChatSession(engine, **options)
    for m in history:
        message = harmony_message(m)
        if message is not None:
            session.add_message(message)
    return session


class HarmonyTurnRunner:
    kind = "harmony"

    def __init__(self, client: EngineClient, *, tooling: TurnTooling | None = None) -> None:
        assert client.info is not None
        self._client = client
        self.n_ctx = client.info.n_ctx
        self._vocab = EngineVocabulary(client)
        self._cancel = CancelToken()
        #: The chat's tools (ui/tools/wiring.py for the chat window): tools, approval, a trace.
        self.tooling = tooling

    def session(
        self, history: Sequence[Message], settings: ChatSettings
    ) -> tuple[ChatSession, str]:
        """A session holding the thread up to its last user message, and that message's text."""
        if not history or history[-1].role != "user":
            raise HarmonyError("A turn must answer a user message: write one first.")
        session = open_harmony_session(
            self._client,
            SessionSettings.from_chat(settings),
            history[:-1],
            thread=history,
            tooling=self.tooling,
            tool_settings=settings,
            vocab=self._vocab,
        )
        return session, history[-1].content

    def count_tokens(self, history: Sequence[Message], settings: ChatSettings) -> int:
        session, text = self.session(history, settings)
        return (
            len(session.prompt_tokens()) + len(self._vocab.tokenize_text(text)) + USER_FRAME_TOKENS
        )

    def run(
        self, history: Sequence[Message], settings: ChatSettings, emit: EmitEvent
    ) -> TurnResult:
        self._cancel = cancel = CancelToken()
        session, text = self.session(history, settings)
        prompt_len = (
            len(session.prompt_tokens()) + len(self._vocab.tokenize_text(text)) + USER_FRAME_TOKENS
        )
        session.max_tokens = check_fits(prompt_len, settings, self.n_ctx)
        if self.tooling is None:
            return run_turn(session, text, emit, cancel)
        finished: list[GenerationFinished] = []

        def on_event(event: object) -> None:
            if isinstance(event, GenerationFinished):
                finished.append(event)
            else:
                forward_event(event, emit)

        result = self.tooling.send(session, text, on_event, cancel)
        return TurnResult(result.stop_reason, turn_metrics(finished), context_used(finished))

    def cancel(self) -> None:
        self._cancel.cancel()
