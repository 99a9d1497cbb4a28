"""EngineClient: one model in one worker process, reached without Qt and without llama_cpp.

See docs/ENGINE_API.md for the tour. All waiting has a deadline: a worker that dies raises
:class:`WorkerCrashed` (with its exit status and last stderr lines), one that stops
answering is killed and raises :class:`WorkerTimeout`. The app itself never crashes with it.
"""

from __future__ import annotations

import itertools
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from gptoss_desktop.core.engine.modelfile import check_model_file
from gptoss_desktop.core.engine.options import (
    BackendInfo,
    GenerateRequest,
    GenerationMetrics,
    LoadOptions,
    ModelInfo,
    TokenBatch,
)
from gptoss_desktop.core.engine.process import WorkerProcess, describe_exit
from gptoss_desktop.core.engine.protocol import bytes_from_wire
from gptoss_desktop.core.errors import (
    ContextOverflow,
    EngineClosed,
    EngineError,
    LoadCancelled,
    ModelFileError,
    WorkerCrashed,
    WorkerRequestError,
    WorkerTimeout,
)

REQUEST_TIMEOUT = 60.0  # tokenize, metadata, ...
LOAD_TIMEOUT = 300.0  # longest silence during a load (progress frames come every 1%)
STALL_TIMEOUT = 180.0  # longest silence during a generation (a prompt slice or one token)


