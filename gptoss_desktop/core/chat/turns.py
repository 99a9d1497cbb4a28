"""One assistant turn: the runner protocol, the shared budget rules, and plain completion.

A *turn runner* takes the visible thread (store messages, the new user message last) and
the chat's settings, generates with a loaded model and reports the turn's events
(:mod:`.events`). Which runner a model gets (:func:`.runners.runner_for`) depends on what it
speaks (:mod:`.kind`): Harmony (:mod:`.harmony_turns`), a chat template from the GGUF
(:mod:`.template_turns`), or plain completion (:class:`CompletionTurnRunner`, story models).
Front ends run ``run`` on a thread of their own.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from gptoss_desktop.core.chat.events import EmitEvent, PartDelta, PartEnd, PartStart, TurnResult
from gptoss_desktop.core.chat.session import SessionSettings
from gptoss_desktop.core.errors import ContextOverflow
from gptoss_desktop.core.store.records import ChatSettings, Message

if TYPE_CHECKING:  # the engine client is imported when a model loads, not at start-up
    from gptoss_desktop.core.engine import EngineClient, SamplingOptions

#: Tokens kept free for the answer when no max_tokens is set.
ANSWER_RESERVE = 256


class TurnRunner(Protocol):
    #: "harmony", "template" or "completion".
    kind: str
    #: The context window the model was loaded with.
    n_ctx: int

    def count_tokens(self, history: Sequence[Message], settings: ChatSettings) -> int:
        """Tokens the prompt for ``history`` takes (call only between turns)."""
        ...

    def run(
        self, history: Sequence[Message], settings: ChatSettings, emit: EmitEvent
    ) -> TurnResult:
        """Generate the next assistant turn; ContextOverflow if the prompt would not fit."""
        ...

    def cancel(self) -> None:
        """Stop the turn in progress (any thread); ``run`` then returns soon."""
        ...


def sampling_for(settings: ChatSettings) -> SamplingOptions:
    return SessionSettings.from_chat(settings).sampling()


def check_fits(prompt_len: int, settings: ChatSettings, n_ctx: int) -> int:
    """The max_tokens to ask for; ContextOverflow when the prompt leaves no room to answer."""
    reserve = min(settings.max_tokens or ANSWER_RESERVE, max(n_ctx // 4, 1))
    needed = prompt_len + reserve
    if needed > n_ctx:
        raise ContextOverflow(
            f"This chat needs about {needed} tokens but the model is loaded with a context of "
            f"{n_ctx}: drop the oldest turns, continue in a new chat or load a larger context.",
            needed=needed,
            available=n_ctx,
        )
    room = n_ctx - prompt_len
    return room if settings.max_tokens is None else min(settings.max_tokens, room)


def metrics_dict(metrics: Any) -> dict[str, Any]:
    if metrics is None:
        return {}
    return {k: v for k, v in metrics.to_dict().items() if isinstance(v, int | float | str)}


class CompletionTurnRunner:
    """Plain text completion for models without a chat format (story models, base models).

    The thread's texts are joined into one document; the answer continues it.
    """

    kind = "completion"

    def __init__(self, client: EngineClient) -> None:
        self._client = client
        assert client.info is not None
        self.n_ctx = client.info.n_ctx
        self._lock = threading.Lock()
        self._generation: Any = None
        self._cancelled = False

    @staticmethod
    def document(history: Sequence[Message], settings: ChatSettings) -> str:
        parts = [settings.system_prompt.strip()] if settings.system_prompt.strip() else []
        for m in history:
            if m.role == "user" or (m.role == "assistant" and m.channel in (None, "final")):
                parts.append(m.content)
        return "\n".join(p for p in parts if p)

    def _prompt(self, history: Sequence[Message], settings: ChatSettings) -> list[int]:
        assert self._client.info is not None
        return self._client.tokenize(
            self.document(history, settings), add_bos=self._client.info.add_bos
        )

    def count_tokens(self, history: Sequence[Message], settings: ChatSettings) -> int:
        return len(self._prompt(history, settings))

    def run(
        self, history: Sequence[Message], settings: ChatSettings, emit: EmitEvent
    ) -> TurnResult:
        with self._lock:
            self._cancelled = False
        prompt = self._prompt(history, settings)
        max_tokens = check_fits(len(prompt), settings, self.n_ctx)
        from gptoss_desktop.core.engine import GenerateRequest

        request = GenerateRequest(
            prompt_tokens=prompt, max_tokens=max_tokens, sampling=sampling_for(settings)
        )
        with self._lock:
            if self._cancelled:
                return TurnResult("cancelled", {}, len(prompt))
            self._generation = self._client.generate(request)
        generation = self._generation
        emit(PartStart("final"))
        for batch in generation:
            if batch.text:
                emit(PartDelta(batch.text))
        emit(PartEnd())
        result = generation.result
        with self._lock:
            self._generation = None
        reason = result.stop_reason if result else "cancelled"
        used = len(prompt) + (result.completion_tokens if result else 0)
        return TurnResult(reason, metrics_dict(result), used)

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            generation = self._generation
        if generation is not None:
            generation.cancel()
