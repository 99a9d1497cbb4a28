"""Tools into a Harmony chat turn: the session gets the chat's tools, approval and a recorder.

Qt-free. The chat's :class:`~gptoss_desktop.core.chat.harmony_turns.HarmonyTurnRunner` calls
:meth:`ToolWiring.session_options` when it builds a session (the system and developer messages
gain the chat's tools; handlers, the approval hook and the call limit are added) and
:meth:`ToolWiring.send` to run the turn, which feeds every event to the
:class:`~gptoss_desktop.ui.tools.trace.TraceRecorder`. Questions for the user (approve this
call? what does this function return?) go to a :class:`UserPrompts`, which may block the turn's
thread until the user answers; cancelling the turn answers them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from gptoss_desktop.core.chat.tools import (
    ChatToolConfig,
    ChatTools,
    ToolPreferences,
    add_to_session,
)
from gptoss_desktop.core.errors import ToolError
from gptoss_desktop.core.harmony import (
    Approved,
    CancelToken,
    ChatSession,
    Denied,
    Edited,
    EngineVocabulary,
    GenerationFinished,
    MessageEnd,
    TurnResult,
)
from gptoss_desktop.core.harmony import toolcall as harmony
from gptoss_desktop.core.harmony.session import HarmonyEngine, SessionEvent
from gptoss_desktop.core.paths import AppPaths
from gptoss_desktop.core.tools.approval import Approval, ApprovalRequest, Decision
from gptoss_desktop.core.tools.browser import link_citations
from gptoss_desktop.core.tools.results import ToolCall, ToolResult
from gptoss_desktop.ui.tools.raw import RawDecoder, RecordingEngine
from gptoss_desktop.ui.tools.trace import GenerationRecord, TraceRecorder

MAX_CHATS = 8
UNSAVED = "unsaved"
DECISION_WORDS = {
    Decision.ALLOW_ONCE: "allowed once",
    Decision.ALWAYS_ALLOW: "always allow chosen",
    Decision.DENY: "denied by you",
}
REASON_WORDS = {"mode all": "runs without asking", "mode none": "tools are off", "limit": "limit"}


class UserPrompts(Protocol):
    """Asks the user; both calls may block the turn's thread until the user answers."""

    def ask(self, request: ApprovalRequest) -> Approval: ...

    def answer(self, call: ToolCall) -> str:
        """The result of a function the user answers by hand; ToolError if they do not."""
        ...

    def cancel(self) -> None:
        """Answer every open question now (deny / no result): the turn was stopped."""
        ...


@dataclass
class _Setup:
    tools: ChatTools
    config: ChatToolConfig
    prefs: ToolPreferences
    decoder: RawDecoder
    problems: list[str]


