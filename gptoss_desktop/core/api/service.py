"""ApiService: what the HTTP layer calls, synchronously, from its worker threads.

It prepares a request (parsing, the stored history of ``previous_response_id``), waits for
the model's turn at the :class:`~.gate.EngineGate` and runs it on the engine the
:class:`~.host.EngineHost` hands out; it saves responses for ``previous_response_id``.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gptoss_desktop.core.api.errors import ApiError
from gptoss_desktop.core.api.gate import GateBusy, GateCancelled
from gptoss_desktop.core.api.host import EngineHost, ModelEntry, model_id_for
from gptoss_desktop.core.api.requests import (
    TurnRequest,
    message_from_json,
    message_to_json,
    parse_chat_request,
    parse_responses_request,
)
from gptoss_desktop.core.api.turn import ApiTurn, Emit, TurnDone
from gptoss_desktop.core.errors import EngineError, GptossError
from gptoss_desktop.core.harmony.cancel import CancelToken
from gptoss_desktop.core.store.responses import ResponseStore, StoredResponse


@dataclass
class PreparedTurn:
    request: TurnRequest
    served_id: str
    previous_id: str | None = None
    store: bool = True


class ApiService:
    def __init__(
        self,
        host: EngineHost,
        responses: ResponseStore | None = None,
        *,
        date: Callable[[], str | None] | None = None,
    ) -> None:
        self.host = host
        self.responses = responses
        #: the current date told to gpt-oss (default: today)
        self.date = date or (lambda: None)

    # --- preparing (quick; before queueing) ----------------------------------------------------
    def prepare_chat(self, body: Any) -> PreparedTurn:
        model = body.get("model") if isinstance(body, dict) else None
        memo = self.host.memo_for(self.host.check(model)) if isinstance(model, str) else None
        request = parse_chat_request(body, memo.reasoning_for if memo else None)
        return PreparedTurn(request, self.host.check(request.model))

    def prepare_responses(self, body: Any) -> PreparedTurn:
        if not isinstance(body, dict):
            return PreparedTurn(parse_responses_request(body), "")
        model = body.get("model")
        served = self.host.check(model) if isinstance(model, str) and model else None
        memo = self.host.memo_for(served) if served else None
        previous_id = body.get("previous_response_id")
        previous: list[Any] = []
        calls: dict[str, str] = {}
        if previous_id is not None:
            if not isinstance(previous_id, str) or self.responses is None:
                raise ApiError(
                    400, "previous_response_id must be a string", param="previous_response_id"
                )
            stored = self.responses.get(previous_id)
            if stored is None:
                raise ApiError(
                    404,
                    f"Previous response with id {previous_id!r} not found (stored responses "
                    "are kept 30 days, and go when the user clears them)",
                    param="previous_response_id",
                    code="previous_response_not_found",
                )
            previous = [message_from_json(m) for m in stored.history]
            calls = dict(stored.call_names)
        request = parse_responses_request(
            body,
            previous=previous,
            previous_calls=calls,
            restore=memo.reasoning_for if memo else None,
        )
        store = body.get("store", True) is not False
        return PreparedTurn(request, self.host.check(request.model), previous_id, store)

    # --- running (in a worker thread) -----------------------------------------------------------
    def run(self, turn: PreparedTurn, emit: Emit, cancel: CancelToken) -> TurnDone:
        """Wait for the model (FIFO, bounded), then run the turn; raises ApiError."""
        try:
            with self.host.gate.turn("api", cancel=cancel):
                engine, memo = self.host.engine(turn.served_id)
                return ApiTurn(engine, turn.request, memo, date=self.date()).run(emit, cancel)
        except GateBusy as exc:
            raise ApiError(
                429,
                f"The model is busy: {exc.message}",
                type="rate_limit_error",
                code="rate_limit_exceeded",
                headers={"Retry-After": str(exc.retry_after_s)},
            ) from None
        except GateCancelled:
            raise
        except ApiError:
            raise
        except EngineError as exc:
            raise ApiError(
                500,
                f"The model worker failed: {exc.message}",
                type="server_error",
                code="engine_error",
            ) from None
        except GptossError as exc:
            raise ApiError(400, exc.message) from None

    def save_response(self, turn: PreparedTurn, done: TurnDone, response: dict[str, Any]) -> None:
        if self.responses is None or not turn.store:
            return
        history = [message_to_json(m) for m in [*turn.request.history, *done.output]]
        calls = dict(turn.request.call_names)
        calls.update({c.call_id: c.name for c in done.calls})
        self.responses.put(
            StoredResponse(response["id"], time.time(), turn.served_id, history, calls, response)
        )


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(16)}"


__all__ = [
    "ApiService",
    "EngineHost",
    "ModelEntry",
    "PreparedTurn",
    "model_id_for",
    "new_id",
]