class EngineClient:
    def __init__(self, worker: WorkerProcess, *, stall_timeout: float = STALL_TIMEOUT) -> None:
        self._worker = worker
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        self._closed = False
        self._active: Generation | None = None
        self.stall_timeout = stall_timeout
        self.info: ModelInfo | None = None
        self.evaluated_tokens: list[int] = []
        self._special: dict[str, Any] | None = None
        self._loading: int | None = None

    # --- life cycle -----------------------------------------------------------------------
    @classmethod
    def start(
        cls,
        model_path: str | os.PathLike[str],
        options: LoadOptions | None = None,
        *,
        env: dict[str, str] | None = None,
        load_timeout: float = LOAD_TIMEOUT,
        stall_timeout: float = STALL_TIMEOUT,
        on_progress: Callable[[float], None] | None = None,
        on_started: Callable[[EngineClient], None] | None = None,
    ) -> EngineClient:
        """Start a worker and load ``model_path`` in it; raise if either fails.

        ``on_progress(fraction)`` hears llama.cpp's load progress (0..1); ``on_started(client)``
        gets the client before the load begins, so another thread can ``cancel_load()`` it."""
        path = check_model_file(model_path)
        client = cls(WorkerProcess(env), stall_timeout=stall_timeout)
        try:
            if on_started is not None:
                on_started(client)
            client.load(
                path, options or LoadOptions(), timeout=load_timeout, on_progress=on_progress
            )
        except BaseException:
            client.close()
            raise
        return client

    def load(
        self,
        path: Path,
        options: LoadOptions,
        *,
        timeout: float = LOAD_TIMEOUT,
        on_progress: Callable[[float], None] | None = None,
    ) -> ModelInfo:
        """Load ``path``; ``timeout`` is the longest silence allowed between progress frames.

        Raises :class:`LoadCancelled` when :meth:`cancel_load` stopped it."""
        try:
            reply = self._load_call(path, options, timeout, on_progress)
        except WorkerRequestError as exc:
            if exc.kind == "cancelled":
                raise LoadCancelled("The model load was cancelled") from None
            if exc.kind == "engine_unavailable" or _backend_problem(self.stderr_tail()):
                raise EngineError(
                    "llama.cpp cannot run on this computer: "
                    f"{exc.message if exc.kind == 'engine_unavailable' else 'no backend loaded'}. "
                    "The model file is not the problem; reinstall the app (or, from source, "
                    "reinstall llama-cpp-python).",
                    details="\n".join(self.stderr_tail()),
                ) from None
            if exc.kind == "load_failed":
                tail = [*self.stderr_tail(), exc.message]  # the worker's own words come last
                raise ModelFileError(
                    path, _load_problem(tail), details="\n".join(self.stderr_tail())
                ) from None
            raise
        except WorkerCrashed as exc:
            raise ModelFileError(
                path, f"llama.cpp could not load it: the loader {exc.message}", details=exc.details
            ) from None
        self.info = ModelInfo.from_wire(reply["info"])
        self.evaluated_tokens = []
        self._special = None
        return self.info

    def _load_call(
        self,
        path: Path,
        options: LoadOptions,
        timeout: float,
        on_progress: Callable[[float], None] | None,
    ) -> dict[str, Any]:
        with self._lock:
            self._finish_active()
            rid = self._send("load", {"path": str(path), "options": options.to_wire()})
            self._loading = rid
            try:
                while True:
                    msg = self._next(timeout)
                    if msg.get("id") != rid:
                        continue
                    if msg.get("type") == "load_progress":
                        if on_progress is not None:
                            on_progress(float(msg.get("fraction", 0.0)))
                        continue
                    if "error" in msg:
                        raise WorkerRequestError(
                            str(msg["error"]),
                            kind=str(msg.get("kind", "error")),
                            details=str(msg.get("details", "")),
                        )
                    return msg
            finally:
                self._loading = None

    def cancel_load(self) -> bool:
        """Abort a load in progress (safe from any thread); False when none is running."""
        rid = self._loading
        if rid is None:
            return False
        return self._worker.send({"op": "cancel", "target": rid})

    @property
    def pid(self) -> int:
        return self._worker.pid

    @property
    def alive(self) -> bool:
        return not self._closed and self._worker.alive()

    def stderr_tail(self) -> list[str]:
        return list(self._worker.stderr_tail)

    def close(self, timeout: float = 5.0) -> None:
        """Stop any generation, ask the worker to exit, kill it if it does not."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self._active is not None:
            self._active.cancel()
        if self._worker.alive() and self._worker.send({"op": "close", "id": 0}):
            if self._worker.wait_exit(timeout) is None:
                self._worker.kill()
        else:
            self._worker.kill()
        self._worker.close_pipes()

    def unload(self) -> None:
        """Free the model but keep the process (``load`` can follow)."""
        self._call("unload", {}, REQUEST_TIMEOUT)
        self.info = None

    def __enter__(self) -> EngineClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- small requests -----------------------------------------------------------------
    def tokenize(self, text: str, *, special: bool = False, add_bos: bool = False) -> list[int]:
        reply = self._call("tokenize", {"text": text, "special": special, "add_bos": add_bos})
        return [int(t) for t in reply["tokens"]]

    def token_pieces(self, tokens: list[int]) -> list[bytes]:
        reply = self._call("pieces", {"tokens": [int(t) for t in tokens]})
        return [bytes_from_wire(p) for p in reply["pieces"]]

    def detokenize(self, tokens: list[int]) -> str:
        return b"".join(self.token_pieces(tokens)).decode("utf-8", "replace")

    def special_tokens(self) -> dict[str, Any]:
        if self._special is None:
            self._special = self._call("special_tokens", {})["special"]
        return self._special

    def metadata(self) -> dict[str, str]:
        return dict(self._call("metadata", {})["metadata"])

    def backend(self) -> BackendInfo:
        return BackendInfo.from_wire(self._call("backend", {})["backend"])

    def debug(self, how: str, timeout: float = REQUEST_TIMEOUT, **fields: Any) -> dict[str, Any]:
        """Failure injection and the benchmark's bare llama-cpp-python baseline; honoured only
        by workers started with GPTOSS_WORKER_TEST_HOOKS=1."""
        return self._call("debug", {"how": how, **fields}, timeout)

    # --- generation -----------------------------------------------------------------------
    def generate(self, request: GenerateRequest) -> Generation:
        with self._lock:
            self._finish_active()
            rid = self._send("generate", {"request": request.to_wire()})
            self._active = Generation(self, rid, request)
            return self._active

    def _finish_active(self) -> None:
        if self._active is not None and not self._active.finished:
            self._active.cancel()
            for _ in self._active:
                pass
        self._active = None

    # --- plumbing -------------------------------------------------------------------------
    def _send(self, op: str, fields: dict[str, Any]) -> int:
        if self._closed:
            raise EngineClosed("the model was closed; load it again")
        rid = next(self._ids)
        if not self._worker.send({"op": op, "id": rid, **fields}):
            raise self._death()
        return rid

    def _call(
        self, op: str, fields: dict[str, Any], timeout: float = REQUEST_TIMEOUT
    ) -> dict[str, Any]:
        with self._lock:
            self._finish_active()
            rid = self._send(op, fields)
            while True:
                msg = self._next(timeout)
                if msg.get("id") != rid:
                    continue  # a late frame of an earlier, abandoned request
                if "error" in msg:
                    raise WorkerRequestError(
                        str(msg["error"]),
                        kind=str(msg.get("kind", "error")),
                        details=str(msg.get("details", "")),
                    )
                return msg

    def _next(self, timeout: float) -> dict[str, Any]:
        """Next frame from the worker, or raise if it died or stayed silent too long."""
        try:
            msg = self._worker.inbox.get(timeout=timeout)
        except queue.Empty:
            self._worker.kill()
            self._closed = True
            raise WorkerTimeout(
                f"The model worker stopped answering for {timeout:.0f} s and was stopped; "
                "load the model again",
                returncode=None,
                stderr_tail=self.stderr_tail(),
            ) from None
        if WorkerProcess.is_dead_marker(msg):
            raise self._death()
        return msg

    def _death(self) -> WorkerCrashed:
        self._closed = True
        code = self._worker.wait_exit(2.0)
        if code is None:
            self._worker.kill()
            code = self._worker.proc.returncode
        self._worker.drain_stderr()
        tail = self.stderr_tail()
        last = next((line for line in reversed(tail) if line.strip()), "")
        reason = describe_exit(code)
        message = f"The model worker {reason}; the app is fine, load the model again"
        if last and code not in (0, None) and code != -9:
            message += f". Last message: {last[:200]}"
        return WorkerCrashed(message, returncode=code, stderr_tail=tail)


class Generation:
    """Token batches of one generation, in order; ``result`` holds the metrics at the end."""

    def __init__(self, client: EngineClient, rid: int, request: GenerateRequest) -> None:
        self._client = client
        self._rid = rid
        self._request = request
        self.tokens: list[int] = []
        self._text: list[str] = []
        self.result: GenerationMetrics | None = None
        self.finished = False
        self.prompt_progress: tuple[int, int] = (0, 0)
        self._cancel_sent = False

    @property
    def text(self) -> str:
        return "".join(self._text)

    def cancel(self) -> None:
        """Ask the worker to stop; safe from any thread, any number of times."""
        if not self.finished and not self._cancel_sent:
            self._cancel_sent = True
            self._client._worker.send({"op": "cancel", "target": self._rid})

    def __iter__(self) -> Iterator[TokenBatch]:
        client = self._client
        while not self.finished:
            msg = client._next(client.stall_timeout)
            if msg.get("id") != self._rid:
                continue
            kind = msg.get("type")
            if kind == "batch":
                batch = TokenBatch(
                    ids=[int(t) for t in msg["ids"]],
                    pieces=[bytes_from_wire(p) for p in msg["pieces"]],
                    text=msg["text"],
                    t=float(msg["t"]),
                )
                self.tokens.extend(batch.ids)
                self._text.append(batch.text)
                yield batch
            elif kind == "progress":
                self.prompt_progress = (int(msg["evaluated"]), int(msg["total"]))
            elif kind == "done":
                self._finish(msg["metrics"])
            elif "error" in msg:
                self.finished = True
                if msg.get("kind") == "context_overflow":
                    raise ContextOverflow(
                        f"The conversation needs {msg['needed']} tokens but the model was loaded "
                        f"with a context of {msg['available']}; start a new chat or load the "
                        "model with a larger context",
                        needed=int(msg["needed"]),
                        available=int(msg["available"]),
                    )
                raise WorkerRequestError(
                    str(msg["error"]),
                    kind=str(msg.get("kind", "error")),
                    details=str(msg.get("details", "")),
                )

    def _finish(self, metrics: dict[str, Any]) -> None:
        self.finished = True
        self.result = GenerationMetrics.from_wire(metrics)
        prompt = metrics.get("prompt_ids") or self._request.prompt_tokens or []
        n_past = int(metrics.get("n_past", 0))
        self._client.evaluated_tokens = (list(prompt) + self.tokens)[:n_past]

    def wait(self) -> GenerationMetrics:
        """Consume the rest of the generation and return its metrics."""
        for _ in self:
            pass
        assert self.result is not None
        return self.result


def _backend_problem(stderr: list[str]) -> bool:
    """llama.cpp's own words when it has no backend to load a model with."""
    text = "\n".join(stderr[-40:]).lower()
    return "no backends are loaded" in text or "failed to load shared library" in text