class ToolWiring:
    """The tool side of Harmony turns for every chat of a window."""

    def __init__(
        self,
        paths: AppPaths,
        prompts: UserPrompts,
        recorder: TraceRecorder,
        *,
        preferences: Callable[[], ToolPreferences] = ToolPreferences,
        sandbox_namespaces: str = "auto",
    ) -> None:
        self.paths = paths
        self.prompts = prompts
        self.recorder = recorder
        self.preferences = preferences
        self._namespaces = sandbox_namespaces
        self._chats: OrderedDict[str, ChatTools] = OrderedDict()
        self._lock = threading.Lock()  # the GUI thread and turn threads both look up chats
        self._decision: str | None = None
        self.current_key: str | None = None

    # --- chats -----------------------------------------------------------------------------
    def chat_tools(self, key: str) -> ChatTools:
        """The tools of one chat (made on first use; the least recently used are closed)."""
        evicted: list[ChatTools] = []
        with self._lock:
            tools = self._chats.get(key)
            if tools is None:
                tools = ChatTools(
                    self.paths, key, ask=self._ask, human=self._answer,
                    sandbox_namespaces=self._namespaces,
                )  # fmt: skip
                self._chats[key] = tools
                while len(self._chats) > MAX_CHATS:
                    evicted.append(self._chats.popitem(last=False)[1])
            self._chats.move_to_end(key)
        for old in evicted:
            old.close()
        return tools

    def close(self) -> None:
        with self._lock:
            chats = list(self._chats.values())
            self._chats.clear()
        for tools in chats:
            tools.close()

    # --- the runner's hooks ------------------------------------------------------------------
    def session_options(
        self,
        engine: HarmonyEngine,
        history: Sequence[Any],
        settings: Any,
        options: dict[str, Any],
    ) -> tuple[HarmonyEngine, dict[str, Any]]:
        """The engine and ChatSession keyword arguments for a turn of the chat ``history``
        belongs to (``settings``: its ChatSettings). Starts nothing."""
        key = chat_key(history)
        tools = self.chat_tools(key)
        config = ChatToolConfig.from_settings(settings)
        prefs = self.preferences()
        vocab = options.get("vocab") or EngineVocabulary(engine)
        decoder = RawDecoder(vocab, engine)
        recording = RecordingEngine(engine, on_batch=decoder.remember)
        options = {**options, "vocab": vocab}
        problems: list[str] = []
        if config.any or tools.has_handled_functions:
            box, problems = tools.toolbox(config, prefs, self._on_result)
            options = add_to_session(options, box)
            options["approve"] = self._approve_hook(tools)
            options["max_tool_calls"] = prefs.max_calls_per_turn
        recording.setup = _Setup(tools, config, prefs, decoder, problems)
        return recording, options

    def send(
        self,
        session: ChatSession,
        text: str,
        on_event: Callable[[SessionEvent], None],
        cancel: CancelToken,
    ) -> TurnResult:
        """Run one turn of ``session`` (built with :meth:`session_options`), recording it."""
        recording = session.engine
        setup: _Setup | None = getattr(recording, "setup", None)
        if not isinstance(recording, RecordingEngine) or setup is None:
            raise ToolError("this chat session was not set up for tools; start the turn again")
        self.current_key = setup.tools.chat_key
        setup.tools.policy.begin_turn()
        self.recorder.begin_turn(
            text,
            setup.prefs.max_calls_per_turn if setup.config.any else 0,
            chat=setup.tools.chat_key,
        )
        for problem in setup.problems:
            self.recorder.notice(problem)
        completion: list[int] = []

        def observed(event: SessionEvent) -> None:
            if isinstance(event, MessageEnd):
                completion.extend(event.tokens)
            self.recorder.on_event(event)
            if isinstance(event, GenerationFinished):
                self.recorder.add_generation(
                    GenerationRecord(
                        setup.decoder.spans(recording.last_prompt),
                        setup.decoder.spans(completion),
                        event.prompt_tokens,
                        event.cached_tokens,
                        event.metrics.completion_tokens,
                        event.metrics.to_dict(),
                    )
                )
                completion.clear()
            on_event(event)

        def stop() -> None:
            self.prompts.cancel()
            setup.tools.cancel_python()

        unsubscribe = cancel.on_cancel(stop)
        try:
            result = session.send(text, on_event=observed, cancel=cancel)
        except BaseException as exc:
            self.recorder.end_turn(error=getattr(exc, "message", None) or str(exc) or repr(exc))
            raise
        finally:
            unsubscribe()
        self.recorder.end_turn(
            result.stop_reason, notice=_notice(result, setup.prefs), links=_links(result, setup)
        )
        return result

    # --- tools and approval ------------------------------------------------------------------
    def _on_result(self, _call: ToolCall, result: ToolResult) -> None:
        self.recorder.tool_result(result)

    def _ask(self, request: ApprovalRequest) -> Approval:
        self.recorder.awaiting_approval(request.call.recipient)
        answer = self.prompts.ask(request)
        self._decision = DECISION_WORDS[answer.decision]
        return answer

    def _answer(self, call: ToolCall) -> str:
        self.recorder.awaiting_result(call.recipient)
        return self.prompts.answer(call)

    def _approve_hook(self, tools: ChatTools) -> harmony.ApprovalHook:
        def approve(call: harmony.ToolCall) -> harmony.Approval:
            self._decision = None
            verdict = tools.policy.review(ToolCall(call.recipient, call.arguments_text))
            decision = self._decision or REASON_WORDS.get(verdict.reason, verdict.reason)
            self.recorder.reviewed(call.recipient, verdict, decision)
            if not verdict.allowed:
                return Denied(verdict.message)
            if verdict.edited:
                return Edited(verdict.call.arguments)  # type: ignore[arg-type]
            return Approved()

        return approve


def chat_key(history: Sequence[Any]) -> str:
    """The key of the chat a thread belongs to (its conversation id)."""
    chat_id = getattr(history[-1], "conversation_id", None) if history else None
    return str(chat_id) if chat_id is not None else UNSAVED


def _notice(result: TurnResult, prefs: ToolPreferences) -> str | None:
    if result.stop_reason == "tool_call_limit":
        return (
            f"Stopped: the model kept calling tools past the limit of {prefs.max_calls_per_turn} "
            "calls per turn. Ask again, or raise the limit in the tool settings."
        )
    return None


def _links(result: TurnResult, setup: _Setup) -> tuple[tuple[str, str], ...]:
    browser = setup.tools.browser_session
    if browser is None or not result.final:
        return ()
    linked = link_citations(result.final, browser)
    return tuple((c.label, c.url) for c in linked.citations)
