"""ApiService: what the HTTP layer calls, synchronously, from its worker threads.

:class:`EngineHost` knows the models the API may name (the loaded one, and in ``serve`` the
installed ones it may load instead, one at a time) and hands out the engine while the caller
holds the :class:`EngineGate` turn. The window's model manager updates it with
:meth:`EngineHost.set_loaded` as models load and unload.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from gptoss_desktop.core.api.errors import ApiError
from gptoss_desktop.core.api.gate import EngineGate, GateBusy, GateCancelled
from gptoss_desktop.core.api.memo import GenerationMemo
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
from gptoss_desktop.core.templating.session import TemplateEngine


class ClosableEngine(TemplateEngine, Protocol):
    def close(self, timeout: float = 5.0) -> None: ...


@dataclass(frozen=True)
class ModelEntry:
    id: str
    path: str
    loaded: bool
    created: int


def model_id_for(path: str | Path) -> str:
    return Path(path).stem


class EngineHost:
    """The models the API serves; ``engine()`` is called holding the gate's turn."""

    def __init__(
        self,
        gate: EngineGate | None = None,
        *,
        catalog: Callable[[], Mapping[str, Path]] | None = None,
        loader: Callable[[Path], ClosableEngine] | None = None,
    ) -> None:
        self.gate = gate or EngineGate()
        self._catalog = catalog
        self._loader = loader
        self._lock = threading.Lock()
        self._loaded: tuple[str, Path, TemplateEngine] | None = None
        self._owned = False
        self._memos: dict[int, GenerationMemo] = {}

    def set_loaded(
        self,
        model_id: str | None,
        path: Path | None,
        engine: TemplateEngine | None,
        *,
        owned: bool = False,
    ) -> None:
        """The model now loaded (None: none); the window's manager calls this. ``owned``:
        this host closes it (when it loads another, and in :meth:`close`)."""
        with self._lock:
            if model_id is None or path is None or engine is None:
                self._loaded = None
            else:
                self._loaded = (model_id, Path(path), engine)
            self._owned = owned and self._loaded is not None
            live = {id(self._loaded[2])} if self._loaded else set()
            self._memos = {k: v for k, v in self._memos.items() if k in live}

    @property
    def loaded_engine(self) -> TemplateEngine | None:
        with self._lock:
            return self._loaded[2] if self._loaded else None

    def catalog(self) -> dict[str, Path]:
        return dict(self._catalog()) if self._catalog is not None else {}

    def models(self) -> list[ModelEntry]:
        with self._lock:
            loaded = self._loaded
        entries: list[ModelEntry] = []
        if loaded is not None:
            entries.append(ModelEntry(loaded[0], str(loaded[1]), True, _mtime(loaded[1])))
        for name, path in self.catalog().items():
            if loaded is not None and (name == loaded[0] or _same(path, loaded[1])):
                continue
            entries.append(ModelEntry(name, str(path), False, _mtime(path)))
        return entries

    def check(self, model_id: str) -> str:
        """The served id for ``model_id``, or ApiError 404."""
        for entry in self.models():
            if entry.id == model_id or entry.id.lower() == model_id.lower():
                if not entry.loaded and self._loader is None:
                    raise ApiError(
                        404,
                        f"The model {model_id!r} is installed but not loaded; load it in the "
                        "app's window (the API serves the model loaded there)",
                        code="model_not_found",
                        param="model",
                    )
                return entry.id
        known = ", ".join(e.id for e in self.models()) or "none (load a model first)"
        raise ApiError(
            404,
            f"The model {model_id!r} does not exist; available: {known}",
            code="model_not_found",
            param="model",
        )

    def memo_for(self, model_id: str) -> GenerationMemo | None:
        with self._lock:
            if self._loaded is None or self._loaded[0] != model_id:
                return None
            return self._memos.setdefault(id(self._loaded[2]), GenerationMemo())

    def engine(self, model_id: str) -> tuple[TemplateEngine, GenerationMemo]:
        """The engine for ``model_id`` (loading it in ``serve``, replacing the current one)."""
        served = self.check(model_id)
        with self._lock:
            loaded = self._loaded
        if loaded is None or loaded[0] != served:
            if self._loader is None:
                raise ApiError(404, f"The model {model_id!r} is not loaded", code="model_not_found")
            path = self.catalog()[served]
            if loaded is not None and self._owned:
                close = getattr(loaded[2], "close", None)
                if close is not None:
                    close()
            self.set_loaded(None, None, None)
            engine = self._loader(path)
            self.set_loaded(served, path, engine, owned=True)
        memo = self.memo_for(served)
        assert memo is not None
        with self._lock:
            assert self._loaded is not None
            return self._loaded[2], memo

    def close(self) -> None:
        """Close the engine if this host loaded it."""
        with self._lock:
            loaded, owned = self._loaded, self._owned
            self._loaded = None
        if loaded is not None and owned:
            close = getattr(loaded[2], "close", None)
            if close is not None:
                close()


def _mtime(path: Path) -> int:
    try:
        return int(path.stat().st_mtime)
    except OSError:
        return 0


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


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