def _load_problem(stderr: list[str]) -> str:
    text = "\n".join(stderr[-40:]).lower()
    if (
        "not within the file bounds" in text
        or "truncated" in text
        or "unexpected end" in text
        or "failed to read" in text
    ):
        return "file is truncated or damaged; download it again"
    if "unknown model architecture" in text:
        arch = next(
            (
                ln.split("'")[1]
                for ln in reversed(stderr)
                if "unknown model architecture" in ln and "'" in ln
            ),
            "?",
        )
        return f"model architecture '{arch}' is not supported by this llama.cpp build"
    if "cache type" in text and "does not divide n_embd_head" in text:
        return (
            "its attention heads are too small for the compact (q8_0) KV cache; "
            "choose the full-precision (f16) KV cache"
        )
    if "failed to allocate" in text or "out of memory" in text:
        return "not enough memory to load it; choose a smaller context or model"
    reason = next(
        (
            ln.split("error loading model", 1)[1].lstrip(" :")
            for ln in reversed(stderr)
            if "error loading model" in ln and ln.split("error loading model", 1)[1].strip(" :")
        ),
        "",
    )
    if reason:
        return f"llama.cpp could not load it: {reason[:160]}"
    return "llama.cpp could not load it (damaged or unsupported GGUF file)"


def wait_for(predicate: Any, timeout: float) -> bool:
    """Poll ``predicate`` until true or ``timeout`` (tests and shutdown paths)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return bool(predicate())
